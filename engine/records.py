"""What a training run reports, and the one seam through which it reports it.

``engine.training.train`` calls a ``RunSink`` as it goes; the run store's writer,
the CLI's JSON printer and the tests are all sinks. Records are plain JSON-able
dicts so they cross process (and Ray node) boundaries unchanged.

Record shapes
-------------
on_start(info):   {"steps_per_epoch", "updates_per_epoch", "total_updates", "n_train",
                   "n_val", "n_test", "device", "precision", "logged": [names]}
on_epoch(rec):    {"epoch": int (1-based), "values": {name: float}  # loss, val_loss, metrics
                   "lr": float, "epoch_time": s, "examples_per_sec": float,
                   "wall_time": s since start, "updates": updates done so far}
on_updates(cols): {"update": [int, 1-based], "epoch": [int], "loss": [float],
                   "lr": [float], "grad_norm": [float], "clipped": [bool]}
on_finish(res):   {"status": completed|diverged|failed|cancelled, "error": str|None,
                   "diverged_at": update|None, "epochs_run": int, "best_epoch": int|None,
                   "test": {name: float}, "predictions": {...}, "duration": s}
Non-finite floats (NaN/inf) are kept as floats: a diverged curve must survive.
"""

from __future__ import annotations

from typing import Any, Protocol


class RunSink(Protocol):
    def on_start(self, info: dict[str, Any]) -> None: ...

    def on_epoch(self, record: dict[str, Any]) -> None: ...

    def on_updates(self, columns: dict[str, list]) -> None: ...

    def on_finish(self, result: dict[str, Any]) -> None: ...


class MemorySink:
    """Collects everything in memory (the CLI's ``--json`` and tests use it)."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.epochs: list[dict[str, Any]] = []
        self.updates: dict[str, list] = {}
        self.result: dict[str, Any] = {}

    def on_start(self, info):
        self.info = info

    def on_epoch(self, record):
        self.epochs.append(record)

    def on_updates(self, columns):
        for k, v in columns.items():
            self.updates.setdefault(k, []).extend(v)

    def on_finish(self, result):
        self.result = result

    def history(self) -> dict[str, list[float]]:
        """Keras-style ``name -> per-epoch list`` (plus ``lr``, ``epoch_time``)."""
        out: dict[str, list[float]] = {}
        for rec in self.epochs:
            for k, v in rec["values"].items():
                out.setdefault(k, []).append(v)
            for k in ("lr", "epoch_time", "examples_per_sec"):
                out.setdefault(k, []).append(rec[k])
        return out


class MultiSink:
    """Fans records out to several sinks."""

    def __init__(self, *sinks: RunSink) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def on_start(self, info):
        for s in self.sinks:
            s.on_start(info)

    def on_epoch(self, record):
        for s in self.sinks:
            s.on_epoch(record)

    def on_updates(self, columns):
        for s in self.sinks:
            s.on_updates(columns)

    def on_finish(self, result):
        for s in self.sinks:
            s.on_finish(result)
