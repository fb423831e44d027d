"""How many sessions are watching live runs right now, and the polling pace that follows.

A live panel's rerun costs the server 50–80 ms of CPU (measured by
``benchmarks/classroom.py``), nearly all of it under the GIL (Plotly figures, Arrow
tables). One session polling every 1.5 s is nothing; thirty students on one lesson
are twenty reruns a second, more than one core can serve, and every rerun then queues
behind the others (16 sessions at 1.5 s measured a p95 rerun 226× a lone session's).
So the pace slows with the class: one step per ``SESSIONS_PER_STEP`` watching
sessions, at most ``MAX_STEPS``. Steps, not a smooth curve, because a pace change
restarts a session's fragment with one full rerun: a class of 30 changes pace twice,
not on every arrival. Curves of runs that train for
minutes lose nothing visible at 4.5 s.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable

WINDOW_SECONDS = 15.0  # a session polling at the slowest pace is seen at least twice
SESSIONS_PER_STEP = 8
MAX_STEPS = 3


def pace_factor(watching: int) -> int:
    """The live poll's interval multiplier for this many watching sessions."""
    return max(1, min(MAX_STEPS, math.ceil(watching / SESSIONS_PER_STEP)))


class Watchers:
    """Sessions seen polling live runs within the last ``window`` seconds."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._seen: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def seen(self, session: Hashable | None, now: float | None = None) -> int:
        """Note that ``session`` polls now; how many sessions poll (itself included)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if session is not None:
                self._seen[session] = now
            for k in [k for k, t in self._seen.items() if now - t > self.window]:
                del self._seen[k]
            return max(1, len(self._seen))

    def leave(self, session: Hashable | None) -> None:
        """A session stopped polling (its runs finished): it no longer slows the others."""
        with self._lock:
            self._seen.pop(session, None)
