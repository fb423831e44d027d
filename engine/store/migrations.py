"""Upgrading run-store files that an older HP Lab wrote, in place and all or nothing.

Version 1 → 2 adds ``runs.parent_id`` (a follow-up's parent), ``runs.study_id`` and the
``pruned`` status; 2 → 3 adds ``runs.config_key`` (filled in for every existing run, so
finished runs of an older HP Lab are reused too) and ``runs.reused_from``
(``engine.store.reuse``). Whatever version a file has, its runs table is rebuilt once
into today's columns, then each version's data step runs. SQLite cannot alter a CHECK
constraint (nor add a column whose SQL text matches a fresh file's), so the runs table
is rebuilt the way SQLite documents for schema changes ALTER TABLE cannot make
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
import json
import sqlite3
import time
from pathlib import Path

from engine.errors import StoreError
from engine.store.reuse import config_key
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


V2_RUNS_COLUMNS = (*V1_RUNS_COLUMNS, "parent_id", "study_id")
RUNS_COLUMNS_AT = {1: V1_RUNS_COLUMNS, 2: V2_RUNS_COLUMNS}


def _rebuild_runs(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """The runs table of a version-``version`` file, rebuilt with today's columns (the
    new ones empty), its rows, ids and sequence kept."""
    expected = RUNS_COLUMNS_AT[version]
    have = tuple(r[1] for r in conn.execute("PRAGMA table_info(runs)"))
    if have != expected:
        raise StoreError(
            f"run store {path}: says schema version {version} but its runs table has "
            f"columns {', '.join(have)}; the file is damaged"
        )
    cols = ", ".join(expected)
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


def _v1_to_v2(conn: sqlite3.Connection, path: Path) -> None:
    """Nothing beyond the rebuild: the new columns start empty."""


def _v2_to_v3(conn: sqlite3.Connection, path: Path) -> None:  # noqa: ARG001 (a step's shape)
    """Every run gets the key of the config it stored (the configs are kept as the
    executor validated them, so a launch of the same config today finds them)."""
    rows = conn.execute("SELECT id, config FROM runs").fetchall()
    keys = []
    for run_id, config in rows:
        try:
            keys.append((config_key(json.loads(config)), run_id))
        except ValueError:  # an unreadable config: never reused, but still upgraded
            continue
    conn.executemany("UPDATE runs SET config_key = ? WHERE id = ?", keys)


# version found in the file -> the step that lifts it by one (after the rebuild)
STEPS = {1: _v1_to_v2, 2: _v2_to_v3}


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
            if version in RUNS_COLUMNS_AT:
                _rebuild_runs(conn, path, version)
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
