"""``search.sampler`` as a name or ``{"name", **Optuna arguments}``: each registry
entry checks its arguments (names, types, ranges, pairs Optuna refuses together) with
field-named errors, the filled spec round-trips as JSON through the store, reaches
the Optuna sampler, and the same seed asks the same trials."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.search import driver, samplers
from engine.search.samplers import SAMPLERS, importable, parse_sampler
from engine.search.space import StudyPlan, parse_study
from engine.search.study import load
from engine.store import RunStore
from tests.fuzz_strategies import NASTY, REFUSED, check_refusal, fuzz_outcomes, params_object

BASE = {"task": "binary-20", "epochs": 2, "data": {"n_train": 64, "n_test": 16}}
SPACE = {
    "learning_rate": {"log_uniform": [1e-3, 1e-1]},
    "optimizer.name": {"choice": ["sgd", "adam", "rmsprop"]},
}
TPE = {"name": "tpe", "multivariate": True, "n_startup_trials": 5}


def study(sampler, **search):
    return {"base": BASE, "space": SPACE, "search": {"sampler": sampler, "trials": 6, **search}}


def refused(sampler) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_study(study(sampler))
    check_refusal(e.value)
    return [f for f, _ in e.value.problems]


def test_a_sampler_object_sets_optuna_arguments_checked_and_filled():
    s = parse_study(study(TPE)).search
    assert s.sampler == "tpe"
    assert s.sampler_args == {
        "n_startup_trials": 5,
        "n_ei_candidates": 24,
        "multivariate": True,
        "group": False,
        "constant_liar": True,
    }
    built = samplers.make(s.sampler, s.seed, 3, {}, s.sampler_args)
    assert built._n_startup_trials == 5 and built._multivariate is True
    # A bare name is the same entry with Optuna's defaults.
    assert parse_study(study("tpe")).search.sampler_args["n_startup_trials"] == 10
    assert parse_study(study({"name": "random"})).search.sampler_args == {}


@pytest.mark.parametrize(
    ("sampler", "field"),
    [
        ({"name": "tpe", "n_startup_trials": "5"}, "search.sampler.n_startup_trials"),
        ({"name": "tpe", "n_startup_trials": -1}, "search.sampler.n_startup_trials"),
        ({"name": "tpe", "multivariate": "yes"}, "search.sampler.multivariate"),
        ({"name": "tpe", "seed": 3}, "search.sampler.seed"),  # the study's seed is search.seed
        ({"name": "tpe", "group": True, "multivariate": False}, "search.sampler.group"),
        ({"name": "random", "n_startup_trials": 1}, "search.sampler.n_startup_trials"),
        ({"name": "cmaes", "popsize": 1}, "search.sampler.popsize"),
        ({"name": "cmaes", "use_separable_cma": True, "with_margin": True}, "search.sampler"),
        ({"name": "qmc", "qmc_type": "lhs"}, "search.sampler.qmc_type"),
        ({"name": "bayes"}, "search.sampler.name"),
        ({"name": 3}, "search.sampler.name"),
        ({"multivariate": True}, "search.sampler.name"),
        ("bayes", "search.sampler"),
        (3, "search.sampler"),
    ],
)
def test_bad_sampler_arguments_are_refused_naming_the_field(sampler, field):
    fields = refused(sampler)
    assert any(f.startswith(field) for f in fields), fields


def test_every_entry_builds_its_optuna_sampler_with_its_defaults():
    grid = {"learning_rate": [0.01], "optimizer.name": ["sgd"]}
    for name, s in SAMPLERS.items():
        if s.needs and not importable(s.needs):
            continue
        spec = parse_sampler(name)
        assert set(spec.args) == set(s.entry.params)
        built = samplers.make(name, 0, 0, grid, spec.args)
        assert type(built).__name__ == s.entry.target.split(":")[1]


def test_sampler_arguments_round_trip_through_the_store(tmp_path):
    plan = parse_study(study(TPE, seed=4))
    assert StudyPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    store = RunStore(tmp_path / "runs.db")
    driver.start(store, plan, "sw-samplerargs", slots=1)
    assert load(store, "sw-samplerargs").plan.search == plan.search
    # A plan stored before samplers took arguments loads with Optuna's defaults' stand-in.
    old = plan.to_json()
    del old["search"]["sampler_args"]
    assert StudyPlan.from_json(old).search.sampler_args == {}


def _ask_tell(search: dict, n: int) -> list[dict]:
    """``n`` trials of a study made from the registry for every ask (as ``top_up``
    does), told a smooth objective so the model past the startup trials matters."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = parse_study(study(**search)).search
    st_ = optuna.create_study(direction="minimize")
    for number in range(n):
        st_.sampler = samplers.make(s.sampler, s.seed, number, {}, s.sampler_args)
        trial = st_.ask()
        lr = trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)
        opt = trial.suggest_categorical("optimizer.name", ["sgd", "adam", "rmsprop"])
        st_.tell(trial, (math.log10(lr) + 2) ** 2 + (opt != "adam"))
    return [t.params for t in st_.trials]


def test_the_same_sampler_object_and_seed_ask_the_same_trials():
    tpe = {**TPE, "n_startup_trials": 3}
    a = _ask_tell({"sampler": tpe, "seed": 7}, 8)
    assert a == _ask_tell({"sampler": tpe, "seed": 7}, 8)
    assert a != _ask_tell({"sampler": tpe, "seed": 8}, 8)
    # The arguments matter: past 3 startup trials the model asks other points than
    # Optuna's default 10 random ones would.
    assert a[3:] != _ask_tell({"sampler": "tpe", "seed": 7}, 8)[3:]


def _sampler_case():
    names = [*SAMPLERS, "bayes", ""]

    @st.composite
    def build(draw):
        name = draw(st.sampled_from(names))
        params = SAMPLERS[name].entry.params if name in SAMPLERS else {}
        plausible = draw(st.booleans())
        out = {"name": name, **draw(params_object(params, plausible=plausible))}
        if draw(st.integers(0, 9)) == 0:
            del out["name"]
        return out

    return st.one_of(build(), st.sampled_from([*SAMPLERS, *NASTY[:20]]))


def _accept(sampler):
    plan = parse_study(study(sampler))
    s = plan.search
    assert StudyPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    if s.sampler in ("grid", "gp"):  # grid: no continuous range here; gp: torch
        return s.sampler
    samplers.make(s.sampler, s.seed, 0, {}, s.sampler_args)  # Optuna accepts the arguments
    return "accepted"


def test_any_sampler_object_gives_a_spec_or_a_field_named_error():
    outcomes = fuzz_outcomes("sampler", _sampler_case(), _accept)
    assert outcomes["accepted"] >= 100 and outcomes[REFUSED] >= 100, outcomes
