"""A least-recently-used cache bounded by the memory its values hold, not their count.

The TensorFlow service keeps each answer (a schedule preview, a range test) for every
session of the server. A count bound would not bound memory: one preview of a
1.9M-update run held 26.8 MB pickled and far more as Python floats, so 256 of them
could fill a machine. Each value is sized once, when stored, by walking it
(``approx_bytes``); what does not fit is dropped oldest first, and a value larger
than the whole budget is not kept at all (it is recomputed when asked again).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

_ATOMS = (int, float, bool, complex, str, bytes, type(None))


def approx_bytes(value: Any) -> int:
    """What ``value`` holds in this process: containers and their items, recursively.

    Shared objects are counted once per reference (an over-estimate, so the bound is
    kept); NumPy arrays count their buffers.
    """
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int) and not isinstance(value, _ATOMS):
        return nbytes + 112  # the array object itself
    total = sys.getsizeof(value)
    if isinstance(value, dict):
        return total + sum(approx_bytes(k) + approx_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        # Lists of numbers are the bulk of every answer: size them without recursion.
        if value and all(type(v) is float for v in value):
            return total + len(value) * sys.getsizeof(1.0)
        return total + sum(approx_bytes(v) for v in value)
    return total


class ByteLRU:
    """``get``/``put`` by key, least recently used out first once ``capacity`` bytes
    are held. Safe to share between threads."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity: must be > 0 bytes, got {capacity}")
        self.capacity = capacity
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any) -> bool:
        """Store ``value``; False when it alone is larger than the budget (not kept).
        The key counts too: a preview's key is its whole config as JSON."""
        size = approx_bytes(value) + approx_bytes(key)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            if size > self.capacity:
                return False
            self._items[key] = (value, size)
            self.nbytes += size
            while self.nbytes > self.capacity:
                _, (_, dropped) = self._items.popitem(last=False)
                self.nbytes -= dropped
            return True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0
