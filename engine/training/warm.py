"""Compiled models kept warm between the runs of one worker process.

Tracing Keras's train, test and predict functions costs about a second per run:
more than twenty epochs of a small MLP. Runs whose graphs would be identical (they
differ only in values the graph reads from variables or iterators: seed, data
values, epoch count, callbacks, a constant learning rate) share one traced model.
Before each run every variable (weights, optimizer slots and step, dropout seed
state, loss scale, learning rate, plateau factor, update buffers) is overwritten
with what a fresh build of that run would hold, so the curves are those of a fresh
model, bit for bit (``tests/engine/test_warm.py`` proves it).
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

# Read by the graph only through variables or the input iterator.
GRAPH_FREE = ("seed", "epochs", "callbacks")
DATA_VALUES = ("noise", "learnable")


def graph_key(cfg: dict) -> str:
    """Equal keys ⇔ the runs' traced functions are interchangeable."""
    c = copy.deepcopy(cfg)
    for k in GRAPH_FREE:
        c.pop(k, None)
    for k in DATA_VALUES:
        c["data"].pop(k, None)
    if not cfg.get("schedule") or cfg["schedule"]["name"] == "constant":
        c.pop("learning_rate", None)  # held in ``Constant.value``
    return json.dumps(c, sort_keys=True)


@dataclass
class Compiled:
    """A compiled model and the objects its traced functions close over."""

    model: Any
    optimizer: Any
    schedule: Any  # UpdateSchedule
    recorder: Any  # UpdateRecorder
    runs: int = 0


def copy_state(dst: Compiled, fresh: Compiled) -> None:
    """Overwrite every variable ``dst``'s graphs read with ``fresh``'s values."""
    pairs = [
        (dst.model.variables, fresh.model.variables),
        (dst.optimizer.variables, fresh.optimizer.variables),
    ]
    for to, frm in pairs:
        if len(to) != len(frm):
            raise RuntimeError(f"warm model mismatch: {len(to)} vs {len(frm)} variables")
        for a, b in zip(to, frm, strict=True):
            if tuple(a.shape) != tuple(b.shape):
                raise RuntimeError(f"warm model mismatch at {a.path}: {a.shape} vs {b.shape}")
            a.assign(b.value)
    dst.schedule.factor.assign(fresh.schedule.factor.value)
    base, fresh_base = dst.schedule.base, fresh.schedule.base
    if hasattr(base, "set"):
        base.set(fresh_base.learning_rate)
    dst.recorder.pos.assign(0)
    dst.recorder.loss_sum.assign(0.0)


class WarmCache:
    """Least-recently-used compiled models, a few per worker process."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Compiled] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Compiled | None:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item

    def put(self, key: str, item: Compiled) -> None:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def evict(self, key: str) -> None:
        """A run that raised may leave its model half-updated: never reuse it."""
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


# One per process: a worker serves one run at a time.
CACHE = WarmCache()
