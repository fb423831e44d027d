"""``repeats`` with a search: each sampled trial is trained at ``repeats`` seeds, Optuna
is told the mean over them, and ``engine runs --sweep ID --json`` says which runs
belong to which trial. A real ``engine sweep`` on a real pool."""

from __future__ import annotations

import json

import pytest

from engine.search.report import report
from engine.search.study import rebuild
from engine.store import RunStore
from tests.proc_helpers import engine_cli

BASE = {"task": "regression", "epochs": 2, "data": {"n_train": 128, "n_test": 32}}


def test_each_trial_trains_at_its_seeds_and_optuna_is_told_the_mean(tmp_path):
    sweep = {
        "base": BASE,
        "space": {"learning_rate": {"log_uniform": [1e-3, 1e-1]}},
        "search": {"sampler": "random", "trials": 2, "seed": 3},
        "repeats": 3,
    }
    path, db = tmp_path / "search.json", tmp_path / "runs.db"
    path.write_text(json.dumps(sweep))
    out = engine_cli("sweep", path, "--workers", "1", "--store", db, "--json", timeout=600)
    assert out.returncode == 0, out.stderr
    sid = json.loads(out.stdout)["sweep_id"]

    out = engine_cli("runs", "--sweep", sid, "--store", db, "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["runs"]
    assert len(listed) == 6 and {r["status"] for r in listed} == {"completed"}
    by_trial: dict[int, list[dict]] = {}
    for r in listed:
        by_trial.setdefault(r["trial"]["number"], []).append(r)
    assert sorted(by_trial) == [0, 1]

    store = RunStore(db)
    study = rebuild(store, sid)
    for number, members in by_trial.items():
        ids = sorted(r["id"] for r in members)
        assert [r["trial"]["repeat"] for r in members] == [0, 1, 2]
        assert all(
            sorted(r["trial"]["runs"]) == ids and r["trial"]["repeats"] == 3 for r in members
        )
        assert len({json.dumps(r["trial"]["params"]) for r in members}) == 1  # one trial's values
        configs = [store.get_run(r["id"])["config"] for r in members]
        assert [c["seed"] for c in configs] == [42, 43, 44]  # the task's seed, counted up
        lr = members[0]["trial"]["params"]["learning_rate"]
        assert all(c["learning_rate"] == pytest.approx(lr) for c in configs)
        # Optuna's trial: the mean over the seeds, per epoch and as its value
        t = study.trials[number]
        assert t.state.name == "COMPLETE"
        bests = [r["best"]["val_loss"] for r in members]
        assert t.value == pytest.approx(sum(bests) / 3)
        for epoch in (1, 2):
            per_seed = [
                store.epoch_series(r["id"], keys=["val_loss"])[r["id"]]["val_loss"].value[epoch - 1]
                for r in members
            ]
            assert t.intermediate_values[epoch] == pytest.approx(sum(per_seed) / 3)
    assert len({r["name"] for r in listed}) == 6  # each run's name says its seed

    rep = report(store, sid)
    assert rep["trials"]["asked"] == 2 and rep["trials"]["completed"] == 6
    assert rep["best"]["value"] == pytest.approx(min(t.value for t in study.trials))
    assert sorted(rep["best"]["run_ids"]) == sorted(
        r["id"] for r in by_trial[rep["best"]["number"]]
    )
