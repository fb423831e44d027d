"""Schema v2 (parent link, study id, ``pruned``), v3 (config key, reuse link) and the
upgrade of version-1 and version-2 files.

``data/v1_store.db`` was written by HP Lab's schema-v1 code (``data/make_v1_store.py``):
a real trained run with its epoch and per-update curves, test metrics, predictions and
diagnosis, a diverged run with NaN values, and runs in every other state.
``data/v2_store.db`` is that file upgraded by HP Lab's schema-v2 code, plus a pruned
follow-up of the trained run.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.errors import StoreError
from engine.store import SCHEMA_VERSION, TERMINAL, RunStore
from engine.store.migrations import V1_RUNS_COLUMNS, V2_RUNS_COLUMNS
from engine.store.reuse import config_key

V1 = Path(__file__).parent / "data" / "v1_store.db"
V2 = Path(__file__).parent / "data" / "v2_store.db"
TABLES = ("meta", "runs", "epoch_values", "run_summary", "updates", "test_metrics", "predictions")


def _dump(path: Path, table: str, columns: str = "*") -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
    finally:
        conn.close()


def _pragma(path: Path, name: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchall()
    finally:
        conn.close()


def _schema(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE sql IS NOT NULL AND name != 'sqlite_sequence'"
        ).fetchall()
    finally:
        conn.close()
    # a renamed table's SQL names it in quotes ("runs"): the same table
    return {name: " ".join(sql.replace('"runs"', "runs").split()) for name, sql in rows}


@pytest.fixture
def v1_file(tmp_path) -> Path:
    path = tmp_path / "old.db"
    shutil.copy(V1, path)
    assert _pragma(path, "user_version") == [(1,)]
    return path


def test_the_fixture_is_a_version_1_store_with_curves():
    cols = tuple(r[1] for r in _pragma(V1, "table_info(runs)"))
    assert cols == V1_RUNS_COLUMNS
    statuses = {r[0] for r in _dump(V1, "runs", "status")}
    assert statuses == {"completed", "diverged", "queued", "cancelled", "failed", "interrupted"}
    assert len(_dump(V1, "epoch_values")) > 20 and len(_dump(V1, "updates")) > 10
    assert any(kind for *_, kind in _dump(V1, "epoch_values"))  # a NaN kept by its kind


def test_opening_a_v1_file_upgrades_it_and_loses_nothing(v1_file, tmp_path):
    before = {t: _dump(v1_file, t) for t in TABLES if t != "runs"}
    runs_before = _dump(v1_file, "runs", ", ".join(V1_RUNS_COLUMNS))
    seq_before = _dump(v1_file, "sqlite_sequence")

    store = RunStore(v1_file)

    assert _pragma(v1_file, "user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 3
    meta = dict(_dump(v1_file, "meta"))
    assert meta["schema_version"] == "3" and "upgraded_from_1" in meta
    for table, rows in before.items():
        after = _dump(v1_file, table)
        if table == "meta":
            after = [r for r in after if r[0] != "upgraded_from_1"]
            rows = [r if r[0] != "schema_version" else ("schema_version", "3") for r in rows]
        assert after == rows, table
    assert _dump(v1_file, "runs", ", ".join(V1_RUNS_COLUMNS)) == runs_before
    assert _dump(v1_file, "runs", "parent_id, study_id, reused_from") == [(None, None, None)] * len(
        runs_before
    )
    assert _dump(v1_file, "sqlite_sequence") == seq_before
    assert store.integrity_check() == "ok"
    # the same tables, columns, constraints and indexes as a file created at version 3
    assert _schema(v1_file) == _schema(RunStore(tmp_path / "fresh.db").path)

    # ... and it reads as before: curves with their NaN, results, diagnosis
    runs = {r["name"]: r for r in store.list_runs()}
    trained, diverged = runs["trained · sgd"], runs["diverged · lr 5"]
    assert trained["tags"] == ["keep", "v1"] and trained["notes"].startswith("notes survive")
    assert trained["diagnosis"]["label"] and store.test_metrics(trained["id"])
    assert store.predictions(trained["id"]) and trained["best"]["val_loss"] > 0
    assert len(store.update_series(trained["id"])["loss"]) == trained["updates_done"]
    loss = store.epoch_series(diverged["id"], ["loss"])[diverged["id"]]["loss"]["value"]
    assert loss[-1] != loss[-1]  # NaN survives
    assert runs["failed"]["error"].startswith("worker died")


def test_upgrade_happens_once(v1_file):
    RunStore(v1_file)
    stamp = dict(_dump(v1_file, "meta"))["upgraded_from_1"]
    RunStore(v1_file)
    assert dict(_dump(v1_file, "meta"))["upgraded_from_1"] == stamp


def test_version_2_columns_work_on_an_upgraded_file(v1_file):
    store = RunStore(v1_file)
    parent = next(r for r in store.list_runs() if r["status"] == "completed")
    (child,) = store.create_runs([parent["config"]], parent_id=parent["id"])
    assert store.get_run(child)["parent_id"] == parent["id"]
    assert [r["id"] for r in store.list_runs(parent_id=parent["id"])] == [child]
    assert store.claim(child, "w") is not None
    store.set_status(child, "pruned")  # the CHECK constraint now allows it
    assert store.get_run(child)["status"] == "pruned" and "pruned" in TERMINAL


def test_a_failed_upgrade_leaves_the_v1_file_as_it_was(v1_file):
    conn = sqlite3.connect(v1_file)  # foreign keys off: a dangling row slips in
    conn.execute("INSERT INTO test_metrics (run_id, key, value) VALUES ('ghost', 'loss', 1.0)")
    conn.commit()
    conn.close()
    before = {t: _dump(v1_file, t) for t in TABLES}
    schema_before = _schema(v1_file)
    with pytest.raises(StoreError) as info:
        RunStore(v1_file)
    assert "not upgraded" in str(info.value) and str(v1_file) in str(info.value)
    assert _pragma(v1_file, "user_version") == [(1,)]
    assert {t: _dump(v1_file, t) for t in TABLES} == before
    assert _schema(v1_file) == schema_before


def test_a_damaged_v1_runs_table_is_refused_untouched(v1_file):
    conn = sqlite3.connect(v1_file)
    conn.execute("ALTER TABLE runs ADD COLUMN surprise TEXT")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="damaged"):
        RunStore(v1_file)
    assert _pragma(v1_file, "user_version") == [(1,)]


def _open_and_count(path: str, start, out) -> None:
    start.wait(30)
    try:
        out.put(len(RunStore(path).list_runs()))
    except Exception as e:  # reported to the test, not lost in the child
        out.put(repr(e))


def test_processes_opening_a_v1_file_at_once_upgrade_it_once(v1_file):
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_open_and_count, args=(str(v1_file), start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == [6, 6, 6], results
    meta = dict(_dump(v1_file, "meta"))
    assert meta["schema_version"] == "3"
    assert RunStore(v1_file).integrity_check() == "ok"


def test_parent_link_on_a_fresh_store(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    parent = store.create_run({"task": "regression"})
    with pytest.raises(KeyError, match="nope"):
        store.create_runs([{"task": "regression"}], parent_id="nope")
    with pytest.raises(ValueError, match="parent_id"):
        store.create_runs([{"task": "regression"}], parent_id="")
    a, b = store.create_runs([{"task": "regression"}] * 2, parent_id=parent)
    other = store.create_run({"task": "regression"})
    assert {r["id"] for r in store.list_runs(parent_id=parent)} == {a, b}
    assert store.get_run(other)["parent_id"] is None
    assert store.get_run(a)["study_id"] is None
    store.delete_runs([parent])  # the follow-ups stay, unlinked
    assert store.get_run(a)["parent_id"] is None and store.get_run(b)["parent_id"] is None
    assert store.integrity_check() == "ok"


# ------------------------------------------------------------------ version 2 -> 3


@pytest.fixture
def v2_file(tmp_path) -> Path:
    path = tmp_path / "v2.db"
    shutil.copy(V2, path)
    assert _pragma(path, "user_version") == [(2,)]
    return path


def test_opening_a_v2_file_upgrades_it_and_keys_every_run(v2_file, tmp_path):
    cols = tuple(r[1] for r in _pragma(v2_file, "table_info(runs)"))
    assert cols == V2_RUNS_COLUMNS
    before = {t: _dump(v2_file, t) for t in TABLES if t not in ("runs", "meta")}
    runs_before = _dump(v2_file, "runs", ", ".join(V2_RUNS_COLUMNS))

    store = RunStore(v2_file)

    assert _pragma(v2_file, "user_version") == [(3,)]
    meta = dict(_dump(v2_file, "meta"))
    assert meta["schema_version"] == "3" and "upgraded_from_2" in meta
    assert {t: _dump(v2_file, t) for t in before} == before
    assert _dump(v2_file, "runs", ", ".join(V2_RUNS_COLUMNS)) == runs_before
    assert _schema(v2_file) == _schema(RunStore(tmp_path / "fresh.db").path)
    assert store.integrity_check() == "ok"
    runs = store.list_runs()
    assert len(runs) == 7 and all(r["config_key"] == config_key(r["config"]) for r in runs)
    assert all(r["reused_from"] is None for r in runs)
    follow = next(r for r in runs if r["name"] == "follow-up")
    assert follow["status"] == "pruned" and follow["parent_id"]


def test_an_upgraded_files_finished_runs_are_reused(v2_file):
    store = RunStore(v2_file)
    trained = next(r for r in store.list_runs() if r["name"] == "trained · sgd")
    (again,) = store.create_runs([trained["config"]], reuse=True)
    run = store.get_run(again)
    assert run["status"] == "completed" and run["reused_from"] == trained["id"]
    assert store.test_metrics(again) == store.test_metrics(trained["id"])
    assert len(store.update_series(again)["loss"]) == trained["updates_done"]


def test_a_damaged_v2_runs_table_is_refused_untouched(v2_file):
    conn = sqlite3.connect(v2_file)
    conn.execute("ALTER TABLE runs ADD COLUMN surprise TEXT")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="damaged"):
        RunStore(v2_file)
    assert _pragma(v2_file, "user_version") == [(2,)]
