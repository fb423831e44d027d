"""Exports that stay bounded: streamed CSV/JSON (memory flat as runs grow), per-update
series thinned unless asked for in full, and each run's config in dotted-path columns."""

from __future__ import annotations

import csv
import io
import math
import tracemalloc

import pytest
from store_helpers import CONFIG, epoch_record, run_in_state, update_columns

from engine.cli import main as engine_main
from engine.store.export import EXPORT_UPDATE_POINTS

UPDATES = 3000  # per run: three times the default export resolution


def _long_run(store, config=None, updates: int = UPDATES) -> str:
    run_id = run_in_state(store, "running", config)
    store.append_epochs(run_id, [epoch_record(e) for e in range(1, 4)])
    store.append_updates(run_id, update_columns(1, updates))
    return run_id


@pytest.fixture
def hundred_runs(store):
    """100 runs of 300 updates each, from one template run (copied in SQL: fast)."""
    first = _long_run(store, updates=300)
    ids = [first]
    with store._write() as conn:
        for i in range(99):
            rid = f"copy{i:03d}"
            conn.execute(
                "INSERT INTO runs (id, name, task, tags, config, created, status)"
                " SELECT ?, name || ?, task, tags, config, created + ?, status FROM runs"
                " WHERE id = ?",
                (rid, f" {i}", i + 1, first),
            )
            for table in ("epoch_values", "updates"):
                cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")][1:]
                conn.execute(
                    f"INSERT INTO {table} (run_id, {', '.join(cols)}) SELECT ?, "
                    f"{', '.join(cols)} FROM {table} WHERE run_id = ?",
                    (rid, first),
                )
            ids.append(rid)
    return ids


def _export_peak(store, ids, tmp_path, *extra) -> tuple[int, int]:
    """(tracemalloc peak bytes, file size) of ``engine export`` to a file."""
    out = tmp_path / "out.csv"
    tracemalloc.start()
    try:
        rc = engine_main(["export", *ids, "--store", str(store.path), "-o", str(out), *extra])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rc == 0
    return peak, out.stat().st_size


def test_export_memory_stays_flat_from_1_to_100_runs(store, hundred_runs, tmp_path):
    _export_peak(store, hundred_runs[:1], tmp_path)  # imports and caches out of the way
    peak_1, size_1 = _export_peak(store, hundred_runs[:1], tmp_path, "--updates", "full")
    peak_100, size_100 = _export_peak(store, hundred_runs, tmp_path, "--updates", "full")
    assert size_100 > 90 * size_1  # a hundred times the rows...
    # ...in about the memory of one run (the old export built the whole text: ~100×)
    assert peak_100 < 2 * peak_1 + 1_000_000, (peak_1, peak_100)
    print(f"\nexport peak memory: 1 run {peak_1 / 1e6:.2f} MB, 100 runs {peak_100 / 1e6:.2f} MB")


def test_per_update_series_are_thinned_unless_asked_for_in_full(store, tmp_path):
    run_id = _long_run(store)
    with store._write() as conn:  # one NaN deep inside: thinning must keep it
        conn.execute(
            "UPDATE updates SET loss = NULL, loss_kind = 1 WHERE run_id = ? AND update_no = 1234",
            (run_id,),
        )

    def rows(*extra):
        out = tmp_path / "x.csv"
        assert (
            engine_main(["export", run_id, "--store", str(store.path), "-o", str(out), *extra]) == 0
        )
        return list(csv.DictReader(out.open()))

    def loss_updates(rs):
        return [int(r["x"]) for r in rs if r["series"] == "loss" and r["x_kind"] == "update"]

    sampled = loss_updates(rows())
    assert EXPORT_UPDATE_POINTS // 2 <= len(sampled) <= EXPORT_UPDATE_POINTS + 2
    assert sampled[0] == 1 and sampled[-1] == UPDATES and 1234 in sampled
    assert loss_updates(rows("--updates", "full")) == list(range(1, UPDATES + 1))
    assert len(loss_updates(rows("--updates", "100"))) in range(50, 103)
    full = rows("--updates", "full")
    nan_row = next(r for r in full if r["series"] == "loss" and r["x"] == "1234")
    assert math.isnan(float(nan_row["value"]))


def _rc(argv):
    return engine_main(argv)


@pytest.mark.parametrize("bad", ["0", "1", "-5", "lots", ""])
def test_updates_option_names_itself(store, bad, capsys):
    run_id = _long_run(store)
    assert _rc(["export", run_id, "--store", str(store.path), "--updates", bad]) == 2
    assert "--updates:" in capsys.readouterr().err


def test_csv_carries_each_runs_config_as_dotted_columns(store):
    a = run_in_state(store, "running", {**CONFIG, "optimizer": {"name": "sgd", "momentum": 0.9}})
    b = run_in_state(store, "running", {**CONFIG, "learning_rate": 0.01})
    for rid in (a, b):
        store.append_epoch(rid, epoch_record(1))
    rows = list(csv.DictReader(io.StringIO(store.export_csv([a, b]))))
    assert list(rows[0])[:6] == ["run_id", "run_name", "series", "x_kind", "x", "value"]
    by_run = {r["run_id"]: r for r in rows}
    assert by_run[a]["config.optimizer.name"] == "sgd"
    assert by_run[a]["config.optimizer.momentum"] == "0.9"
    assert by_run[b]["config.optimizer"] == "adam"  # a string identifier stays one cell
    assert by_run[b]["config.optimizer.name"] == ""  # a column b's config does not have
    assert by_run[a]["config.learning_rate"] == "0.001"
    assert by_run[b]["config.learning_rate"] == "0.01"
    assert by_run[a]["config.task"] == by_run[b]["config.task"] == "binary-20"
    # every row of a run carries its config, so any row can be grouped by it
    assert {r["config.learning_rate"] for r in rows if r["run_id"] == b} == {"0.01"}


def test_json_export_streams_the_same_document(store, tmp_path):
    import json

    run_id = _long_run(store)
    out = tmp_path / "x.json"
    args = ["export", run_id, "--format", "json", "--store", str(store.path), "-o", str(out)]
    assert engine_main(args) == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "hplab-runs" and doc["runs"][0]["id"] == run_id
    assert len(doc["runs"][0]["updates"]["update"]) <= EXPORT_UPDATE_POINTS + 2
    assert engine_main([*args, "--updates", "full"]) == 0
    assert json.loads(out.read_text())["runs"][0]["updates"]["update"] == list(range(1, 3001))
    assert doc["runs"][0]["config"] == store.export_json([run_id])["runs"][0]["config"]


def test_unknown_id_writes_no_file(store, tmp_path, capsys):
    run_id = _long_run(store)
    out = tmp_path / "out.csv"
    assert _rc(["export", run_id, "nope", "--store", str(store.path), "-o", str(out)]) == 2
    assert "nope" in capsys.readouterr().err and not out.exists()
    assert not list(tmp_path.glob("*.part"))
