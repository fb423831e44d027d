"""A run's life: queued, claimed by a worker, running, and ended exactly once.

Status changes follow ``schema.TRANSITIONS``: every move goes through
``_transition`` inside the caller's transaction, which raises ``IllegalTransition``
before writing for a move the machine forbids. Creating is all or none (a sweep is
never half-enqueued); finishing writes the results and the final status together.

Creating may reuse finished runs and claiming skips runs that wait for an identical
one (``engine.store.reuse``). Claiming is fair between launches: the next run comes
from the launch (sweep) with the fewest runs training, then the one served longest
ago, so one session's 30-run launch does not make another's single run wait for all
thirty (round-robin over launches; first come, first served within one).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from engine.store import reuse as run_reuse
from engine.store.base import IllegalTransition, StoreBase
from engine.store.schema import STATUSES, TERMINAL, TRANSITIONS
from engine.store.validation import (
    check_error,
    check_id,
    check_name,
    check_tags,
    default_name,
    dumps,
    number,
)

# The next run to claim: from the launch (sweep; a run without one is its own) with the
# fewest runs training, then the launch whose last training run started longest ago
# (never: first), then first come, first served.
_NEXT_FAIR = f"""
WITH grp AS (
    SELECT COALESCE(sweep_id, id) AS g,
           SUM(status = 'running') AS busy,
           MAX(CASE WHEN reused_from IS NULL THEN started END) AS last
    FROM runs
    WHERE sweep_id IN (SELECT sweep_id FROM runs WHERE status = 'queued')
       OR (sweep_id IS NULL AND status = 'queued')
    GROUP BY 1
)
SELECT q.id, q.config FROM runs AS q JOIN grp ON grp.g = COALESCE(q.sweep_id, q.id)
WHERE {run_reuse.claimable("q")}
ORDER BY grp.busy, grp.last, q.created, q.seq
LIMIT 1
"""

_ANY_QUEUED = "SELECT 1 FROM runs WHERE status = 'queued' LIMIT 1"


def new_run_id() -> str:
    """Short enough to show in a table, random enough never to collide in one store."""
    return uuid.uuid4().hex[:12]


class RunLifecycle(StoreBase):
    """Create, claim, heartbeat, cancel, recover and finish runs."""

    def _transition(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        worker_id: str | None = None,
    ) -> None:
        """Move one run inside the caller's transaction, or raise before writing."""
        if status not in STATUSES:
            raise ValueError(f"status: must be one of {', '.join(STATUSES)}, got {status!r}")
        current = self._status_of(conn, run_id)
        if status not in TRANSITIONS[current]:
            raise IllegalTransition(
                f"run {run_id}: cannot go from {current!r} to {status!r}"
                + (" (terminal states are final)" if current in TERMINAL else "")
            )
        now = time.time()
        error = check_error(error)
        if status == "running":
            conn.execute(
                "UPDATE runs SET status = 'running', started = ?, heartbeat = ?, worker_id = ?"
                " WHERE id = ?",
                (now, now, worker_id, run_id),
            )
        else:
            conn.execute(
                "UPDATE runs SET status = ?, finished = ?, error = COALESCE(?, error) WHERE id = ?",
                (status, now, error, run_id),
            )

    def create_runs(
        self,
        configs: Sequence[Mapping[str, Any]],
        *,
        names: Sequence[str] | None = None,
        sweep_id: str | None = None,
        tags: Sequence[str] | None = None,
        parent_id: str | None = None,
        reuse: bool = False,
    ) -> list[str]:
        """Queue runs, all or none: a sweep is never half-enqueued.

        ``parent_id``: the run these are follow-ups of (a diagnosis' suggestion applied
        to its config); it must exist. Deleting the parent later keeps the follow-ups
        and clears their link.

        ``reuse``: a config identical to a finished run (same ``engine.store.reuse.config_key``) is
        created as a finished copy of it, one identical to a queued or running run waits
        for that run (``engine.store.reuse``); False trains every config again. Every
        run stores its key either way, so later launches can reuse it."""
        configs = list(configs)
        if names is not None:
            names = list(names)
            if len(names) != len(configs):
                raise ValueError(f"names: {len(names)} names for {len(configs)} configs")
        tag_list = check_tags([] if tags is None else tags)
        if sweep_id is not None:
            check_id("sweep_id", sweep_id)
        if parent_id is not None:
            check_id("parent_id", parent_id)
        rows = []
        now = time.time()
        for i, config in enumerate(configs):
            if not isinstance(config, Mapping):
                raise ValueError(f"configs[{i}]: must be a dict, got {type(config).__name__}")
            run_id = new_run_id()
            name = (
                check_name(names[i], f"names[{i}]")
                if names is not None
                else default_name(config, run_id)
            )
            task = config.get("task")
            rows.append(
                (
                    run_id,
                    name,
                    task if isinstance(task, str) else None,
                    json.dumps(tag_list),
                    dumps(f"configs[{i}]", dict(config)),
                    now,
                    sweep_id,
                    parent_id,
                    run_reuse.config_key(config),
                )
            )
        if not rows:
            return []
        with self._write() as conn:
            if parent_id is not None:
                self._status_of(conn, parent_id)  # KeyError for an unknown parent
            insert = (
                "INSERT INTO runs (id, name, task, tags, config, created, sweep_id, parent_id,"
                " config_key, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')"
            )
            if not reuse:
                conn.executemany(insert, rows)
                return [r[0] for r in rows]
            for row in rows:  # one by one: a config repeated in this launch waits too
                found = run_reuse.match(conn, row[-1])  # before the insert: never itself
                conn.execute(insert, row)
                if found is not None:
                    source, how = found
                    if how == "done":
                        run_reuse.copy_result(conn, source, row[0])
                    else:
                        run_reuse.mark_waiting(conn, row[0], source)
        return [r[0] for r in rows]

    def create_run(self, config: Mapping[str, Any], *, name: str | None = None, **kw) -> str:
        return self.create_runs([config], names=None if name is None else [name], **kw)[0]

    def claim_next(self, worker_id: str) -> tuple[str, dict[str, Any]] | None:
        """Take the next queued run, fairly between launches (the module's docstring);
        the write lock makes two workers never share one. A run waiting for an
        identical one is skipped; one whose leader finished meanwhile is settled as a
        copy here and the next is taken."""
        check_id("worker_id", worker_id)
        with self._write() as conn:
            while True:
                # (an idle worker asks five times a second: an empty queue costs one probe)
                if conn.execute(_ANY_QUEUED).fetchone() is None:
                    return None
                row = conn.execute(_NEXT_FAIR).fetchone()
                if row is None:
                    return None
                if run_reuse.resolve(conn, row[0]) == "train":
                    break
            self._transition(conn, row[0], "running", worker_id=worker_id)
        return row[0], json.loads(row[1])

    def claim(self, run_id: str, worker_id: str) -> dict[str, Any] | None:
        """Take one given run (a Ray task knows its run); None if it is no longer queued."""
        check_id("worker_id", worker_id)
        with self._write() as conn:
            if self._status_of(conn, run_id) != "queued":
                return None
            if run_reuse.resolve(conn, run_id) != "train":  # waits for, or copied, its twin
                return None
            self._transition(conn, run_id, "running", worker_id=worker_id)
            config = conn.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        return json.loads(config[0])

    def set_status(self, run_id: str, status: str, *, error: str | None = None) -> None:
        """Raises ``IllegalTransition`` (nothing written) for a move the machine forbids."""
        with self._write() as conn:
            self._transition(conn, run_id, status, error=error)

    def fail_run(self, run_id: str, reason: str) -> None:
        """For the executor when a worker dies without reporting (crash, OOM kill)."""
        self.set_status(run_id, "failed", error=str(reason))

    def request_cancel(
        self, run_id: str | None = None, *, sweep_id: str | None = None, all: bool = False
    ) -> int:
        """Cancel queued runs at once and flag running ones for their worker to stop.

        Returns how many runs changed (already-flagged and finished runs are not
        counted), so a second click reports 0 instead of pretending to act.
        """
        if sum([run_id is not None, sweep_id is not None, bool(all)]) != 1:
            raise ValueError("request_cancel: give exactly one of run_id, sweep_id or all=True")
        if run_id is not None:
            where, params = "id = ?", [run_id]
        elif sweep_id is not None:
            where, params = "sweep_id = ?", [sweep_id]
        else:
            where, params = "1", []
        now = time.time()
        with self._write() as conn:
            if run_id is not None:
                self._status_of(conn, run_id)
            queued = conn.execute(
                f"UPDATE runs SET status = 'cancelled', finished = ?, cancel_requested = 1"
                f" WHERE status = 'queued' AND {where}",
                [now, *params],
            ).rowcount
            running = conn.execute(
                f"UPDATE runs SET cancel_requested = 1"
                f" WHERE status = 'running' AND cancel_requested = 0 AND {where}",
                params,
            ).rowcount
        return queued + running

    def cancel_requested(self, run_id: str) -> bool:
        with self._read() as conn:
            row = conn.execute(
                "SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise KeyError(f"unknown run id {run_id!r}")
        return bool(row[0])

    def heartbeat(self, run_id: str) -> None:
        """Raises ``IllegalTransition`` once the run is no longer running, so a worker
        whose run was recovered as interrupted (or deleted) learns it should stop."""
        with self._write() as conn:
            self._require_running(conn, run_id, "has a heartbeat")
            conn.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def recover_interrupted(self, *, stale_after: float | None = None) -> list[str]:
        """Mark runs left ``running`` by a dead pool as ``interrupted``; queued runs stay.

        Call it when a pool starts and owns the store. ``stale_after`` (seconds without a
        heartbeat) limits it to silent runs, for when another pool may still be alive.
        """
        now = time.time()
        where = "status = 'running'"
        params: list[Any] = []
        if stale_after is not None:
            where += " AND COALESCE(heartbeat, started, created) < ?"
            params.append(now - float(stale_after))
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM runs WHERE {where}", params)]
            conn.executemany(
                "UPDATE runs SET status = 'interrupted', finished = ?,"
                " error = COALESCE(error, 'interrupted: the worker stopped before the run"
                " finished') WHERE id = ? AND status = 'running'",
                [(now, i) for i in ids],
            )
        return ids

    def record_start(self, run_id: str, info: Mapping[str, Any]) -> None:
        payload = dumps("info", dict(info))
        with self._write() as conn:
            self._require_running(conn, run_id, "accepts its start record")
            conn.execute(
                "UPDATE runs SET info = ?, heartbeat = ? WHERE id = ?",
                (payload, time.time(), run_id),
            )

    def finish(self, run_id: str, result: Mapping[str, Any]) -> None:
        """Test metrics, predictions, error, final status and time land together or not at
        all, so a reader never sees a 'completed' run without its results."""
        status = result.get("status")
        if status not in TERMINAL:
            raise ValueError(
                f"result.status: must be one of {', '.join(sorted(TERMINAL))}, got {status!r}"
            )
        test = result.get("test") or {}
        if not isinstance(test, Mapping):
            raise ValueError("result.test: must be a dict of name -> number")
        test_rows = [(run_id, str(k), *number(f"result.test.{k}", v)) for k, v in test.items()]
        preds = result.get("predictions")
        preds_json = None if preds is None else dumps("result.predictions", preds)
        rest = {k: v for k, v in result.items() if k not in ("test", "predictions")}
        rest_json = dumps("result", rest)
        error = result.get("error")
        with self._write() as conn:
            current = self._status_of(conn, run_id)
            if current != "running":
                raise IllegalTransition(
                    f"run {run_id}: cannot finish as {status!r}, it is {current!r}"
                    " (only a running run can finish)"
                )
            self._transition(conn, run_id, status, error=None if error is None else str(error))
            conn.executemany(
                "INSERT OR REPLACE INTO test_metrics (run_id, key, value, kind)"
                " VALUES (?, ?, ?, ?)",
                test_rows,
            )
            if preds_json is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO predictions (run_id, data) VALUES (?, ?)",
                    (run_id, preds_json),
                )
            conn.execute(
                "UPDATE runs SET result = ?, heartbeat = ? WHERE id = ?",
                (rest_json, time.time(), run_id),
            )
            run_reuse.settle_followers(conn, run_id)
