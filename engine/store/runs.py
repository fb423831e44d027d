"""``RunStore``: every run's state, series and results in one SQLite file.

The store is the only place the dashboard, the executor and the workers meet. The
facade is put together from one part per job, each in its own module:

- ``base``: the connection holder (per-thread sessions, ``db.py``) and the lookups
  every part shares;
- ``validation``: what may be written (field-named ``ValueError`` before any write);
- ``lifecycle``: create, claim, heartbeat, cancel, recover, finish (``schema.TRANSITIONS``);
- ``series``: per-epoch and per-update writes, downsampled reads;
- ``reads``: runs by id or filter, as ``entities.Run``;
- ``export``: streamed CSV and JSON;
- ``edits``: rename, tags, notes, diagnosis, delete.

Single-item writes are built on the batch writes (as in mlflow's tracking store),
so there is one code path to get right.
"""

from __future__ import annotations

from engine.store.base import IllegalTransition
from engine.store.edits import RunEdits
from engine.store.export import RunExport
from engine.store.lifecycle import RunLifecycle, new_run_id

__all__ = ["IllegalTransition", "RunStore", "new_run_id"]


class RunStore(RunLifecycle, RunEdits, RunExport):
    """All runs of one store file: the path plus one lazily opened connection per thread.

    Each public method is one transaction on its own connection, safe to call from
    any thread and to pickle into a worker process or a Ray task.
    """

    def integrity_check(self) -> str:
        """``'ok'``, or SQLite's list of problems (plus any dangling foreign keys)."""
        with self._read() as conn:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems = [p for p in problems if p != "ok"]
            problems += [
                f"dangling row in {t} (rowid {rid}) -> {parent}" for t, rid, parent, _ in fk
            ]
        return "\n".join(problems)
