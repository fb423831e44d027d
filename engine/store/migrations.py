"""Upgrading run-store files that an older HP Lab wrote, in place and all or nothing.

Version 1 → 2 adds ``runs.parent_id`` (a follow-up's parent), ``runs.study_id`` and the
``pruned`` status. SQLite cannot alter a CHECK constraint, so the runs table is rebuilt
the way SQLite documents for schema changes ALTER TABLE cannot make
(sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
foreign keys off, then in one transaction create the new table, copy every row, drop
the old one, rename the new one into its place, recreate the indexes, check the
foreign keys and bump the version; foreign keys back on. The curve and result tables
are not touched: they reference runs by ``id``, which the copy keeps, so their rows
still belong to their runs. A failure anywhere rolls the whole upgrade back and leaves
the version-1 file as it was.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from engine.errors import StoreError
from engine.store.schema import RUNS_COLUMNS, RUNS_INDEXES, SCHEMA_VERSION

# The runs table's columns as version 1 created them (in order).
V1_RUNS_COLUMNS = (
    "seq",
    "id",
    "name",
    "task",
    "tags",
    "notes",
    "config",
    "status",
    "error",
    "created",
    "started",
    "finished",
    "sweep_id",
    "worker_id",
    "cancel_requested",
    "info",
    "result",
    "diagnosis",
    "heartbeat",
    "epochs_done",
    "updates_done",
)


def _v1_to_v2(conn: sqlite3.Connection, path: Path) -> None:
    have = tuple(r[1] for r in conn.execute("PRAGMA table_info(runs)"))
    if have != V1_RUNS_COLUMNS:
        raise StoreError(
            f"run store {path}: says schema version 1 but its runs table has columns "
            f"{', '.join(have)}; the file is damaged"
        )
    cols = ", ".join(V1_RUNS_COLUMNS)
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
    next_seq = row[0] if row else 0  # AUTOINCREMENT never reuses a deleted run's seq
    conn.execute(f"CREATE TABLE runs_v2 (\n{RUNS_COLUMNS}\n)")
    conn.execute(f"INSERT INTO runs_v2 ({cols}) SELECT {cols} FROM runs ORDER BY seq")
    conn.execute("DROP TABLE runs")
    conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
    for stmt in RUNS_INDEXES.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'runs'", (next_seq,))


# version found in the file -> the step that lifts it by one
STEPS = {1: _v1_to_v2}


def upgrade(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the file ``conn`` is open on up to ``SCHEMA_VERSION``; returns the version
    it had. Safe when several processes open an old file at once: the version is read
    again under the write lock, so only the first one upgrades."""
    conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set it first
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "readonly" in str(e) or "read-only" in str(e):
                raise StoreError(
                    f"run store {path}: written by an older HP Lab (schema version "
                    f"{conn.execute('PRAGMA user_version').fetchone()[0]}); upgrading it to "
                    f"version {SCHEMA_VERSION} needs write access to the file and its folder"
                ) from e
            raise
        try:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            version = found
            while version < SCHEMA_VERSION:
                if version not in STEPS:
                    raise StoreError(
                        f"run store {path}: schema version {version} cannot be upgraded "
                        f"(this HP Lab upgrades versions {', '.join(map(str, STEPS))})"
                    )
                STEPS[version](conn, path)
                version += 1
            if found < SCHEMA_VERSION:
                dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise StoreError(
                        f"run store {path}: {len(dangling)} row(s) point at runs that do not "
                        f"exist (first: {dangling[0][0]}); not upgraded"
                    )
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),)
                )
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (f"upgraded_from_{found}", repr(time.time())),
                )
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
            return found
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA foreign_keys = ON")
