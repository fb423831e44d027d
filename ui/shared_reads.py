"""Store reads shared by every session polling the same live view.

A class watching one lesson is thirty sessions whose live panels each re-read the
same runs every 1.5 s. Profiled with 16 of them, half the server's time went to
those identical SQLite reads, and every session's rerun queued behind the others'.
Here a read is made at most once per ``ttl`` seconds per key across the server; a
session asking while another reads the same key waits for that read and shares its
result (single flight), so the store sees one read per key and interval however
many watch. Results are shared, never copied: nothing that draws them mutates them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

TTL_SECONDS = 1.0  # below the live panel's 1.5 s pace: a poll never sees two-beat-old data
_KEEP_SECONDS = 60.0  # entries unread for this long are dropped


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    read_at: float | None = None
    value: Any = None


class SharedReads:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()
        self.reads = 0  # reads actually made: what the tests count

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:  # a new key: the moment to drop the long-unread ones
                for k in [
                    k
                    for k, e in self._entries.items()
                    if e.read_at is not None and now - e.read_at > _KEEP_SECONDS
                ]:
                    del self._entries[k]
                entry = self._entries[key] = _Entry()
        with entry.lock:
            if entry.read_at is not None and time.monotonic() - entry.read_at < self.ttl:
                return entry.value
            value = read()  # an exception propagates and leaves nothing cached
            entry.value, entry.read_at = value, time.monotonic()
            self.reads += 1
            return value
