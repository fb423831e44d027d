"""Isolation data: the best result per value (or bin) of one knob over the others, on a
real finished grid, and binning of a continuous knob."""

from __future__ import annotations

import math

import pytest

from engine.search.isolation import isolation, of_sweep
from engine.store import RunStore
from tests.search import tiny_study

BASE = {"task": "regression", "epochs": 2, "data": {"n_train": 128, "n_test": 32}}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    path = tmp_path_factory.mktemp("isolation") / "runs.db"
    configs = [
        {**BASE, "learning_rate": lr, "batch_size": bs} for lr in (0.01, 1e-6) for bs in (16, 32)
    ]
    return RunStore(path), tiny_study.train_grid(path, configs, "sw-iso")


def test_best_per_value_of_a_grid_knob_over_the_others(grid):
    store, _ids = grid
    runs = {r["id"]: r for r in store.list_runs(sweep_id="sw-iso")}
    out = of_sweep(store, "sw-iso", "learning_rate")
    assert out["metric"] == "val_loss" and out["direction"] == "minimize"
    assert [r["value"] for r in out["rows"]] == [1e-6, 0.01]
    for row in out["rows"]:
        mine = [r for r in runs.values() if r["config"]["learning_rate"] == row["value"]]
        assert row["runs"] == row["completed"] == 2 and row["not_values"] == 0
        assert row["best"] == min(r["best"]["val_loss"] for r in mine)
        assert runs[row["run_id"]]["config"]["learning_rate"] == row["value"]
    slow, good = out["rows"]
    assert good["best"] < slow["best"]
    by_batch = of_sweep(store, "sw-iso", "batch_size")["rows"]
    assert [r["value"] for r in by_batch] == [16, 32]
    with pytest.raises(ValueError, match=r"no run of .sw-iso. sets .model\.nope."):
        of_sweep(store, "sw-iso", "model.nope")


def test_a_continuous_knob_is_binned_in_log_space_and_non_values_are_counted():
    pts = [(10.0 ** (-4 + i * 0.2), float(i % 5), f"r{i}", "completed") for i in range(16)]
    pts += [(2e-4, math.nan, "dv", "diverged"), (2e-4, 0.0, "pr", "pruned")]
    rows = isolation(pts, bins=3)
    assert len(rows) == 3
    assert rows[0]["bin"][0] == pytest.approx(1e-4) and rows[-1]["bin"][1] == pytest.approx(10**-1)
    assert rows[1]["bin"][0] == pytest.approx(10**-3)  # log-spaced edges
    assert sum(r["runs"] for r in rows) == len(pts)
    assert rows[0]["not_values"] == 2  # the diverged and the pruned run: never a value
    assert rows[0]["best"] == 0.0 and rows[0]["run_id"] == "r0"
    up = isolation(pts, bins=3, minimize=False)
    assert up[0]["best"] == 4.0
