"""``StoreSink``: the bridge from a training run's records to the run store.

A worker process builds one per run it claimed and hands it to ``engine.train``;
every record becomes one store transaction, so a live panel sees each epoch the
moment it is written and a crash loses at most the record in flight.
"""

from __future__ import annotations

from typing import Any

from engine.store.runs import RunStore


class StoreSink:
    """Implements ``engine.records.RunSink`` by writing to ``store`` under ``run_id``."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def on_start(self, info: dict[str, Any]) -> None:
        self.store.record_start(self.run_id, info)

    def on_epoch(self, record: dict[str, Any]) -> None:
        self.store.append_epoch(self.run_id, record)

    def on_updates(self, columns: dict[str, list]) -> None:
        self.store.append_updates(self.run_id, columns)

    def on_finish(self, result: dict[str, Any]) -> None:
        self.store.finish(self.run_id, result)

    def cancel_requested(self) -> bool:
        """For the training loop's stop check: the UI asks, the worker polls."""
        return self.store.cancel_requested(self.run_id)
