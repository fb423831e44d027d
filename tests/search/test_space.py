"""The space and search blocks: parsed into typed records that round-trip as JSON,
or refused before anything is queued with the field named, never a traceback."""

from __future__ import annotations

import json

import pytest
from hypothesis import strategies as st

from engine.cli import main
from engine.errors import ConfigError
from engine.search.samplers import importable
from engine.search.space import StudyPlan, parse_study
from tests.fuzz_strategies import check_refusal, fuzz_outcomes

BASE = {"task": "regression", "epochs": 3, "data": {"n_train": 128, "n_test": 32}}
SPACE = {
    "learning_rate": {"log_uniform": [1e-4, 1e-1]},
    "optimizer.name": {"choice": ["sgd", "adam", "rmsprop"]},
    "batch_size": {"choice": [16, 32, 64]},
    "optimizer.momentum": {"uniform": [0.0, 0.95], "when": {"optimizer.name": "sgd"}},
    "model.depth": {"int": [1, 3]},
}


def study(space=None, search=None, **over):
    return {"base": BASE, "space": space or SPACE, "search": search or {}, **over}


def fields(sweep) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_study(sweep)
    check_refusal(e.value)
    return e.value.fields


def test_the_issue_example_parses_with_the_metric_direction_from_the_registry():
    plan = parse_study(study(search={"sampler": "tpe", "trials": 24, "pruner": "median"}))
    assert [p.path for p in plan.params][:2] == ["learning_rate", "optimizer.name"]
    assert plan.search.metric == "val_loss" and plan.search.direction == "minimize"
    assert plan.search.pruner.name == "median" and plan.search.pruner.args["n_startup_trials"] == 5
    acc = parse_study(
        {**study(), "base": {**BASE, "task": "binary-20"}, "search": {"metric": "val_accuracy"}}
    )
    assert acc.search.direction == "maximize"
    assert StudyPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


def test_a_conditional_param_is_set_only_when_its_condition_holds():
    plan = parse_study(study())
    momentum = next(p for p in plan.params if p.path == "optimizer.momentum")
    assert momentum.active({"optimizer.name": "sgd"})
    assert not momentum.active({"optimizer.name": "adam"})
    cfg = plan.config({"learning_rate": 0.01, "optimizer.name": "adam", "batch_size": 16})
    assert cfg["optimizer"]["name"] == "adam" and "momentum" not in cfg["optimizer"]


@pytest.mark.parametrize(
    ("space", "field"),
    [
        ({"nope.x": {"uniform": [0, 1]}}, "space.nope.x"),
        ({"learning_rate": {"uniform": [0.1, 20.0]}}, "space.learning_rate"),  # Param's bound
        ({"optimizer.name": {"choice": ["sgd", "nesterovish"]}}, "space.optimizer.name"),
        ({"learning_rate": {"uniform": [0.1, 0.01]}}, "space.learning_rate.uniform"),
        ({"learning_rate": {"log_uniform": [0, 0.1]}}, "space.learning_rate.log_uniform"),
        ({"batch_size": {"int": [8, 64], "log": True, "step": 2}}, "space.batch_size.step"),
        ({"learning_rate": {"uniform": [0.1, 0.2], "choice": [1]}}, "space.learning_rate"),
        ({"learning_rate": {"normal": [0, 1]}}, "space.learning_rate.normal"),
        (
            {"optimizer.momentum": {"uniform": [0, 0.9], "when": {"optimizer.name": "sgd"}}},
            "space.optimizer.momentum.when",  # names a param that is not in the space
        ),
        (
            {
                "learning_rate": {"uniform": [0.01, 0.1]},
                "optimizer.momentum": {"uniform": [0, 0.9], "when": {"learning_rate": 0.01}},
            },
            "space.optimizer.momentum.when",  # not a choice
        ),
        (
            # momentum on Adam: a combination the space can reach that cannot train
            {
                "optimizer.name": {"choice": ["sgd", "adam"]},
                "optimizer.momentum": {"uniform": [0, 0.9]},
            },
            "space.optimizer.momentum",
        ),
        ({"seed": {"int": [0, 10]}}, "space.seed"),
    ],
)
def test_a_bad_space_names_its_field(space, field):
    assert field in fields(study(space))


@pytest.mark.parametrize(
    ("search", "field"),
    [
        ({"sampler": "bayes"}, "search.sampler"),
        ({"pruner": "asha"}, "search.pruner"),
        ({"pruner": {"name": "median", "n_startup_trials": -1}}, "search.pruner.n_startup_trials"),
        ({"trials": 0}, "search.trials"),
        ({"trials": 2.5}, "search.trials"),
        ({"metric": "val_accuracy"}, "search.metric"),  # regression logs no accuracy
        ({"seed": -1}, "search.seed"),
        ({"sampler": "grid"}, "space.learning_rate"),  # a continuous range has no grid
        ({"colour": "red"}, "search.colour"),
    ],
)
def test_a_bad_search_names_its_field(search, field):
    assert field in fields(study(search=search))


def test_grid_and_space_are_exclusive_and_search_needs_a_space():
    assert "grid" in fields({**study(), "grid": {"learning_rate": [0.1]}})
    assert "search" in fields({"base": BASE, "search": {"sampler": "tpe"}})
    assert "repeats" in fields(study(repeats=0))


def test_repeats_give_each_trial_its_seeds_and_refuse_a_pruner_or_too_many_runs():
    plan = parse_study(study(repeats=3, search={"trials": 4}))
    assert plan.repeats == 3
    assert StudyPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    values = {"learning_rate": 0.01, "optimizer.name": "adam", "batch_size": 16, "model.depth": 1}
    assert [c["seed"] for c in plan.configs(values)] == [42, 43, 44]  # the task's seed up
    seeded = parse_study({**study(repeats=2), "base": {**BASE, "seed": 7}})
    assert [c["seed"] for c in seeded.configs(values)] == [7, 8]
    assert [
        c["seed"] for c in parse_study({**study(), "base": {**BASE, "seed": 7}}).configs(values)
    ] == [7]
    assert fields(study(repeats=2, search={"pruner": "median"})) == ["search.pruner"]
    assert fields(study(repeats=100, search={"trials": 11})) == ["search.trials"]


@pytest.mark.skipif(importable("torch"), reason="torch is installed: gp runs")
def test_gp_without_torch_is_refused_up_front_saying_what_to_do():
    with pytest.raises(ConfigError) as e:
        parse_study(study(search={"sampler": "gp"}))
    assert e.value.problems == [
        (
            "search.sampler",
            "gp needs PyTorch, which is not installed here: pip install torch,"
            " or choose tpe/random/cmaes/qmc/grid",
        )
    ]


def test_an_invalid_space_queues_nothing(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(study({"learning_rate": {"uniform": [0.1, 20.0]}})))
    store = tmp_path / "runs.db"
    assert main(["sweep", str(path), "--store", str(store), "--detach"]) == 2
    assert "space.learning_rate" in capsys.readouterr().err
    assert not store.exists()  # refused before the store was even opened


# ---------------------------------------------------------------- fuzz

PATHS = ["learning_rate", "optimizer.name", "optimizer.momentum", "batch_size", "model.width",
         "model.dropout", "epochs", "nope", "", "task", "schedule.name", 7]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.sampled_from([0.0, 1e-4, 0.5, 0.95, 1.5, 1e9]),
    st.floats(allow_nan=True),
    st.sampled_from(["sgd", "adam", "x", ""]),
)


@st.composite
def param_spec(draw):
    kind = draw(st.sampled_from(["uniform", "log_uniform", "int", "choice", "junk"]))
    if kind == "junk":
        return draw(
            st.one_of(
                SCALARS,
                st.lists(SCALARS, max_size=3),
                st.dictionaries(st.text(max_size=4), SCALARS, max_size=2),
            )
        )
    if kind == "choice":
        spec = {"choice": draw(st.one_of(st.lists(SCALARS, max_size=4), SCALARS))}
    else:
        spec = {
            kind: draw(
                st.one_of(
                    st.lists(SCALARS, min_size=2, max_size=2),
                    st.lists(SCALARS, max_size=3),
                    SCALARS,
                )
            )
        }
    if draw(st.booleans()):
        spec["step" if draw(st.booleans()) else "log"] = draw(SCALARS)
    if draw(st.integers(0, 3)) == 0:
        spec["when"] = draw(
            st.one_of(st.dictionaries(st.sampled_from(PATHS[:3]), SCALARS, max_size=2), SCALARS)
        )
    return spec


PLAUSIBLE = {
    "learning_rate": [
        {"log_uniform": [1e-4, 0.1]},
        {"uniform": [0.001, 0.5]},
        {"choice": [0.01, 0.1]},
    ],
    "optimizer.name": [{"choice": ["sgd", "adam"]}, {"choice": ["rmsprop"]}],
    "batch_size": [
        {"choice": [16, 32]},
        {"int": [8, 64], "step": 8},
        {"int": [8, 64], "log": True},
    ],
    "model.depth": [{"int": [1, 3]}],
    "model.dropout": [{"uniform": [0.0, 0.5]}],
}


@st.composite
def plausible_space(draw):
    keys = draw(st.lists(st.sampled_from(list(PLAUSIBLE)), min_size=1, max_size=4, unique=True))
    return {k: draw(st.sampled_from(PLAUSIBLE[k])) for k in keys}


@st.composite
def search_sweep(draw):
    wild = st.one_of(st.dictionaries(st.sampled_from(PATHS), param_spec(), max_size=4), SCALARS)
    space = draw(plausible_space() if draw(st.booleans()) else wild)
    search = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "sampler": st.sampled_from(["tpe", "random", "cmaes", "qmc", "grid", "gp", "x", 3]),
                "pruner": st.sampled_from(
                    [
                        None,
                        "none",
                        "median",
                        "hyperband",
                        "successive_halving",
                        "percentile",
                        "x",
                        {"name": "median", "n_warmup_steps": 2},
                    ]
                ),
                "trials": st.one_of(st.integers(-2, 2000), SCALARS),
                "metric": st.sampled_from(["val_loss", "loss", "val_mae", "accuracy", 1]),
                "seed": st.one_of(st.integers(-1, 2**33), SCALARS),
            },
        )
    )
    if draw(st.booleans()):  # a plausible search block half the time
        search = {"sampler": draw(st.sampled_from(["tpe", "random", "qmc"])), "trials": 5}
    return {"base": BASE, "space": space, "search": search}


def _round_trips(raw):
    plan = parse_study(raw)
    assert StudyPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


def test_any_space_is_parsed_or_refused_by_field():
    outcomes = fuzz_outcomes("space", search_sweep(), _round_trips)
    assert outcomes["accepted"] >= 10
