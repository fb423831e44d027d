"""Sweep expansion: grid × repeats, names, dotted paths, field-named errors, all-or-nothing."""

from __future__ import annotations

import pytest
from executor_helpers import TINY

from engine.config import validate
from engine.errors import ConfigError
from engine.executor import LocalExecutor
from engine.sweep import MAX_RUNS, expand, submit_sweep

GRID = {
    "optimizer.name": ["sgd", "adam"],
    "learning_rate": [1e-3, 1e-2],
    "clipping.global_clipnorm": [1.0],
}


def _problems(sweep) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as e:
        expand(sweep)
    return e.value.problems


def test_grid_times_repeats_gives_every_combination_with_seed_repeats():
    runs = expand({"base": TINY, "grid": GRID, "repeats": 2})
    assert len(runs) == 2 * 2 * 1 * 2
    combos = {
        (r["config"]["optimizer"]["name"], r["config"]["learning_rate"], r["config"]["seed"])
        for r in runs
    }
    assert combos == {(o, lr, s) for o in ("sgd", "adam") for lr in (1e-3, 1e-2) for s in (42, 43)}
    assert all(r["config"]["clipping"] == {"global_clipnorm": 1.0} for r in runs)
    # Each generated config is the canonical (validated) one.
    assert all(validate(r["config"]) == r["config"] for r in runs)


def test_names_show_what_varies_and_the_seed():
    runs = expand({"base": TINY, "grid": GRID, "repeats": 2})
    names = [r["name"] for r in runs]
    assert "optimizer.name=sgd learning_rate=0.01 seed=43" in names
    assert len(set(names)) == len(names)
    assert not any("clipnorm" in n for n in names)  # a single value is not a difference
    assert runs[3]["overrides"] == {
        "optimizer.name": "sgd",
        "learning_rate": 0.01,
        "clipping.global_clipnorm": 1.0,
        "seed": 43,
    }


def test_repeats_count_from_the_base_seed():
    runs = expand({"base": {**TINY, "seed": 7}, "repeats": 3})
    assert [r["config"]["seed"] for r in runs] == [7, 8, 9]
    assert [r["name"] for r in runs] == ["seed=7", "seed=8", "seed=9"]


def test_no_grid_and_no_repeats_is_one_run_of_the_base():
    [run] = expand({"base": TINY})
    assert run["config"] == validate(TINY)
    assert run["name"] == "base"


def test_dotted_path_turns_a_string_identifier_into_an_object():
    runs = expand({"base": {**TINY, "optimizer": "sgd"}, "grid": {"optimizer.momentum": [0.5]}})
    assert runs[0]["config"]["optimizer"] == {"name": "sgd", "momentum": 0.5, "nesterov": False}


def test_dotted_path_into_a_missing_key_starts_from_the_task_default():
    # regression-5's document optimizer is SGD: sweeping momentum must keep SGD.
    runs = expand({"base": {"task": "regression-5"}, "grid": {"optimizer.momentum": [0.0, 0.9]}})
    assert [r["config"]["optimizer"]["name"] for r in runs] == ["sgd", "sgd"]
    assert [r["config"]["optimizer"]["momentum"] for r in runs] == [0.0, 0.9]


def test_changing_an_objects_name_drops_the_old_objects_parameters():
    base = {**TINY, "optimizer": {"name": "sgd", "momentum": 0.9}}
    runs = expand({"base": base, "grid": {"optimizer.name": ["sgd", "adam"]}})
    sgd, adam = (r["config"]["optimizer"] for r in runs)
    assert sgd["momentum"] == 0.9  # same name: the base's parameters stay
    assert adam["name"] == "adam" and "momentum" not in adam


def test_parent_paths_apply_before_child_paths():
    runs = expand({"base": TINY, "grid": {"optimizer.beta_1": [0.8], "optimizer.name": ["adam"]}})
    assert runs[0]["config"]["optimizer"]["beta_1"] == 0.8


def test_whole_objects_are_grid_values_too():
    grid = {"clipping": [{"clipvalue": 0.5}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}]}
    runs = expand({"base": TINY, "grid": grid})
    assert [r["config"]["clipping"] for r in runs] == grid["clipping"]
    assert runs[0]["name"] == 'clipping={"clipvalue":0.5}'


def test_overrides_apply_to_the_raw_base_so_automatic_lengths_follow():
    base = {**TINY, "schedule": {"name": "cosine_decay"}}
    runs = expand({"base": base, "grid": {"epochs": [2, 4], "batch_size": [20, 40]}})
    steps = {
        (r["config"]["epochs"], r["config"]["batch_size"]): r["config"]["schedule"]["decay_steps"]
        for r in runs
    }
    # 160 training examples (200 × 0.8): 8 or 4 updates per epoch.
    assert steps == {(2, 20): 16, (4, 20): 32, (2, 40): 8, (4, 40): 16}


@pytest.mark.parametrize(
    ("grid", "field"),
    [
        ({"optimizer.nme": [1]}, "grid.optimizer.nme"),
        ({"lerning_rate": [0.1]}, "grid.lerning_rate"),
        ({"learning_rate.x": [0.1]}, "grid.learning_rate.x"),
        ({"optimizer..name": ["sgd"]}, "grid.optimizer..name"),
        ({"task": ["regression-5"]}, "grid.task"),
        ({"learning_rate": []}, "grid.learning_rate"),
        ({"learning_rate": 0.1}, "grid.learning_rate"),
        ({"optimizer.name": ["sgd", "adm"]}, "grid.optimizer.name"),
        ({"learning_rate": [1e-3, 50]}, "grid.learning_rate"),
    ],
)
def test_bad_grid_entries_name_their_path(grid, field):
    problems = _problems({"base": TINY, "grid": grid})
    assert [f for f, _ in problems] == [field]


def test_a_bad_grid_value_says_which_value():
    [(field, msg)] = _problems({"base": TINY, "grid": {"learning_rate": [1e-3, 50]}})
    assert field == "grid.learning_rate" and "50" in msg


def test_base_problems_are_named_as_base_fields():
    problems = _problems({"base": {**TINY, "batch_size": 0}, "grid": {"learning_rate": [0.1]}})
    assert [f for f, _ in problems] == ["base.batch_size"]
    assert [f for f, _ in _problems({"base": {"epochs": 3}})] == ["base.task"]


def test_a_base_problem_in_only_some_runs_names_those_runs():
    sweep = {"base": {**TINY, "batch_size": 100}, "grid": {"data.n_train": [100, 1000]}}
    [(field, msg)] = _problems(sweep)
    assert field == "base.batch_size" and "(in data.n_train=100)" in msg


@pytest.mark.parametrize(
    ("sweep", "field"),
    [
        ([], "sweep"),
        ({"grid": {}}, "base"),
        ({"base": TINY, "repeats": 0}, "repeats"),
        ({"base": TINY, "repeats": True}, "repeats"),
        ({"base": TINY, "grdi": {}}, "grdi"),
        ({"base": TINY, "grid": ["learning_rate"]}, "grid"),
    ],
)
def test_malformed_sweeps_name_the_field(sweep, field):
    assert field in [f for f, _ in _problems(sweep)]


def test_a_sweep_larger_than_the_cap_is_refused_before_expanding():
    grid = {"learning_rate": [1e-3] * 40, "batch_size": [32] * 30}
    [(field, msg)] = _problems({"base": TINY, "grid": grid})
    assert field == "grid" and str(MAX_RUNS) in msg


def test_one_bad_value_queues_nothing(tmp_path):
    ex = LocalExecutor(tmp_path / "runs.db", workers=1)  # never started: queueing only
    with pytest.raises(ConfigError):
        submit_sweep(ex, {"base": TINY, "grid": {"learning_rate": [1e-3, 1e-2, 50]}})
    assert ex.store.list_runs() == []
    sweep_id, ids = submit_sweep(
        ex, {"base": TINY, "grid": {"learning_rate": [1e-3, 1e-2]}, "tags": ["lr"]}
    )
    runs = ex.store.list_runs(sweep_id=sweep_id)
    assert [r["id"] for r in runs] == ids
    assert [r["name"] for r in runs] == ["learning_rate=0.001", "learning_rate=0.01"]
    assert all(r["tags"] == ["lr"] and r["status"] == "queued" for r in runs)
