"""Every task trains under its document defaults, and what a run records."""

import math

import numpy as np
import pytest
from engine_helpers import tiny

from engine.config import defaults_for, shape_of, validate
from engine.records import MemorySink
from engine.spec.tasks import TASKS
from engine.training.train import train

LEARNABLE_BY_DEFAULT = [t for t in TASKS if not TASKS[t].random_targets_by_default]


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_task_trains_two_epochs_under_its_defaults(task):
    sink = MemorySink()
    r = train({"task": task, "epochs": 2}, sink=sink)
    assert r["status"] == "completed", r.get("error")
    h = r["history"]
    assert len(h["loss"]) == 2 and all(math.isfinite(v) for v in h["loss"])
    cfg = defaults_for(task)
    shape = shape_of({**cfg, "epochs": 2})
    # one record per optimizer update, with the applied LR and the gradient norm
    assert len(r["steps"]["update"]) == shape.total_updates
    assert all(v > 0 for v in r["steps"]["grad_norm"])
    # per-epoch: every loss and metric for train and validation, Keras names
    for name in sink.info["logged"]:
        assert name in h and f"val_{name}" in h, (name, sorted(h))
    assert len(h["lr"]) == 2 and len(h["epoch_time"]) == 2 and h["examples_per_sec"][0] > 0
    # evaluate -> predict
    assert "loss" in r["test"] and r["predictions"]
    if task in LEARNABLE_BY_DEFAULT:
        assert h["loss"][1] < h["loss"][0], h["loss"]


@pytest.mark.parametrize("task", [t for t in sorted(TASKS) if TASKS[t].random_targets_by_default])
def test_learnable_variant_of_random_target_tasks_learns(task):
    n = {"sequence": 200, "multiclass-10": 2000}.get(task, 500)
    r = train(
        {
            "task": task,
            "epochs": 4,
            "data": {"learnable": True, "n_train": n},
            "precision": "float32",
            "callbacks": {},
        }
    )
    assert r["status"] == "completed"
    assert r["history"]["loss"][-1] < r["history"]["loss"][0]


def test_classification_predictions_have_confusion_matrix():
    r = train(tiny("binary-10"))
    p = r["predictions"]["output"]
    assert p["kind"] == "binary"
    assert np.sum(p["confusion"]) == 32 and len(p["target"]) == 32
    r = train(tiny("multi-output"))
    assert r["predictions"]["category"]["kind"] == "multiclass"
    assert np.array(r["predictions"]["category"]["confusion"]).shape == (3, 3)
    assert r["predictions"]["price"]["kind"] == "regression"
    assert {"price_loss", "category_loss", "price_mae", "category_accuracy"} <= set(r["test"])


def test_capacity_overrides_change_the_model():
    base = train(tiny())
    wide = train(tiny(model={"width": 2.0, "depth": 3, "dropout": 0.1, "l2": 1e-4}))
    assert wide["info"]["params"] > base["info"]["params"]
    assert any("dropout" in n for n in wide["info"]["layer_dtypes"])


def test_categorical_crossentropy_one_hot_encodes_labels():
    r = train(
        {
            "task": "multiclass-10",
            "epochs": 1,
            "precision": "float32",
            "callbacks": {},
            "data": {"n_train": 256, "n_val": 64, "n_test": 64},
            "loss": {"name": "categorical_crossentropy", "from_logits": True},
            "metrics": ["accuracy", {"name": "top_k", "k": 5}],
        }
    )
    assert r["status"] == "completed", r.get("error")
    assert 0 <= r["test"]["top5_accuracy"] <= 1


@pytest.mark.parametrize("loss", ["huber", "mae", "weighted_mse"])
def test_regression_losses_train(loss):
    r = train(tiny(loss=loss, epochs=3))
    assert r["status"] == "completed" and r["history"]["loss"][-1] < r["history"]["loss"][0]


def test_focal_loss_learns_both_classes():
    r = train(
        tiny(
            "binary-10",
            loss={"name": "focal", "gamma": 2.0, "alpha": 0.5},
            epochs=8,
            data={"n_train": 400, "n_test": 200},
            learning_rate=3e-3,
        )
    )
    assert r["status"] == "completed"
    conf = np.array(r["predictions"]["output"]["confusion"])
    assert conf[0, 0] > 0 and conf[1, 1] > 0  # not "positive everywhere"
    assert r["test"]["accuracy"] > 0.7


def test_early_stopping_stops_and_reports_best_epoch():
    # random targets: validation loss cannot improve for long
    cfg = tiny(
        data={"n_train": 200, "n_test": 20, "learnable": False},
        epochs=60,
        learning_rate=1e-2,
        callbacks={"early_stopping": {"patience": 2, "restore_best_weights": True}},
    )
    r = train(cfg)
    assert r["status"] == "completed"
    assert r["epochs_run"] < 60
    val = r["history"]["val_loss"]
    assert r["best_epoch"] == int(np.argmin(val)) + 1


def test_checkpoint_callback_restores_best_weights():
    cfg = tiny(epochs=4, callbacks={"checkpoint": {"monitor": "val_loss"}})
    r = train(cfg)
    assert r["status"] == "completed" and r["test"]


def test_cancel_between_epochs_keeps_partial_curves():
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 2

    r = train(tiny(epochs=50), should_stop=stop)
    assert r["status"] == "cancelled"
    assert 1 <= len(r["history"]["loss"]) < 50


def test_run_eagerly_matches_graph_mode():
    a = train(tiny(epochs=1))
    b = train(tiny(epochs=1, run_eagerly=True))
    assert b["history"]["loss"] == pytest.approx(a["history"]["loss"], rel=1e-4)
    assert b["steps"]["grad_norm"] == pytest.approx(a["steps"]["grad_norm"], rel=1e-4)


def test_bad_config_raises_before_training():
    from engine.errors import ConfigError

    sink = MemorySink()
    with pytest.raises(ConfigError):
        train({"task": "regression", "batch_size": -1}, sink=sink)
    assert sink.info == {} and sink.epochs == []


def test_validate_is_idempotent_on_trained_config():
    r = train(tiny())
    assert validate(r["config"]) == r["config"]
