"""Reading runs: one by id, or a filtered list with each series' last and best value.

They return ``Run`` entities (``engine.store.entities``), which are also read-only
mappings, so callers may write ``run.status`` or ``run["status"]``.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.store.base import StoreBase
from engine.store.entities import Run
from engine.store.schema import STATUSES, decode
from engine.store.validation import as_ids


class RunReads(StoreBase):
    """``get_run``, ``list_runs`` and ``require_runs``."""

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            rows = self._rows(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(f"unknown run id {run_id!r}")
        return Run.from_row(rows[0])

    def list_runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        sweep_id: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        parent_id: str | None = None,
    ) -> list[Run]:
        """Runs oldest first, each with ``last``/``best``/``best_epoch`` per series key.

        Two queries in one snapshot whatever the number of runs: the run table polls
        this every second or two.
        """
        where, params = ["1"], []
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise ValueError(f"status: unknown status {bad[0]!r}")
            where.append(f"r.status IN ({','.join('?' * len(statuses))})")
            params += statuses
        for column, value in (("sweep_id", sweep_id), ("task", task), ("parent_id", parent_id)):
            if value is not None:
                where.append(f"r.{column} = ?")
                params.append(value)
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(r.tags) WHERE json_each.value = ?)")
            params.append(tag)
        cond = " AND ".join(where)
        with self._read() as conn:
            runs = self._rows(
                conn, f"SELECT r.* FROM runs r WHERE {cond} ORDER BY created, seq", params
            )
            summary = self._rows(
                conn,
                "SELECT s.* FROM run_summary s JOIN runs r ON r.id = s.run_id"
                f" WHERE {cond} ORDER BY s.run_id, s.key",
                params,
            )
        last: dict[str, dict] = {row["id"]: {} for row in runs}
        best: dict[str, dict] = {row["id"]: {} for row in runs}
        best_epoch: dict[str, dict] = {row["id"]: {} for row in runs}
        for s in summary:
            run_id, key = s["run_id"], s["key"]
            last[run_id][key] = decode(s["last_value"], s["last_kind"])
            if s["best_epoch"] is not None:
                best[run_id][key] = s["best_value"]
                best_epoch[run_id][key] = s["best_epoch"]
        return [
            Run.from_row(
                row, last=last[row["id"]], best=best[row["id"]], best_epoch=best_epoch[row["id"]]
            )
            for row in runs
        ]

    def require_runs(self, run_ids: str | Iterable[str]) -> None:
        """Raise ``KeyError`` naming every id that is not in the store."""
        with self._read() as conn:
            self._require_all(conn, as_ids(run_ids))
