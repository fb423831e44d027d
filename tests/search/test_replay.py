"""Pruner replay on a real finished grid: one good learning rate launched first, then
hopeless ones. Every pruner, replayed over the stored curves, stops hopeless runs
between epochs, counts the epochs that would have saved, and keeps the winner."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.search.replay import replay
from engine.store import RunStore
from tests.search import tiny_study

EPOCHS = 4
BASE = {"task": "regression", "epochs": EPOCHS, "data": {"n_train": 128, "n_test": 32}}
RATES = [0.01, 3e-7, 2e-7, 1e-7]  # launch order: every later run is worse at every epoch
PRUNERS = {
    "median": {"name": "median", "n_startup_trials": 1},
    "percentile": {"name": "percentile", "n_startup_trials": 1},
    "successive_halving": {"name": "successive_halving", "reduction_factor": 2},
    "hyperband": {"name": "hyperband", "reduction_factor": 2},
}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "runs.db"
    configs = [{**BASE, "learning_rate": lr} for lr in RATES]
    return path, tiny_study.train_grid(path, configs, "sw-grid")


@pytest.mark.parametrize("name", list(PRUNERS))
def test_each_pruner_replayed_on_a_finished_grid_stops_the_hopeless_runs(grid, name):
    path, ids = grid
    store = RunStore(path)
    out = replay(store, "sw-grid", PRUNERS[name])
    assert out["metric"] == "val_loss" and out["direction"] == "minimize"
    assert [r["run_id"] for r in out["runs"]] == ids  # launch order
    first, *rest = out["runs"]
    assert first["stopped_at"] is None and first["epochs_saved"] == 0
    stopped = [r for r in rest if r["stopped_at"] is not None]
    assert stopped, out["runs"]
    for r in out["runs"]:
        if r["stopped_at"] is not None:
            assert 1 <= r["stopped_at"] < EPOCHS
            assert r["epochs_saved"] == EPOCHS - r["stopped_at"]
    assert out["stopped"] == len(stopped)
    assert out["epochs_trained"] == EPOCHS * len(ids)
    assert out["epochs_saved"] == sum(r["epochs_saved"] for r in out["runs"]) > 0
    assert out["saved_fraction"] == pytest.approx(out["epochs_saved"] / out["epochs_trained"])
    w = out["winner"]
    assert w["run_id"] == ids[0] and w["survives"] is True and w["stopped_at"] is None
    assert out["best_surviving"]["run_id"] == ids[0]
    assert w["value"] == min(r["best"]["val_loss"] for r in store.list_runs(sweep_id="sw-grid"))


def test_median_replay_stops_every_hopeless_run_at_its_first_epoch(grid):
    """Median with one startup trial: each later run's epoch-1 loss is worse than the
    winner's, so all three stop at epoch 1."""
    path, _ids = grid
    out = replay(RunStore(path), "sw-grid", PRUNERS["median"])
    assert [r["stopped_at"] for r in out["runs"]] == [None, 1, 1, 1]
    assert out["epochs_saved"] == 3 * (EPOCHS - 1)


def test_with_more_startup_trials_than_runs_nothing_is_stopped(grid):
    """Median's default waits for 5 trials to complete: on 4 runs it never prunes."""
    path, ids = grid
    out = replay(RunStore(path), "sw-grid", "median")
    assert out["pruner"]["n_startup_trials"] == 5
    assert [r["stopped_at"] for r in out["runs"]] == [None] * len(ids)
    assert out["epochs_saved"] == 0 and out["stopped"] == 0 and out["winner"]["survives"]


def test_replay_cli_json_and_text(grid, capsys):
    path, ids = grid
    assert main(["replay", "sw-grid", "--pruner", "hyperband", "--store", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pruner"]["name"] == "hyperband" and len(out["runs"]) == len(ids)
    assert main(["replay", "sw-grid", "--store", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("replay of sw-grid through median on val_loss:")
    assert "winner" in text
    assert main(["replay", "sw-nope", "--store", str(path)]) == 2
    assert "no sweep or study 'sw-nope'" in capsys.readouterr().err
    argv = ["replay", "sw-grid", "--store", str(path), "--json", "--arg", "n_startup_trials=1"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["stopped_at"] for r in out["runs"]] == [None, 1, 1, 1]
    assert main([*argv[:-1], "n_startup_trials=-1"]) == 2
    assert "n_startup_trials" in capsys.readouterr().err
    assert main([*argv[:-1], "nope"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_replaying_a_study_through_its_own_pruner_stops_what_it_stopped(tmp_path):
    """A real study pruned live by median: replaying its stored (partial) curves
    through the same rule stops the same trials at the same epochs, saves nothing
    more, and reads the study's own metric."""

    path = tmp_path / "runs.db"
    store = RunStore(path)
    pruner = PRUNERS["median"]
    sweep = {
        "base": {**BASE, "epochs": 3},
        "space": {"learning_rate": {"choice": [0.01, 3e-7, 2e-7, 1e-7]}},
        "search": {"sampler": "grid", "trials": 4, "seed": 5, "pruner": pruner},
    }
    tiny_study.queue(store, "sw-live", sweep)
    tiny_study.train(path, "sw-live")
    runs = store.list_runs(sweep_id="sw-live")
    live = {r["id"]: (r["result"] or {}).get("pruned", {}).get("epoch") for r in runs}
    assert sum(e is not None for e in live.values()) >= 1, [r["status"] for r in runs]
    out = replay(store, "sw-live", pruner)
    assert out["metric"] == "val_loss"
    assert {r["run_id"]: r["stopped_at"] for r in out["runs"]} == live
    assert out["epochs_saved"] == 0
    assert out["winner"]["survives"] and out["winner"]["run_id"] == runs[0]["id"]
