"""A run's series: per-epoch values with their summary, per-update rows, test
metrics and predictions; written in batches, downsampled on read.

Epoch writes keep ``run_summary`` (last and best value per key) current, so the run
table never scans a series; "best" follows the metric's declared direction
(``engine.spec.metrics.higher_is_better``). Reads thin long series to about
``max_points`` rows (as TensorBoard's scalars plugin does) but always keep the first,
the last and every NaN/inf row, so a divergence never disappears from a chart.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.spec.metrics import higher_is_better
from engine.store.base import StoreBase
from engine.store.entities import Series, Updates
from engine.store.schema import (
    EPOCH_EXTRAS,
    FINITE,
    NON_FINITE_KINDS,
    UPDATE_COLUMNS,
    UPDATE_FLOAT_COLUMNS,
    decode,
)
from engine.store.validation import as_ids, number


def _downsample_rows(n: int, max_points: int | None) -> int:
    """Stride that leaves about ``max_points`` of ``n`` rows (first and last are added)."""
    if max_points is None or n <= max_points:
        return 1
    if max_points < 2:
        raise ValueError(f"max_points: must be at least 2 or None, got {max_points}")
    return math.ceil((n - 1) / (max_points - 1))


_NONFINITE_ROW = " OR ".join(
    f"{c}_kind IN ({','.join(map(str, NON_FINITE_KINDS))})" for c in UPDATE_FLOAT_COLUMNS
)


def strided_updates(
    conn: sqlite3.Connection, run_id: str, cols: str, max_points: int | None
) -> sqlite3.Cursor:
    """``SELECT cols`` of a run's per-update rows, in order, thinned to about
    ``max_points`` rows: every stride-th row plus the last and every row with a NaN/inf
    in any column (the charts and the CSV export both read through here)."""
    n = conn.execute("SELECT COUNT(*) FROM updates WHERE run_id = ?", (run_id,)).fetchone()[0]
    stride = _downsample_rows(n, max_points)
    if stride == 1:
        return conn.execute(
            f"SELECT {cols} FROM updates WHERE run_id = ? ORDER BY update_no", (run_id,)
        )
    return conn.execute(
        f"SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY update_no) - 1"
        f" AS rn FROM updates WHERE run_id = ?) WHERE rn % ? = 0 OR rn = ? OR"
        f" {_NONFINITE_ROW} ORDER BY update_no",
        (run_id, stride, n - 1),
    )


class SeriesData(StoreBase):
    """Write and read a run's series."""

    def append_epoch(self, run_id: str, record: Mapping[str, Any]) -> None:
        self.append_epochs(run_id, [record])

    def append_epochs(self, run_id: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Write epoch records (metrics plus lr/time extras) and refresh the run summary.

        The summary (last and best per key) is kept incrementally so the run table
        never scans the series; a re-sent epoch forces a recompute for its keys.
        """
        rows: list[tuple[str, int, float | None, int]] = []
        for r, rec in enumerate(records):
            try:
                epoch = int(rec["epoch"])
                values = dict(rec.get("values") or {})
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"records[{r}]: needs an integer 'epoch' and a 'values' dict"
                ) from None
            if epoch < 0:
                raise ValueError(f"records[{r}].epoch: must be >= 0, got {epoch}")
            for extra in EPOCH_EXTRAS:
                if extra in rec and extra not in values:
                    values[extra] = rec[extra]
            for key, value in values.items():
                if not isinstance(key, str) or not key:
                    raise ValueError(f"records[{r}].values: keys must be non-empty text")
                v, kind = number(f"records[{r}].values.{key}", value)
                rows.append((key, epoch, v, kind))
        if not rows:
            return
        with self._write() as conn:
            self._require_running(conn, run_id, "accepts epoch records")
            summary = {
                row[0]: list(row[1:])
                for row in conn.execute(
                    "SELECT key, last_epoch, last_value, last_kind, best_epoch, best_value"
                    " FROM run_summary WHERE run_id = ?",
                    (run_id,),
                )
            }
            conn.executemany(
                "INSERT OR REPLACE INTO epoch_values (run_id, key, epoch, value, kind)"
                " VALUES (?, ?, ?, ?, ?)",
                [(run_id, *row) for row in rows],
            )
            recompute: set[str] = set()
            for key, epoch, v, kind in rows:
                cur = summary.get(key)
                if cur is None:
                    cur = summary[key] = [epoch, v, kind, None, None]
                elif epoch <= cur[0]:
                    recompute.add(key)
                    continue
                else:
                    cur[0:3] = [epoch, v, kind]
                if key not in EPOCH_EXTRAS and kind == FINITE:
                    up = higher_is_better(key)
                    if cur[4] is None or (v > cur[4] if up else v < cur[4]):
                        cur[3:5] = [epoch, v]
            for key in recompute:
                summary[key] = self._summarise_key(conn, run_id, key)
            conn.executemany(
                "INSERT OR REPLACE INTO run_summary (run_id, key, last_epoch, last_value,"
                " last_kind, best_epoch, best_value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, k, *s) for k, s in summary.items()],
            )
            conn.execute(
                "UPDATE runs SET epochs_done = MAX(epochs_done, ?), heartbeat = ? WHERE id = ?",
                (max(r[1] for r in rows), time.time(), run_id),
            )

    @staticmethod
    def _summarise_key(conn: sqlite3.Connection, run_id: str, key: str) -> list[Any]:
        last = conn.execute(
            "SELECT epoch, value, kind FROM epoch_values WHERE run_id = ? AND key = ?"
            " ORDER BY epoch DESC LIMIT 1",
            (run_id, key),
        ).fetchone()
        best = None
        if key not in EPOCH_EXTRAS:
            order = "DESC" if higher_is_better(key) else "ASC"
            best = conn.execute(
                "SELECT epoch, value FROM epoch_values WHERE run_id = ? AND key = ? AND kind = 0"
                f" ORDER BY value {order}, epoch LIMIT 1",
                (run_id, key),
            ).fetchone()
        return [*last, *(best or (None, None))]

    def append_updates(self, run_id: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Write a batch of per-update rows in one transaction (the training loop sends
        them every ~100 updates; one commit per row would dominate a small model's step)."""
        if "update" not in columns:
            raise ValueError("columns: needs an 'update' column")
        unknown = set(columns) - set(UPDATE_COLUMNS)
        if unknown:
            raise ValueError(f"columns: unknown update column(s) {', '.join(sorted(unknown))}")
        n = len(columns["update"])
        for k, col in columns.items():
            if len(col) != n:
                raise ValueError(f"columns.{k}: {len(col)} values, but 'update' has {n}")
        if n == 0:
            return
        rows = []
        for i in range(n):
            try:
                upd = int(columns["update"][i])
                ep = columns.get("epoch")
                epoch = None if ep is None or ep[i] is None else int(ep[i])
            except (TypeError, ValueError):
                raise ValueError(f"columns.update/epoch[{i}]: must be integers") from None
            row: list[Any] = [run_id, upd, epoch]
            for c in UPDATE_FLOAT_COLUMNS:
                col = columns.get(c)
                row.extend(number(f"columns.{c}[{i}]", None if col is None else col[i]))
            cl = columns.get("clipped")
            row.append(None if cl is None or cl[i] is None else int(bool(cl[i])))
            rows.append(row)
        with self._write() as conn:
            self._require_running(conn, run_id, "accepts update records")
            conn.executemany(
                "INSERT OR REPLACE INTO updates (run_id, update_no, epoch, loss, loss_kind, lr,"
                " lr_kind, grad_norm, grad_norm_kind, clipped) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.execute(
                "UPDATE runs SET updates_done = MAX(updates_done, ?), heartbeat = ? WHERE id = ?",
                (max(r[1] for r in rows), time.time(), run_id),
            )

    def epoch_series(
        self,
        run_ids: str | Iterable[str],
        keys: Iterable[str] | None = None,
        max_points: int | None = 1000,
    ) -> dict[str, dict[str, Series]]:
        """``{run_id: {key: Series(epoch=[...], value=[...])}}`` with NaN/inf restored."""
        ids = as_ids(run_ids)
        key_list = None if keys is None else ([keys] if isinstance(keys, str) else list(keys))
        out: dict[str, dict[str, Series]] = {r: {} for r in ids}
        if not ids:
            return out
        sql = "SELECT run_id, key, epoch, value, kind FROM epoch_values WHERE run_id IN ({})"
        params: list[Any] = list(ids)
        sql = sql.format(",".join("?" * len(ids)))
        if key_list is not None:
            if not key_list:
                return out
            sql += f" AND key IN ({','.join('?' * len(key_list))})"
            params += key_list
        sql += " ORDER BY run_id, key, epoch"
        with self._read() as conn:
            self._require_all(conn, ids)
            rows = conn.execute(sql, params).fetchall()
        raw: dict[str, dict[str, list[tuple[int, float | None, int]]]] = {}
        for run_id, key, epoch, value, kind in rows:
            raw.setdefault(run_id, {}).setdefault(key, []).append((epoch, value, kind))
        for run_id, per_key in raw.items():
            for key, pts in per_key.items():
                stride = _downsample_rows(len(pts), max_points)
                keep = [
                    p
                    for i, p in enumerate(pts)
                    if i % stride == 0 or i == len(pts) - 1 or p[2] in NON_FINITE_KINDS
                ]
                out[run_id][key] = Series(
                    epoch=[p[0] for p in keep], value=[decode(p[1], p[2]) for p in keep]
                )
        return out

    def update_series(self, run_id: str, max_points: int | None = 1000) -> Updates:
        """Per-update columns, thinned on read to about ``max_points`` evenly strided rows.

        The first and last rows and every NaN/inf row are always kept, so a divergence
        never disappears from a zoomed-out chart. Pass ``max_points=None`` for all rows
        (diagnosis looks for single-step spikes that striding may skip).
        """
        cols = "update_no, epoch, loss, loss_kind, lr, lr_kind, grad_norm, grad_norm_kind, clipped"
        with self._read() as conn:
            self._status_of(conn, run_id)
            rows = strided_updates(conn, run_id, cols, max_points).fetchall()
        out: dict[str, list] = {c: [] for c in UPDATE_COLUMNS}
        for upd, ep, loss, lk, lr, lrk, gn, gk, cl in rows:
            out["update"].append(upd)
            out["epoch"].append(ep)
            out["loss"].append(decode(loss, lk))
            out["lr"].append(decode(lr, lrk))
            out["grad_norm"].append(decode(gn, gk))
            out["clipped"].append(None if cl is None else bool(cl))
        return Updates(**out)

    def test_metrics(self, run_id: str) -> dict[str, float | None]:
        with self._read() as conn:
            self._status_of(conn, run_id)
            rows = conn.execute(
                "SELECT key, value, kind FROM test_metrics WHERE run_id = ? ORDER BY key",
                (run_id,),
            ).fetchall()
        return {k: decode(v, kind) for k, v, kind in rows}

    def predictions(self, run_id: str) -> Any:
        with self._read() as conn:
            self._status_of(conn, run_id)
            row = conn.execute(
                "SELECT data FROM predictions WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else json.loads(row[0])
