"""Edge warnings: the best trial at the edge of a numeric knob's range says which way
to extend it (log ranges judged in log space), and ``engine study --json`` carries it."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.search.edges import edge_warnings
from engine.search.space import parse_space
from tests.search import tiny_study

SPACE = parse_space(
    {
        "learning_rate": {"log_uniform": [1e-4, 1e-1]},
        "model.dropout": {"uniform": [0.0, 0.5]},
        "model.depth": {"int": [1, 4]},
        "batch_size": {"choice": [16, 32, 64, 128]},
        "optimizer.name": {"choice": ["sgd", "adam"]},
        "optimizer.momentum": {"uniform": [0.0, 0.9], "when": {"optimizer.name": "sgd"}},
    }
)
MIDDLE = {
    "learning_rate": 3e-3,
    "model.dropout": 0.25,
    "model.depth": 2,
    "batch_size": 32,
    "optimizer.name": "adam",
}


def _by_param(best):
    return {w["param"]: w for w in edge_warnings(SPACE, best)}


def test_a_best_trial_inside_every_range_warns_of_nothing():
    assert edge_warnings(SPACE, MIDDLE) == []


def test_the_top_of_a_log_range_says_extend_above():
    [w] = edge_warnings(SPACE, {**MIDDLE, "learning_rate": 0.08})
    assert w["param"] == "learning_rate" and w["side"] == "high" and w["bound"] == 0.1
    assert w["message"].startswith("extend learning_rate above 0.1 (")
    assert "top 10% of the log range [0.0001, 0.1]" in w["message"]


def test_log_ranges_are_judged_in_log_space():
    # 0.06 is 60% of the way up [1e-4, 0.1] linearly, 93% of the way in log space
    assert "learning_rate" in _by_param({**MIDDLE, "learning_rate": 0.06})
    # 1.5e-4 is at the bottom linearly and in log space (6%): extend below
    w = _by_param({**MIDDLE, "learning_rate": 1.5e-4})["learning_rate"]
    assert w["side"] == "low" and w["message"].startswith("extend learning_rate below 0.0001")
    # 3e-3 is 3% of the way linearly but half way in log space: no warning
    assert "learning_rate" not in _by_param({**MIDDLE, "learning_rate": 3e-3})


def test_linear_int_and_numeric_choice_edges():
    w = _by_param({**MIDDLE, "model.dropout": 0.0, "model.depth": 4, "batch_size": 16})
    assert w["model.dropout"]["message"].startswith("extend model.dropout below 0 (")
    assert w["model.depth"]["message"].startswith("extend model.depth above 4 (")
    assert w["batch_size"]["side"] == "low"
    assert "smallest of 4 choices" in w["batch_size"]["message"]
    assert "optimizer.name" not in w  # not a number


def test_an_inactive_conditional_knob_and_a_wider_fraction():
    assert "optimizer.momentum" not in _by_param(MIDDLE)  # adam: no momentum drawn
    sgd = {**MIDDLE, "optimizer.name": "sgd", "optimizer.momentum": 0.85}
    assert _by_param(sgd)["optimizer.momentum"]["side"] == "high"
    assert edge_warnings(SPACE, {**MIDDLE, "model.dropout": 0.1}) == []
    assert [w["param"] for w in edge_warnings(SPACE, {**MIDDLE, "model.dropout": 0.1}, 0.25)] == [
        "model.dropout"
    ]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A real grid study whose best learning rate is the largest of its choices."""
    path = tmp_path_factory.mktemp("edges") / "runs.db"
    sweep = {
        "base": {"task": "regression", "epochs": 2, "data": {"n_train": 128, "n_test": 32}},
        "space": {"learning_rate": {"choice": [1e-7, 1e-6, 0.01]}},
        "search": {"sampler": "grid", "trials": 3, "seed": 0},
    }
    tiny_study.run_study(path, "sw-edges", sweep)
    return path


def test_engine_study_json_carries_the_edge_warning(study, capsys):
    assert main(["study", "sw-edges", "--store", str(study), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"]["params"] == {"learning_rate": 0.01}
    [w] = out["edges"]
    assert w["param"] == "learning_rate" and w["side"] == "high"
    assert w["message"].startswith("extend learning_rate above 0.01 (")
    assert main(["study", "sw-edges", "--store", str(study)]) == 0
    assert "warning: extend learning_rate above 0.01" in capsys.readouterr().out
