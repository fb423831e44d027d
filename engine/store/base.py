"""The connection holder every part of ``RunStore`` is built on.

An object holding only a path (plus one lazily opened connection per thread), so a
store is safe to call from any thread and to pickle into a worker process or a Ray
task. Every public method of the parts is one transaction: ``_read()`` or
``_write()`` (``db.Connections.session``). The lookups here raise the errors every
part shares: ``KeyError`` naming an unknown run, ``IllegalTransition`` for a write
the run's state forbids.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.store import db


class IllegalTransition(RuntimeError):
    """A status change the state machine forbids (e.g. out of a terminal state).

    An error, not a ``False``: every caller that hits it (a worker finishing a run
    that was deleted or recovered, a UI acting on a stale table) has a bug or a race
    worth surfacing."""


class StoreBase:
    """One store file: the path plus one lazily opened connection per thread."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path: Path = db.resolve_path(path)
        # A store nobody may write is opened for reading: every write raises
        # StoreReadOnly naming the file before anything is touched.
        self.read_only: bool = db.open_store(self.path)
        self._conns = db.Connections(self.path, read_only=self.read_only)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

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

    def _require_running(self, conn: sqlite3.Connection, run_id: str, what: str) -> None:
        status = self._status_of(conn, run_id)
        if status != "running":
            raise IllegalTransition(f"run {run_id}: is {status!r}; only a running run {what}")
