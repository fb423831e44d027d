"""The run store's tables, and the version that guards them.

The version lives in two places on purpose: ``PRAGMA user_version`` is cheap to read
and visible to any SQLite tool, while the ``meta`` table carries the application id,
so an unrelated SQLite file (which may well have a non-zero ``user_version`` of its
own) is never mistaken for a run store and written into.

Floats that SQLite cannot keep (NaN becomes NULL) are stored with a ``kind`` code
next to the value, so a diverged curve reads back as NaN, not as a gap.

Version 2 links a run to its ``parent`` (a follow-up that applies a diagnosis'
suggestion) and, so that searches need no second migration, to a ``study`` and a
``pruned`` terminal status. Version 3 keys every run by its validated config
(``config_key``, ``engine.store.reuse``) and links a run that reuses another's result
to it (``reused_from``); ``engine.store.migrations`` upgrades version-1 and -2 files.
"""

from __future__ import annotations

import math

APP_ID = "hplab"
SCHEMA_VERSION = 3

# Value kinds: the value column is NULL for every kind but FINITE.
FINITE, NAN, POS_INF, NEG_INF, MISSING = 0, 1, 2, 3, 4
NON_FINITE_KINDS = (NAN, POS_INF, NEG_INF)

STATUSES = (
    "queued",
    "running",
    "completed",
    "diverged",
    "failed",
    "cancelled",
    "interrupted",
    "pruned",
)
# ``pruned``: a search stopped the run early because it was not promising (schema v2).
TERMINAL = frozenset({"completed", "diverged", "failed", "cancelled", "interrupted", "pruned"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled"}),
    "running": TERMINAL,
    **{s: frozenset() for s in TERMINAL},
}

# Per-epoch numbers that are not metrics: stored as series keys next to the metrics
# but never ranked ("best lr" means nothing).
EPOCH_EXTRAS = ("lr", "epoch_time", "examples_per_sec", "wall_time", "updates")
UPDATE_FLOAT_COLUMNS = ("loss", "lr", "grad_norm")
UPDATE_COLUMNS = ("update", "epoch", "loss", "lr", "grad_norm", "clipped")

_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)

RUNS_COLUMNS = f"""
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    task             TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',
    notes            TEXT NOT NULL DEFAULT '',
    config           TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ({_STATUS_LIST})),
    error            TEXT,
    created          REAL NOT NULL,
    started          REAL,
    finished         REAL,
    sweep_id         TEXT,
    worker_id        TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    info             TEXT,
    result           TEXT,
    diagnosis        TEXT,
    heartbeat        REAL,
    epochs_done      INTEGER NOT NULL DEFAULT 0,
    updates_done     INTEGER NOT NULL DEFAULT 0,
    parent_id        TEXT REFERENCES runs (id) ON DELETE SET NULL,
    study_id         TEXT,
    config_key       TEXT,
    reused_from      TEXT REFERENCES runs (id) ON DELETE SET NULL
""".strip("\n")

RUNS_INDEXES = """
CREATE INDEX runs_status_fifo ON runs (status, created, seq);
CREATE INDEX runs_sweep ON runs (sweep_id);
CREATE INDEX runs_task ON runs (task);
CREATE INDEX runs_parent ON runs (parent_id);
CREATE INDEX runs_study ON runs (study_id);
CREATE INDEX runs_config_key ON runs (config_key, status);
CREATE INDEX runs_reused ON runs (reused_from);
""".strip()

DDL = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE runs (
{RUNS_COLUMNS}
);
{RUNS_INDEXES}

CREATE TABLE epoch_values (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    epoch  INTEGER NOT NULL,
    value  REAL,
    kind   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key, epoch)
) WITHOUT ROWID;

CREATE TABLE run_summary (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    last_epoch INTEGER NOT NULL,
    last_value REAL,
    last_kind  INTEGER NOT NULL,
    best_epoch INTEGER,
    best_value REAL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE updates (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    update_no   INTEGER NOT NULL,
    epoch       INTEGER,
    loss        REAL,
    loss_kind   INTEGER NOT NULL DEFAULT 0,
    lr          REAL,
    lr_kind     INTEGER NOT NULL DEFAULT 0,
    grad_norm   REAL,
    grad_norm_kind INTEGER NOT NULL DEFAULT 0,
    clipped     INTEGER,
    PRIMARY KEY (run_id, update_no)
) WITHOUT ROWID;

CREATE TABLE test_metrics (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  REAL,
    kind   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE predictions (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    data   TEXT NOT NULL
);
"""

TABLES = ("meta", "runs", "epoch_values", "run_summary", "updates", "test_metrics", "predictions")


def encode(value) -> tuple[float | None, int]:
    """Split a number into what SQLite can hold plus the kind that restores it."""
    if value is None:
        return None, MISSING
    v = float(value)
    if math.isfinite(v):
        return v, FINITE
    if math.isnan(v):
        return None, NAN
    return None, POS_INF if v > 0 else NEG_INF


_DECODED = {NAN: math.nan, POS_INF: math.inf, NEG_INF: -math.inf, MISSING: None}


def decode(value: float | None, kind: int) -> float | None:
    return value if kind == FINITE else _DECODED[kind]
