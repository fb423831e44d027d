"""Studies on a real worker pool: every sampler runs a small study to the end, every
pruner prunes in a designed case (one good learning rate first, then hopeless ones),
pruned trials keep their partial curves, conditional parameters appear only when
their condition holds, and the same file and seed ask the same trials."""

from __future__ import annotations

import pytest

from engine.search import driver
from engine.search.report import report
from engine.search.space import parse_study
from engine.search.study import load, top_up
from engine.store import RunStore
from tests.search import tiny_study

BASE = {"task": "regression", "data": {"n_train": 128, "n_test": 32}}
SAMPLERS = {
    "tpe": {
        "optimizer.name": {"choice": ["sgd", "adam"]},
        "optimizer.momentum": {"uniform": [0.0, 0.9], "when": {"optimizer.name": "sgd"}},
        "learning_rate": {"log_uniform": [1e-3, 1e-1]},
    },
    "random": {"learning_rate": {"log_uniform": [1e-3, 1e-1]}, "batch_size": {"choice": [16, 32]}},
    "cmaes": {
        "learning_rate": {"log_uniform": [1e-3, 1e-1]},
        "model.dropout": {"uniform": [0, 0.3]},
    },
    "qmc": {"learning_rate": {"log_uniform": [1e-3, 1e-1]}, "model.depth": {"int": [1, 2]}},
    "grid": {"learning_rate": {"choice": [0.001, 0.01, 0.1]}},
}
# Seed 5 makes the grid ask 0.01 first, then ever smaller (worse) rates: every later
# trial is worse than every earlier one at every epoch.
HOPELESS = {"learning_rate": {"choice": [0.01, 3e-7, 2e-7, 1e-7]}}
PRUNERS = {
    "median": {"name": "median", "n_startup_trials": 1},
    "percentile": {"name": "percentile", "n_startup_trials": 1},
    "successive_halving": {"name": "successive_halving", "reduction_factor": 2},
    "hyperband": {"name": "hyperband", "reduction_factor": 2},
}


def sampler_study(name):
    search = {"sampler": name, "trials": 3, "seed": 1}
    return {"base": {**BASE, "epochs": 2}, "space": SAMPLERS[name], "search": search}


def pruner_study(name):
    search = {"sampler": "grid", "trials": 4, "seed": 5, "pruner": PRUNERS[name]}
    return {"base": {**BASE, "epochs": 3}, "space": HOPELESS, "search": search}


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """Every study of this module on one store and one single-worker pool (one worker:
    each study's trials run one after the other, so the designed pruning holds)."""
    path = tmp_path_factory.mktemp("study") / "runs.db"
    store = RunStore(path)
    ids = {}
    for kind, make, names in (("s", sampler_study, SAMPLERS), ("p", pruner_study, PRUNERS)):
        for name in names:
            sid = f"sw-{kind}{name[:8]}"
            driver.start(store, parse_study(make(name)), sid, slots=1)
            ids[(kind, name)] = sid
    tiny_study.train(path, *ids.values(), timeout=900)
    return store, ids


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_each_sampler_runs_a_small_study_to_the_end(studies, name):
    store, ids = studies
    sid = ids[("s", name)]
    runs = store.list_runs(sweep_id=sid)
    assert len(runs) == 3 and all(r["study_id"] == sid for r in runs)
    assert {r["status"] for r in runs} == {"completed"}, [(r["status"], r["error"]) for r in runs]
    rec = load(store, sid)
    assert sorted(t.number for t in rec.trials.values()) == [0, 1, 2]
    for r in runs:  # the config trained is the one the trial's values make
        values = rec.trials[r["id"]].params
        assert r["config"]["learning_rate"] == pytest.approx(values["learning_rate"])
    out = report(store, sid)
    assert out["best"]["run_id"] in {r["id"] for r in runs}
    assert out["best"]["value"] == min(r["best"]["val_loss"] for r in runs)
    if name == "grid":
        assert sorted(t.params["learning_rate"] for t in rec.trials.values()) == [0.001, 0.01, 0.1]


def test_conditional_params_appear_only_when_their_condition_holds(studies):
    store, ids = studies
    rec = load(store, ids[("s", "tpe")])
    for run in store.list_runs(sweep_id=ids[("s", "tpe")]):
        values = rec.trials[run["id"]].params
        assert ("optimizer.momentum" in values) == (values["optimizer.name"] == "sgd")
        assert run["config"]["optimizer"]["name"] == values["optimizer.name"]


@pytest.mark.parametrize("name", list(PRUNERS))
def test_each_pruner_prunes_hopeless_trials_which_keep_partial_curves(studies, name):
    store, ids = studies
    sid = ids[("p", name)]
    tiny_study.check_pruned_study(store, sid, name)


def _fake_train(store, plan) -> list[dict]:
    """Serve a study without TensorFlow: each trial scores a fixed function of its
    values, so only the asking is under test."""
    sid = "sw-repro"
    driver.start(store, plan, sid, slots=1)
    while True:
        claim = store.claim_next("local:test:1")
        if claim is None:
            break
        run_id, cfg = claim
        score = abs(cfg["learning_rate"] - 0.02) + cfg["batch_size"] / 1000
        store.append_epoch(
            run_id,
            {"epoch": 1, "values": {"val_loss": score}, "lr": 0.0, "epoch_time": 0.0,
             "examples_per_sec": 0.0, "wall_time": 0.0, "updates": 1},
        )  # fmt: skip
        store.finish(run_id, {"status": "completed", "test": {}, "predictions": None})
        top_up(store, sid, 1)
    rec = load(store, sid)
    return [t.params for t in sorted(rec.trials.values(), key=lambda t: t.number)]


@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc", "cmaes"])
def test_the_same_file_and_seed_ask_the_same_trials_in_the_same_order(tmp_path, sampler):
    space = {"learning_rate": {"log_uniform": [1e-4, 1e-1]}, "batch_size": {"choice": [16, 32, 64]}}
    sweep = {"base": {**BASE, "epochs": 1}, "space": space}
    plan = parse_study({**sweep, "search": {"sampler": sampler, "trials": 12, "seed": 7}})
    a = _fake_train(RunStore(tmp_path / "a.db"), plan)
    b = _fake_train(RunStore(tmp_path / "b.db"), plan)
    assert len(a) == 12 and a == b
    other = parse_study({**sweep, "search": {"sampler": sampler, "trials": 12, "seed": 8}})
    assert _fake_train(RunStore(tmp_path / "c.db"), other) != a
