"""Reusing finished runs: a run's config key, copying a finished run into a new one, and
which queued runs wait for an identical one.

A class launching one lesson thirty times should train each of its runs once. Every
run stores ``config_key``, the SHA-256 of its validated config as canonical JSON (sorted
keys, the seed included: the executor validates before it queues, so two launches of
one lesson give byte-identical JSON). A launch that asks for reuse gets, per config:

- a *copy* of a finished run with that key (``completed``, or ``diverged``: a NaN loss
  at epoch 4 is that config's honest result, and training it again diverges again):
  the new run is created in that status with the source's result, test metrics,
  predictions and every curve copied, ``reused_from`` naming the source. A copy, not
  a pointer: the launch's run reads, exports and deletes like any other, and deleting
  the source later keeps it whole. Runs that did not finish (failed, cancelled,
  interrupted, pruned) are never reused: they say nothing final about the config;
- a *follower* of an identical queued or running run: it stays queued with
  ``reused_from`` set, workers skip it, and when its leader finishes it is settled
  as a copy in the same transaction (``settle_followers``). If the leader ends
  without a result (failed, cancelled, deleted), the first follower to be claimed
  trains instead and the others follow it (``claimable`` / ``promote``), so the
  config still trains once;
- otherwise an ordinary queued run.

Why a copy is honest: a run is a function of its validated config and seed on CPU.
The seed fixes the generated data, the initial weights, dropout and the shuffling
(``engine.data``, ``engine.training.pipeline``), so training the same config twice
draws the same curves (``tests/executor/test_run_reuse.py`` trains one twice and
compares). On a GPU or under another HP Lab version the last digits may differ; a
person who wants a fresh run asks for one (the launch's "Train again" option).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

# Terminal statuses whose result is the config's result.
REUSABLE = ("completed", "diverged")
IN_FLIGHT = ("queued", "running")

# The per-run tables a copy duplicates: (table, its columns after run_id).
_SERIES_TABLES = (
    ("epoch_values", "key, epoch, value, kind"),
    ("run_summary", "key, last_epoch, last_value, last_kind, best_epoch, best_value"),
    (
        "updates",
        "update_no, epoch, loss, loss_kind, lr, lr_kind, grad_norm, grad_norm_kind, clipped",
    ),
    ("test_metrics", "key, value, kind"),
    ("predictions", "data"),
)

_IN_FLIGHT_SQL = ", ".join(f"'{s}'" for s in IN_FLIGHT)


def claimable(alias: str = "runs") -> str:
    """SQL: ``alias`` is a queued run a worker may take, i.e. not waiting for an
    identical queued or running run."""
    return (
        f"{alias}.status = 'queued' AND ({alias}.reused_from IS NULL OR NOT EXISTS ("
        f"SELECT 1 FROM runs AS leader WHERE leader.id = {alias}.reused_from"
        f" AND leader.status IN ({_IN_FLIGHT_SQL})))"
    )


def config_key(config: Mapping[str, Any]) -> str:
    """SHA-256 of the config as canonical JSON: key order and spacing do not matter,
    every value (the seed too) does."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _source_ref(conn: sqlite3.Connection, source_id: str) -> dict[str, str]:
    name = conn.execute("SELECT name FROM runs WHERE id = ?", (source_id,)).fetchone()[0]
    return {"id": source_id, "name": name}


def match(conn: sqlite3.Connection, key: str) -> tuple[str, str] | None:
    """``(run id, 'done' | 'wait')``: the finished run to copy for ``key``, else the
    queued or running one to wait for (one that trains itself, not a follower), else
    None. An original is preferred to a copy, the oldest first."""
    done = ", ".join(f"'{s}'" for s in REUSABLE)
    row = conn.execute(
        f"SELECT id FROM runs WHERE config_key = ? AND status IN ({done})"
        " ORDER BY reused_from IS NOT NULL, seq LIMIT 1",
        (key,),
    ).fetchone()
    if row is not None:
        return row[0], "done"
    row = conn.execute(
        f"SELECT id FROM runs WHERE config_key = ? AND status IN ({_IN_FLIGHT_SQL})"
        " AND reused_from IS NULL AND cancel_requested = 0 ORDER BY seq LIMIT 1",
        (key,),
    ).fetchone()
    return (row[0], "wait") if row is not None else None


def mark_waiting(conn: sqlite3.Connection, run_id: str, leader_id: str) -> None:
    """``run_id`` (queued) waits for ``leader_id``; its info names the leader for the page."""
    info = json.dumps({"reused_from": _source_ref(conn, leader_id), "waiting": True})
    conn.execute(
        "UPDATE runs SET reused_from = ?, info = ? WHERE id = ?", (leader_id, info, run_id)
    )


def copy_result(conn: sqlite3.Connection, source_id: str, run_id: str) -> None:
    """Make queued ``run_id`` a finished copy of ``source_id`` (inside the caller's
    transaction): status, result, counts and every curve. Its name, tags, notes,
    sweep and creation time stay its own; started and finished are now (it took no
    time), and its info says where the result came from."""
    now = time.time()
    src = conn.execute(
        "SELECT status, error, info, result, diagnosis, epochs_done, updates_done"
        " FROM runs WHERE id = ?",
        (source_id,),
    ).fetchone()
    status, error, info, res, diagnosis, epochs_done, updates_done = src
    info_d = json.loads(info) if info else {}
    info_d = dict(info_d, reused_from=_source_ref(conn, source_id))
    info_d.pop("waiting", None)
    for table, cols in _SERIES_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        conn.execute(
            f"INSERT INTO {table} (run_id, {cols}) SELECT ?, {cols} FROM {table} WHERE run_id = ?",
            (run_id, source_id),
        )
    conn.execute(
        "UPDATE runs SET status = ?, error = ?, info = ?, result = ?, diagnosis = ?,"
        " epochs_done = ?, updates_done = ?, started = ?, finished = ?, heartbeat = ?,"
        " reused_from = ?, worker_id = NULL WHERE id = ?",
        (
            status,
            error,
            json.dumps(info_d),
            res,
            diagnosis,
            epochs_done,
            updates_done,
            now,
            now,
            now,
            source_id,
            run_id,
        ),
    )


def settle_followers(conn: sqlite3.Connection, leader_id: str) -> list[str]:
    """Copy a just-finished run into every queued run waiting for it (the caller has
    written its final status and results in this transaction)."""
    status = conn.execute("SELECT status FROM runs WHERE id = ?", (leader_id,)).fetchone()
    if status is None or status[0] not in REUSABLE:
        return []
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM runs WHERE reused_from = ? AND status = 'queued' ORDER BY seq",
            (leader_id,),
        )
    ]
    for run_id in ids:
        copy_result(conn, leader_id, run_id)
    return ids


def resolve(conn: sqlite3.Connection, run_id: str) -> str:
    """Before a worker takes queued ``run_id``: ``'train'`` it, ``'wait'`` (its leader is
    still queued or running), or ``'copied'`` (its leader finished meanwhile and the
    result was copied now). A follower whose leader ended without a result (or was
    deleted) trains itself, and the other followers of that leader wait for it."""
    leader = conn.execute("SELECT reused_from FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    if leader is None:
        return "train"
    row = conn.execute("SELECT status FROM runs WHERE id = ?", (leader,)).fetchone()
    if row is not None and row[0] in IN_FLIGHT:
        return "wait"
    if row is not None and row[0] in REUSABLE:
        copy_result(conn, leader, run_id)
        return "copied"
    _lead(conn, leader, run_id)
    return "train"


def _lead(conn: sqlite3.Connection, old: str, new: str) -> None:
    """Queued ``new`` trains itself instead of waiting for ``old``; the other runs that
    waited for ``old`` wait for ``new``."""
    conn.execute("UPDATE runs SET reused_from = NULL, info = NULL WHERE id = ?", (new,))
    others = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM runs WHERE reused_from = ? AND status = 'queued' AND id != ?",
            (old, new),
        )
    ]
    for other in others:
        mark_waiting(conn, other, new)


def hand_over(conn: sqlite3.Connection, deleted: list[str]) -> None:
    """Before ``deleted`` runs are deleted: the runs that wait for one of them get a new
    leader from among themselves (the oldest), so the config still trains once (the
    foreign key alone would set them all free to train)."""
    gone = set(deleted)
    for old in deleted:
        waiting = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM runs WHERE reused_from = ? AND status = 'queued' ORDER BY seq",
                (old,),
            )
            if r[0] not in gone
        ]
        if waiting:
            _lead(conn, old, waiting[0])
