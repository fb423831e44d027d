"""``RunStore``: every run's state, series and results in one SQLite file.

The store is the only place the dashboard, the executor and the workers meet, so
each public method is one transaction on its own connection: an object holding only
a path, safe to call from any thread, to pickle into a worker process or a Ray task.
Single-item writes are built on the batch writes (as in mlflow's tracking store),
so there is one code path to get right.

Status changes follow ``schema.TRANSITIONS``. An illegal change raises
``IllegalTransition`` and writes nothing; it is an error, not a ``False``, because
every caller that hits it (a worker finishing a run that was deleted or recovered,
a UI acting on a stale table) has a bug or a race worth surfacing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from engine.store import db
from engine.store.schema import (
    EPOCH_EXTRAS,
    FINITE,
    NON_FINITE_KINDS,
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    UPDATE_COLUMNS,
    UPDATE_FLOAT_COLUMNS,
    decode,
    encode,
)

MAX_NAME = 200
MAX_NOTES = 10_000
MAX_TAGS = 50
MAX_TAG = 50
MAX_ERROR = 20_000
MAX_ID = 100
# Per-update points per run in a CSV export unless the caller asks for all of them: a
# 1.92M-update run was a 476 MB file; the charts draw 1,000 points too.
EXPORT_UPDATE_POINTS = 1000
CSV_COLUMNS = ("run_id", "run_name", "series", "x_kind", "x", "value")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HIGHER_IS_BETTER = re.compile(
    r"(acc|auc|precision|recall|f1|fbeta|f_beta|r2|iou|top_?\d*_?k?\b|top\d)", re.IGNORECASE
)


class IllegalTransition(RuntimeError):
    """A status change the state machine forbids (e.g. out of a terminal state)."""


def new_run_id() -> str:
    """Short enough to show in a table, random enough never to collide in one store."""
    return uuid.uuid4().hex[:12]


def higher_is_better(key: str) -> bool:
    """Direction used to pick a series' best value: losses and errors go down,
    accuracy-like scores (accuracy, auc, precision, recall, f1, top-k) go up."""
    tokens = re.split(r"[^0-9a-z]+", key.lower())
    if "loss" in tokens:
        return False
    return bool(_HIGHER_IS_BETTER.search(key))


# ---------------------------------------------------------------- validation helpers


def _check_text(field: str, value: Any, cap: int, *, single_line: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be text, got {type(value).__name__}")
    if len(value) > cap:
        raise ValueError(f"{field}: at most {cap} characters, got {len(value)}")
    if single_line and _CONTROL.search(value):
        raise ValueError(f"{field}: must be one line without control characters")
    if not single_line and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError(f"{field}: must not contain control characters")
    return value


def _check_name(value: Any, field: str = "name") -> str:
    value = _check_text(field, value, MAX_NAME, single_line=True).strip()
    if not value:
        raise ValueError(f"{field}: must not be empty")
    return value


def _check_tags(value: Any, field: str = "tags") -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{field}: must be a list of text tags, got {type(value).__name__}")
    out: list[str] = []
    for i, tag in enumerate(value):
        tag = _check_text(f"{field}[{i}]", tag, MAX_TAG, single_line=True).strip()
        if not tag:
            raise ValueError(f"{field}[{i}]: must not be empty")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValueError(f"{field}: at most {MAX_TAGS} tags, got {len(out)}")
    return out


def _check_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"{field}: must be non-empty text of at most {MAX_ID} characters")
    return value


def _dumps(field: str, value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{field}: not JSON-serialisable ({e})") from e


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _number(field: str, value: Any) -> tuple[float | None, int]:
    if isinstance(value, bool) or not (value is None or isinstance(value, int | float)):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise ValueError(f"{field}: must be a number, got {value!r}") from None
    return encode(value)


def _as_ids(run_ids: str | Iterable[str]) -> list[str]:
    if isinstance(run_ids, str):
        return [run_ids]
    return list(dict.fromkeys(run_ids))


def _default_name(config: Mapping[str, Any], run_id: str) -> str:
    def ident(v: Any) -> str | None:
        if isinstance(v, Mapping):
            v = v.get("name")
        return v if isinstance(v, str) else None

    parts = [ident(config.get("task")), ident(config.get("optimizer"))]
    lr = config.get("learning_rate")
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        parts.append(f"lr={lr:g}")
    parts = [p for p in parts if p]
    return (" ".join(parts) + f" {run_id[:6]}")[:MAX_NAME] if parts else f"run {run_id}"


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


def _downsample_rows(n: int, max_points: int | None) -> int:
    """Stride that leaves about ``max_points`` of ``n`` rows (first and last are added)."""
    if max_points is None or n <= max_points:
        return 1
    if max_points < 2:
        raise ValueError(f"max_points: must be at least 2 or None, got {max_points}")
    return math.ceil((n - 1) / (max_points - 1))


_RUN_JSON = ("config", "tags", "info", "result", "diagnosis")


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d.pop("seq", None)
    for k in _RUN_JSON:
        d[k] = _loads(d[k])
    d["cancel_requested"] = bool(d["cancel_requested"])
    return d


class RunStore:
    """All runs of one store file: the path plus one lazily opened connection per thread."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path: Path = db.resolve_path(path)
        # A store nobody may write is opened for reading: every write raises
        # StoreReadOnly naming the file before anything is touched.
        self.read_only: bool = db.open_store(self.path)
        self._conns = db.Connections(self.path, read_only=self.read_only)

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ------------------------------------------------------------------ internals

    def close(self) -> None:
        """Release this thread's connection now rather than when the thread ends."""
        self._conns.close()

    def _read(self):
        return self._conns.session(write=False)

    def _write(self):
        return self._conns.session(write=True)

    @staticmethod
    def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()

    @staticmethod
    def _status_of(conn: sqlite3.Connection, run_id: str) -> str:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"unknown run id {run_id!r}")
        return row[0]

    @staticmethod
    def _require_all(conn: sqlite3.Connection, run_ids: list[str]) -> None:
        if not run_ids:
            return
        marks = ",".join("?" * len(run_ids))
        found = {r[0] for r in conn.execute(f"SELECT id FROM runs WHERE id IN ({marks})", run_ids)}
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise KeyError(
                f"unknown run id{'s' if len(missing) > 1 else ''} "
                + ", ".join(repr(m) for m in missing)
            )

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
        if error is not None:
            error = str(error)[:MAX_ERROR]
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

    # ------------------------------------------------------------------ lifecycle

    def create_runs(
        self,
        configs: Sequence[Mapping[str, Any]],
        *,
        names: Sequence[str] | None = None,
        sweep_id: str | None = None,
        tags: Sequence[str] | None = None,
        parent_id: str | None = None,
    ) -> list[str]:
        """Queue runs, all or none: a sweep is never half-enqueued.

        ``parent_id``: the run these are follow-ups of (a diagnosis' suggestion applied
        to its config); it must exist. Deleting the parent later keeps the follow-ups
        and clears their link."""
        configs = list(configs)
        if names is not None:
            names = list(names)
            if len(names) != len(configs):
                raise ValueError(f"names: {len(names)} names for {len(configs)} configs")
        tag_list = _check_tags([] if tags is None else tags)
        if sweep_id is not None:
            _check_id("sweep_id", sweep_id)
        if parent_id is not None:
            _check_id("parent_id", parent_id)
        rows = []
        now = time.time()
        for i, config in enumerate(configs):
            if not isinstance(config, Mapping):
                raise ValueError(f"configs[{i}]: must be a dict, got {type(config).__name__}")
            run_id = new_run_id()
            name = (
                _check_name(names[i], f"names[{i}]")
                if names is not None
                else _default_name(config, run_id)
            )
            task = config.get("task")
            rows.append(
                (
                    run_id,
                    name,
                    task if isinstance(task, str) else None,
                    json.dumps(tag_list),
                    _dumps(f"configs[{i}]", dict(config)),
                    now,
                    sweep_id,
                    parent_id,
                )
            )
        if not rows:
            return []
        with self._write() as conn:
            if parent_id is not None:
                self._status_of(conn, parent_id)  # KeyError for an unknown parent
            conn.executemany(
                "INSERT INTO runs (id, name, task, tags, config, created, sweep_id, parent_id,"
                " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                rows,
            )
        return [r[0] for r in rows]

    def create_run(self, config: Mapping[str, Any], *, name: str | None = None, **kw) -> str:
        return self.create_runs([config], names=None if name is None else [name], **kw)[0]

    def claim_next(self, worker_id: str) -> tuple[str, dict[str, Any]] | None:
        """Take the oldest queued run; the write lock makes two workers never share one."""
        _check_id("worker_id", worker_id)
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, config FROM runs WHERE status = 'queued' ORDER BY created, seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._transition(conn, row[0], "running", worker_id=worker_id)
        return row[0], json.loads(row[1])

    def claim(self, run_id: str, worker_id: str) -> dict[str, Any] | None:
        """Take one given run (a Ray task knows its run); None if it is no longer queued."""
        _check_id("worker_id", worker_id)
        with self._write() as conn:
            if self._status_of(conn, run_id) != "queued":
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

    # ------------------------------------------------------------------ run data

    def _require_running(self, conn: sqlite3.Connection, run_id: str, what: str) -> None:
        status = self._status_of(conn, run_id)
        if status != "running":
            raise IllegalTransition(f"run {run_id}: is {status!r}; only a running run {what}")

    def record_start(self, run_id: str, info: Mapping[str, Any]) -> None:
        payload = _dumps("info", dict(info))
        with self._write() as conn:
            self._require_running(conn, run_id, "accepts its start record")
            conn.execute(
                "UPDATE runs SET info = ?, heartbeat = ? WHERE id = ?",
                (payload, time.time(), run_id),
            )

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
                v, kind = _number(f"records[{r}].values.{key}", value)
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
                row.extend(_number(f"columns.{c}[{i}]", None if col is None else col[i]))
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
        test_rows = [(run_id, str(k), *_number(f"result.test.{k}", v)) for k, v in test.items()]
        preds = result.get("predictions")
        preds_json = None if preds is None else _dumps("result.predictions", preds)
        rest = {k: v for k, v in result.items() if k not in ("test", "predictions")}
        rest_json = _dumps("result", rest)
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

    # ------------------------------------------------------------------ reads

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._read() as conn:
            rows = self._rows(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(f"unknown run id {run_id!r}")
        return _run_dict(rows[0])

    def list_runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        sweep_id: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        parent_id: str | None = None,
    ) -> list[dict[str, Any]]:
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
        if sweep_id is not None:
            where.append("r.sweep_id = ?")
            params.append(sweep_id)
        if task is not None:
            where.append("r.task = ?")
            params.append(task)
        if parent_id is not None:
            where.append("r.parent_id = ?")
            params.append(parent_id)
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
        out = {}
        for row in runs:
            d = _run_dict(row)
            d.update(last={}, best={}, best_epoch={})
            out[d["id"]] = d
        for s in summary:
            d = out[s["run_id"]]
            d["last"][s["key"]] = decode(s["last_value"], s["last_kind"])
            if s["best_epoch"] is not None:
                d["best"][s["key"]] = s["best_value"]
                d["best_epoch"][s["key"]] = s["best_epoch"]
        return list(out.values())

    def epoch_series(
        self,
        run_ids: str | Iterable[str],
        keys: Iterable[str] | None = None,
        max_points: int | None = 1000,
    ) -> dict[str, dict[str, dict[str, list]]]:
        """``{run_id: {key: {"epoch": [...], "value": [...]}}}`` with NaN/inf restored."""
        ids = _as_ids(run_ids)
        key_list = None if keys is None else ([keys] if isinstance(keys, str) else list(keys))
        out: dict[str, dict[str, dict[str, list]]] = {r: {} for r in ids}
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
                out[run_id][key] = {
                    "epoch": [p[0] for p in keep],
                    "value": [decode(p[1], p[2]) for p in keep],
                }
        return out

    def update_series(self, run_id: str, max_points: int | None = 1000) -> dict[str, list]:
        """Per-update columns, thinned on read to about ``max_points`` evenly strided rows.

        The first and last rows and every NaN/inf row are always kept, so a divergence
        never disappears from a zoomed-out chart. Pass ``max_points=None`` for all rows
        (diagnosis looks for single-step spikes that striding may skip).
        """
        cols = "update_no, epoch, loss, loss_kind, lr, lr_kind, grad_norm, grad_norm_kind, clipped"
        nonfinite = " OR ".join(
            f"{c}_kind IN ({','.join(map(str, NON_FINITE_KINDS))})" for c in UPDATE_FLOAT_COLUMNS
        )
        with self._read() as conn:
            self._status_of(conn, run_id)
            n = conn.execute("SELECT COUNT(*) FROM updates WHERE run_id = ?", (run_id,)).fetchone()[
                0
            ]
            stride = _downsample_rows(n, max_points)
            if stride == 1:
                rows = conn.execute(
                    f"SELECT {cols} FROM updates WHERE run_id = ? ORDER BY update_no", (run_id,)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY update_no) - 1"
                    f" AS rn FROM updates WHERE run_id = ?) WHERE rn % ? = 0 OR rn = ? OR"
                    f" {nonfinite} ORDER BY update_no",
                    (run_id, stride, n - 1),
                ).fetchall()
        out: dict[str, list] = {c: [] for c in UPDATE_COLUMNS}
        for upd, ep, loss, lk, lr, lrk, gn, gk, cl in rows:
            out["update"].append(upd)
            out["epoch"].append(ep)
            out["loss"].append(decode(loss, lk))
            out["lr"].append(decode(lr, lrk))
            out["grad_norm"].append(decode(gn, gk))
            out["clipped"].append(None if cl is None else bool(cl))
        return out

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

    def require_runs(self, run_ids: str | Iterable[str]) -> None:
        """Raise ``KeyError`` naming every id that is not in the store."""
        with self._read() as conn:
            self._require_all(conn, _as_ids(run_ids))

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
        ids = _as_ids(run_ids)
        w = csv.writer(out, lineterminator="\n")
        with self._read() as conn:
            self._require_all(conn, ids)
            meta, columns = {}, {}
            for run_id in ids:
                name, config = conn.execute(
                    "SELECT name, config FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
                flat = flatten_config(_loads(config))
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
                n = conn.execute(
                    "SELECT COUNT(*) FROM updates WHERE run_id = ?", (run_id,)
                ).fetchone()[0]
                stride = _downsample_rows(n, updates)
                for column in (*UPDATE_FLOAT_COLUMNS, "clipped"):
                    kind_col = "0" if column == "clipped" else f"{column}_kind"
                    sql = (
                        f"SELECT update_no, {column}, {kind_col} FROM updates WHERE run_id = ?"
                        " ORDER BY update_no"
                    )
                    params: tuple = (run_id,)
                    if stride > 1:
                        nonfinite = " OR ".join(
                            f"{c}_kind IN ({','.join(map(str, NON_FINITE_KINDS))})"
                            for c in UPDATE_FLOAT_COLUMNS
                        )
                        sql = (
                            f"SELECT update_no, {column}, {kind_col} FROM (SELECT *, ROW_NUMBER()"
                            " OVER (ORDER BY update_no) - 1 AS rn FROM updates WHERE run_id = ?)"
                            f" WHERE rn % ? = 0 OR rn = ? OR {nonfinite} ORDER BY update_no"
                        )
                        params = (run_id, stride, n - 1)
                    for upd, v, kind in conn.execute(sql, params):
                        value = (
                            (None if v is None else bool(v))
                            if column == "clipped"
                            else (decode(v, kind))
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
        run = self.get_run(run_id)
        run["epochs"] = self.epoch_series([run_id], max_points=None)[run_id]
        run["updates"] = self.update_series(run_id, max_points=updates)
        run["test"] = self.test_metrics(run_id)
        run["predictions"] = self.predictions(run_id)
        return run

    def write_json(
        self, run_ids: str | Iterable[str], out: TextIO, *, updates: int | None = None
    ) -> None:
        """``export_json`` written to ``out`` one run at a time (memory: one run)."""
        ids = _as_ids(run_ids)
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
        ids = _as_ids(run_ids)
        self.require_runs(ids)
        runs = [self._export_run(run_id, updates) for run_id in ids]
        return {"format": "hplab-runs", "version": 1, "runs": runs}

    # ------------------------------------------------------------------ edits

    def _set_column(self, run_id: str, column: str, value: Any) -> None:
        with self._write() as conn:
            self._status_of(conn, run_id)
            conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))

    def rename(self, run_id: str, name: str) -> None:
        self._set_column(run_id, "name", _check_name(name))

    def set_tags(self, run_id: str, tags: Sequence[str]) -> None:
        self._set_column(run_id, "tags", json.dumps(_check_tags(tags)))

    def set_notes(self, run_id: str, notes: str) -> None:
        self._set_column(run_id, "notes", _check_text("notes", notes, MAX_NOTES, single_line=False))

    def set_diagnosis(self, run_id: str, diagnosis: Mapping[str, Any] | None) -> None:
        if diagnosis is not None and not isinstance(diagnosis, Mapping):
            raise ValueError(f"diagnosis: must be a dict, got {type(diagnosis).__name__}")
        payload = None if diagnosis is None else _dumps("diagnosis", dict(diagnosis))
        self._set_column(run_id, "diagnosis", payload)

    def delete_runs(self, run_ids: str | Iterable[str]) -> int:
        """Delete runs with all their data; all or none. A running run is refused: its
        worker would keep writing into a run that no longer exists."""
        ids = _as_ids(run_ids)
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
            return conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount

    # ------------------------------------------------------------------ upkeep

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
