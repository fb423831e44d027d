"""The config contract: defaults, canonical form, and a field-named error for every
bad input, before anything trains."""

import copy
import json
import math

import pytest

from engine.config import TOP_LEVEL, defaults_for, shape_of, validate
from engine.errors import ConfigError
from engine.spec.tasks import TASKS


@pytest.mark.parametrize("task", sorted(TASKS))
def test_defaults_are_canonical_fixed_points(task):
    cfg = defaults_for(task)
    assert list(cfg) == list(TOP_LEVEL)
    assert validate(copy.deepcopy(cfg)) == cfg
    assert json.loads(json.dumps(cfg)) == cfg  # plain JSON


def test_document_defaults():
    c = defaults_for("multiclass-10")
    assert c["optimizer"] == {
        "name": "adamw",
        "weight_decay": 1e-4,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
    }
    assert c["clipping"] == {"global_clipnorm": 1.0}
    assert c["loss"] == {"name": "sparse_categorical_crossentropy", "from_logits": True}
    assert c["schedule"] == {
        "name": "warmup_cosine",
        "warmup_steps": 237,
        "total_steps": 2370,
        "alpha": 0.0,
    }
    assert set(c["callbacks"]) == {"early_stopping", "reduce_lr_on_plateau"}
    assert (c["epochs"], c["batch_size"], c["precision"]) == (30, 64, "mixed_float16")
    s = defaults_for("sequence")
    assert s["clipping"] == {"global_clipnorm": 1.0} and s["data"]["learnable"] is False
    r = defaults_for("regression-5")
    assert r["optimizer"]["name"] == "sgd" and r["learning_rate"] == 0.01 and r["epochs"] == 20


def test_shape_counts_updates_after_accumulation():
    cfg = validate({"task": "regression", "batch_size": 32, "grad_accum_steps": 4, "epochs": 3})
    s = shape_of(cfg)
    assert (s.n_train, s.n_val, s.steps_per_epoch) == (800, 200, 25)
    assert s.total_updates == 75 // 4


def test_auto_schedule_lengths_follow_the_run():
    a = validate({"task": "regression", "schedule": "cosine_decay", "epochs": 4})
    assert a["schedule"]["decay_steps"] == 100
    b = validate(
        {
            "task": "regression",
            "schedule": {"name": "cosine_decay", "warmup_steps": 10},
            "epochs": 4,
            "batch_size": 16,
        }
    )
    assert b["schedule"]["decay_steps"] == 200 - 10


def test_string_and_object_identifiers_agree():
    a = validate({"task": "regression", "optimizer": "sgd", "loss": "huber"})
    b = validate(
        {
            "task": "regression",
            "optimizer": {"name": "SGD"},
            "loss": {"name": "huber", "delta": 1.0},
        }
    )
    assert a == b


BAD = [
    ({"task": "nope"}, "task", "unknown task"),
    ({"bogus": 1}, "bogus", "unknown key"),
    (
        {"optimizer": {"name": "sgd", "momentum": 1.5}},
        "optimizer.momentum",
        "must be in [0, 1), got 1.5",
    ),
    ({"optimizer": {"name": "sgd", "nesterov": "yes"}}, "optimizer.nesterov", "true or false"),
    ({"optimizer": "adamx"}, "optimizer", "unknown optimizer"),
    ({"optimizer": {"name": "adam", "betas": 1}}, "optimizer.betas", "unknown key"),
    ({"optimizer": 3}, "optimizer", "could not interpret"),
    ({"learning_rate": math.nan}, "learning_rate", "finite"),
    ({"learning_rate": math.inf}, "learning_rate", "finite"),
    ({"learning_rate": -1e-3}, "learning_rate", "must be in"),
    ({"learning_rate": "0.1"}, "learning_rate", "must be a number"),
    ({"batch_size": 0}, "batch_size", "must be in"),
    ({"batch_size": 2.5}, "batch_size", "integer"),
    ({"batch_size": True}, "batch_size", "integer"),
    ({"batch_size": 5000}, "batch_size", "training examples"),
    ({"epochs": 0}, "epochs", "must be in"),
    ({"epochs": 100000}, "epochs", "must be in"),
    ({"grad_accum_steps": 0}, "grad_accum_steps", "must be in"),
    ({"clipping": {"clipnorm": 1.0, "clipvalue": 0.5}}, "clipping", "exactly one"),
    ({"clipping": {"clipnorm": 0}}, "clipping.clipnorm", "must be in"),
    ({"clipping": {"clip": 1.0}}, "clipping.clip", "unknown clipping mode"),
    ({"clipping": 1.0}, "clipping", "must be null or an object"),
    ({"precision": "float64"}, "precision", "must be one of"),
    ({"loss": "binary_crossentropy"}, "loss", "does not fit regression"),
    ({"loss": {"name": "huber", "delta": -1}}, "loss.delta", "must be in"),
    ({"metrics": ["accuracy"]}, "metrics[0]", "does not fit regression"),
    ({"metrics": ["mae", "mae"]}, "metrics[1]", "duplicate"),
    ({"metrics": "mae"}, "metrics", "must be a list"),
    (
        {"schedule": {"name": "exponential_decay", "decay_rate": 0}},
        "schedule.decay_rate",
        "must be in",
    ),
    (
        {
            "schedule": {
                "name": "piecewise_constant",
                "boundaries": [5, 3],
                "factors": [1, 0.5, 0.1],
            }
        },
        "schedule.boundaries",
        "increasing",
    ),
    (
        {"schedule": {"name": "piecewise_constant", "boundaries": [5], "factors": [1]}},
        "schedule.factors",
        "one more item",
    ),
    ({"schedule": {"decay_steps": 3}}, "schedule.name", "is required"),
    (
        {"schedule": {"name": "warmup_cosine", "warmup_steps": 500, "total_steps": 100}},
        "schedule.warmup_steps",
        "must be < total_steps",
    ),
    ({"validation_split": 1.5}, "validation_split", "must be in"),
    ({"seed": -1}, "seed", "must be in"),
    ({"seed": 1.5}, "seed", "integer"),
    ({"data": {"n_train": 10**9}}, "data.n_train", "must be in"),
    ({"data": {"n_train": 4}}, "data.n_train", "must be in"),
    ({"data": {"noise": -0.1}}, "data.noise", "must be in"),
    ({"data": {"learnable": 1}}, "data.learnable", "true or false"),
    ({"data": {"n_val": 10}}, "data.n_val", "must be in"),
    ({"data": {"rows": 10}}, "data.rows", "unknown key"),
    ({"data": []}, "data", "must be an object"),
    ({"model": {"width": 0}}, "model.width", "must be in"),
    ({"model": {"width": 100}}, "model.width", "must be in"),
    ({"model": {"dropout": 1.0}}, "model.dropout", "must be in"),
    ({"model": {"depth": 20}}, "model.depth", "must be in"),
    ({"model": {"l2": math.nan}}, "model.l2", "finite"),
    (
        {"callbacks": {"early_stopping": {"patience": -1}}},
        "callbacks.early_stopping.patience",
        "must be in",
    ),
    ({"callbacks": {"early_stop": {}}}, "callbacks.early_stop", "unknown callback"),
    (
        {"callbacks": {"early_stopping": {"monitor": "val_accuracy"}}},
        "callbacks.early_stopping.monitor",
        "not logged",
    ),
    (
        {"callbacks": {"early_stopping": {"monitor": "val_loss"}}, "validation_split": 0},
        "callbacks.early_stopping.monitor",
        "no validation data",
    ),
    (
        {"callbacks": {"reduce_lr_on_plateau": {"factor": 1.0}}},
        "callbacks.reduce_lr_on_plateau.factor",
        "must be in",
    ),
    ({"loss_weights": {"output": 1.0}}, "loss_weights", "only multi-output"),
    ({"jit_compile": "no"}, "jit_compile", "true or false"),
]


@pytest.mark.parametrize(("patch", "field", "text"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_input_names_the_field(patch, field, text):
    raw = {"task": "regression", **patch}
    with pytest.raises(ConfigError) as e:
        validate(raw)
    lines = str(e.value).splitlines()
    assert any(line.startswith(f"{field}: ") and text in line for line in lines), lines


TASK_BAD = [
    (
        "binary-20",
        {"loss": {"name": "binary_crossentropy", "from_logits": True}},
        "loss.from_logits",
        "already applies sigmoid",
    ),
    (
        "multiclass-10",
        {"loss": {"name": "sparse_categorical_crossentropy"}},
        "loss.from_logits",
        "must be true",
    ),
    ("multiclass-10", {"loss": "mse"}, "loss", "does not fit multiclass"),
    ("multi-output", {"loss": "mse"}, "loss", "keyed by this task's outputs"),
    (
        "multi-output",
        {"loss": {"price": "mse", "category": "mse"}},
        "loss.category",
        "does not fit multiclass",
    ),
    (
        "multi-output",
        {"loss_weights": {"price": -1, "category": 1}},
        "loss_weights.price",
        "must be in",
    ),
    (
        "multi-output",
        {"metrics": {"price": ["accuracy"], "category": []}},
        "metrics.price[0]",
        "does not fit regression",
    ),
    ("binary-10", {"data": {"noise": 0.9}}, "data.noise", "≤ 0.5"),
    ("sequence", {"data": {"n_train": 200000}}, "data.n_train", "too large"),
]


@pytest.mark.parametrize(
    ("task", "patch", "field", "text"), TASK_BAD, ids=[f"{b[0]}:{b[2]}" for b in TASK_BAD]
)
def test_task_specific_bad_input(task, patch, field, text):
    with pytest.raises(ConfigError) as e:
        validate({"task": task, **patch})
    lines = str(e.value).splitlines()
    assert any(line.startswith(f"{field}: ") and text in line for line in lines), lines


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as e:
        validate(
            {
                "task": "regression",
                "learning_rate": 0,
                "batch_size": 0,
                "foo": 1,
                "optimizer": {"name": "sgd", "momentum": 2},
            }
        )
    assert set(e.value.fields) >= {"learning_rate", "batch_size", "foo", "optimizer.momentum"}


def test_not_an_object():
    with pytest.raises(ConfigError, match="config: must be a JSON object"):
        validate(["task"])


# ---- piecewise_constant speaks Keras: boundaries and values -----------------------------


def _piecewise(**sched) -> dict:
    raw = {"task": "regression", "learning_rate": 0.01}
    return validate({**raw, "schedule": {"name": "piecewise_constant", **sched}})["schedule"]


def test_piecewise_takes_keras_values():
    got = _piecewise(boundaries=[10, 20], values=[0.1, 0.01, 0.001])
    assert got == {
        "name": "piecewise_constant",
        "boundaries": [10, 20],
        "values": [0.1, 0.01, 0.001],
    }


def test_piecewise_values_left_null_follow_the_learning_rate():
    got = _piecewise()  # boundaries [1000, 3000, 5000]: the documents' ×1, ½, ⅒, 1/20
    assert got["values"] == pytest.approx([0.01, 0.005, 0.001, 0.0005])
    assert _piecewise(boundaries=[5])["values"] == pytest.approx([0.01, 0.005])


def test_stored_factors_read_as_values_of_the_learning_rate():
    """Runs stored before ``values`` hold ``factors`` (multiples of learning_rate)."""
    old = _piecewise(boundaries=[10, 20], factors=[1, 0.5, 0.1])
    assert old["values"] == pytest.approx([0.01, 0.005, 0.001]) and "factors" not in old
    assert (
        validate({"task": "regression", "learning_rate": 0.01, "schedule": old})["schedule"] == old
    )
    with pytest.raises(ConfigError) as e:
        _piecewise(boundaries=[10], factors=[1, 0.5], values=[0.1, 0.2])
    assert [f for f, _ in e.value.problems] == ["schedule.factors"]
    with pytest.raises(ConfigError) as e:
        _piecewise(boundaries=[10], values=[0.1])
    assert [f for f, _ in e.value.problems] == ["schedule.values"]
    with pytest.raises(ConfigError) as e:
        _piecewise(boundaries=[10], values=[0.1, -1])
    assert [f for f, _ in e.value.problems] == ["schedule.values[1]"]


def test_a_learning_rate_suggestion_moves_piecewise_values_with_it():
    from engine.diagnosis.suggestions import _lr, apply_change

    cfg = validate(
        {
            "task": "regression",
            "learning_rate": 0.01,
            "schedule": {"name": "piecewise_constant", "boundaries": [10], "values": [0.01, 0.002]},
        }
    )
    after = validate(apply_change(cfg, _lr(cfg, 0.1)))
    assert after["learning_rate"] == 0.001
    assert after["schedule"]["values"] == pytest.approx([0.001, 0.0002])
