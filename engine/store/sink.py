"""``StoreSink``: the bridge from a training run's records to the run store.

A worker process builds one per run it claimed and hands it to ``engine.train``;
every record becomes one store transaction, so a live panel sees each epoch the
moment it is written and a crash loses at most the record in flight.
"""

from __future__ import annotations

import contextlib
from typing import Any

from engine.diagnosis import diagnose
from engine.records import MemorySink
from engine.store.runs import RunStore


class StoreSink:
    """Implements ``engine.records.RunSink`` by writing to ``store`` under ``run_id``.

    It also re-diagnoses the run after every epoch (from an in-memory copy of its
    series, so no store reads) and stores the label, so the dashboard's badge is
    live while the run trains. The run's config (read once, at the start) lets the
    diagnosis suggest changes to it.
    """

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._memory = MemorySink()
        self._config: dict[str, Any] | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self._memory.on_start(info)
        self.store.record_start(self.run_id, info)
        with contextlib.suppress(KeyError):
            self._config = self.store.get_run(self.run_id)["config"]

    def on_epoch(self, record: dict[str, Any]) -> None:
        self._memory.on_epoch(record)
        self.store.append_epoch(self.run_id, record)
        self._diagnose("running", None)

    def on_updates(self, columns: dict[str, list]) -> None:
        self._memory.on_updates(columns)
        self.store.append_updates(self.run_id, columns)

    def on_finish(self, result: dict[str, Any]) -> None:
        self.store.finish(self.run_id, result)
        self._diagnose(result.get("status", "completed"), result.get("diverged_at"))

    def _diagnose(self, status: str, diverged_at: int | None) -> None:
        m = self._memory
        d = diagnose(
            m.history(),
            m.updates,
            status=status,
            diverged_at=diverged_at,
            config=self._config,
            info=m.info,
            with_suggestions=status != "running",  # once, when the run has ended
        )
        with contextlib.suppress(KeyError):  # the run was deleted meanwhile
            self.store.set_diagnosis(self.run_id, d)

    def cancel_requested(self) -> bool:
        """For the training loop's stop check: the UI asks, the worker polls."""
        return self.store.cancel_requested(self.run_id)
