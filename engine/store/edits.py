"""A person's edits to stored runs: rename, tags, notes, the diagnosis, delete.

Each is one checked value written in one transaction; an unknown run is a
``KeyError``, a bad value a ``ValueError`` naming its field, and nothing is written
for either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.store import reuse as run_reuse
from engine.store.base import IllegalTransition, StoreBase
from engine.store.validation import as_ids, check_name, check_notes, check_tags, dumps


class RunEdits(StoreBase):
    """Edits and deletion."""

    def _set_column(self, run_id: str, column: str, value: Any) -> None:
        with self._write() as conn:
            self._status_of(conn, run_id)
            conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))

    def rename(self, run_id: str, name: str) -> None:
        self._set_column(run_id, "name", check_name(name))

    def set_tags(self, run_id: str, tags: Sequence[str]) -> None:
        self._set_column(run_id, "tags", json.dumps(check_tags(tags)))

    def set_notes(self, run_id: str, notes: str) -> None:
        self._set_column(run_id, "notes", check_notes(notes))

    def set_diagnosis(self, run_id: str, diagnosis: Mapping[str, Any] | None) -> None:
        if diagnosis is not None and not isinstance(diagnosis, Mapping):
            raise ValueError(f"diagnosis: must be a dict, got {type(diagnosis).__name__}")
        payload = None if diagnosis is None else dumps("diagnosis", dict(diagnosis))
        self._set_column(run_id, "diagnosis", payload)

    def delete_runs(self, run_ids: str | Iterable[str]) -> int:
        """Delete runs with all their data; all or none. A running run is refused: its
        worker would keep writing into a run that no longer exists."""
        ids = as_ids(run_ids)
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._write() as conn:
            self._require_all(conn, ids)
            running = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM runs WHERE id IN ({marks}) AND status = 'running'", ids
                )
            ]
            if running:
                raise IllegalTransition(
                    f"cannot delete running run(s) {', '.join(running)}: cancel them first and "
                    "wait until they stop"
                )
            run_reuse.hand_over(conn, ids)  # who trains for the runs that waited for these
            return conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount
