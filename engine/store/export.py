"""Runs out of the store: a long-format CSV and a JSON document, streamed.

Both stream from SQLite cursors into the caller's file one run at a time, so memory
stays flat however many runs and points there are; the ``export_*`` forms collect
the same output into one value for the dashboard's download buttons.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from engine.store.reads import RunReads
from engine.store.schema import UPDATE_FLOAT_COLUMNS, decode
from engine.store.series import SeriesData, strided_updates
from engine.store.validation import as_ids, loads

# Per-update points per run in a CSV export unless the caller asks for all of them: a
# 1.92M-update run was a 476 MB file; the charts draw 1,000 points too.
EXPORT_UPDATE_POINTS = 1000
CSV_COLUMNS = ("run_id", "run_name", "series", "x_kind", "x", "value")


def flatten_config(config: Any, prefix: str = "") -> dict[str, str]:
    """A config as ``{dotted.path: cell text}``: objects flattened, lists and scalars
    as compact JSON (``true``, ``null``, ``["mae"]``), strings as they are."""
    out: dict[str, str] = {}
    if isinstance(config, Mapping):
        for k, v in config.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping) and v:
                out.update(flatten_config(v, path))
            else:
                out[path] = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(int(v))
    return repr(float(v)) if isinstance(v, float) else str(v)


class RunExport(SeriesData, RunReads):
    """CSV and JSON exports of runs."""

    def write_csv(
        self,
        run_ids: str | Iterable[str],
        out: TextIO,
        *,
        updates: int | None = EXPORT_UPDATE_POINTS,
    ) -> None:
        """Every series of the runs, long format, written to ``out`` as it is read.

        One row per run, series and point: ``run_id, run_name, series, x_kind, x,
        value``, then the run's config flattened to dotted paths (``config.optimizer.name``
        …) so runs can be told apart and grouped in pandas or a spreadsheet. Rows stream
        from SQLite cursors to ``out``, so memory stays flat however many runs and points
        there are. Per-update series are thinned to about ``updates`` points per run
        (first, last and every NaN/inf row kept, as on the charts); ``None`` = all rows.
        NaN/inf are written ``nan``/``inf``/``-inf`` (pandas reads them back as floats);
        a missing value is an empty cell.
        """
        ids = as_ids(run_ids)
        w = csv.writer(out, lineterminator="\n")
        with self._read() as conn:
            self._require_all(conn, ids)
            meta, columns = {}, {}
            for run_id in ids:
                name, config = conn.execute(
                    "SELECT name, config FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
                flat = flatten_config(loads(config))
                meta[run_id] = (name, flat)
                columns.update(dict.fromkeys(flat))
            w.writerow([*CSV_COLUMNS, *(f"config.{c}" for c in columns)])
            for run_id in ids:
                name, flat = meta[run_id]
                tail = [flat.get(c, "") for c in columns]
                for key, epoch, v, kind in conn.execute(
                    "SELECT key, epoch, value, kind FROM epoch_values WHERE run_id = ?"
                    " ORDER BY key, epoch",
                    (run_id,),
                ):
                    w.writerow([run_id, name, key, "epoch", epoch, _cell(decode(v, kind)), *tail])
                for column in (*UPDATE_FLOAT_COLUMNS, "clipped"):
                    kind_col = "0" if column == "clipped" else f"{column}_kind"
                    cols = f"update_no, {column}, {kind_col}"
                    for upd, v, kind in strided_updates(conn, run_id, cols, updates):
                        value = (
                            (None if v is None else bool(v))
                            if column == "clipped"
                            else decode(v, kind)
                        )
                        w.writerow([run_id, name, column, "update", upd, _cell(value), *tail])

    def export_csv(
        self, run_ids: str | Iterable[str], *, updates: int | None = EXPORT_UPDATE_POINTS
    ) -> str:
        """``write_csv`` into one string (the dashboard's download button takes text):
        bounded by the default thinning of per-update series."""
        buf = io.StringIO()
        self.write_csv(run_ids, buf, updates=updates)
        return buf.getvalue()

    def _export_run(self, run_id: str, updates: int | None) -> dict[str, Any]:
        epochs = self.epoch_series([run_id], max_points=None)[run_id]
        return {
            **self.get_run(run_id).to_dict(),
            "epochs": {key: series.to_dict() for key, series in epochs.items()},
            "updates": self.update_series(run_id, max_points=updates).to_dict(),
            "test": self.test_metrics(run_id),
            "predictions": self.predictions(run_id),
        }

    def write_json(
        self, run_ids: str | Iterable[str], out: TextIO, *, updates: int | None = None
    ) -> None:
        """``export_json`` written to ``out`` one run at a time (memory: one run)."""
        ids = as_ids(run_ids)
        self.require_runs(ids)
        out.write('{"format": "hplab-runs", "version": 1, "runs": [')
        for i, run_id in enumerate(ids):
            out.write((", " if i else "") + json.dumps(self._export_run(run_id, updates)))
        out.write("]}")

    def export_json(
        self, run_ids: str | Iterable[str], *, updates: int | None = None
    ) -> dict[str, Any]:
        """Everything about the runs, full resolution unless ``updates`` thins the
        per-update series. NaN/inf stay floats (``json.dumps`` writes them as
        ``NaN``/``Infinity``, which Python and JavaScript's JSON5 read)."""
        ids = as_ids(run_ids)
        self.require_runs(ids)
        runs = [self._export_run(run_id, updates) for run_id in ids]
        return {"format": "hplab-runs", "version": 1, "runs": runs}
