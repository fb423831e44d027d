"""A metric's direction is declared once, in its registry entry, and every reader
agrees with it: the Keras object the entry builds, the store's "best", the plateau
callback's and the stacked path's "auto" mode, and early stopping on both paths."""

import keras
import pytest

from engine.keras_parts.build import build_metric
from engine.records import MemorySink
from engine.spec.callbacks import plateau_args
from engine.spec.metrics import METRICS, higher_is_better, metric_direction
from engine.store import RunStore
from engine.store.schema import EPOCH_EXTRAS
from engine.training.callbacks import _better
from engine.training.stacked import _early_stopping_mode, train_stacked
from engine.training.train import train

# Names as they are logged: registry names, aliases, Keras's reported names, a
# multi-output head's prefix, validation, and Keras's ``_1`` for a repeated name.
KEYS = {
    "loss": "down",
    "val_loss": "down",
    "price_loss": "down",
    "accuracy": "up",
    "val_acc": "up",
    "sparse_categorical_accuracy": "up",
    "category_accuracy": "up",
    "val_auc": "up",
    "auc_1": "up",
    "precision": "up",
    "val_recall": "up",
    "f1": "up",
    "val_f1_score": "up",
    "top3_accuracy": "up",
    "val_top5_accuracy": "up",
    "mae": "down",
    "val_price_mae": "down",
    "mse": "down",
    "val_mean_squared_error": "down",
    "examples_per_sec": None,
    "": None,
}


@pytest.mark.parametrize(
    ("entry", "kind"),
    [(e, kind) for e in METRICS for kind in e.tags],
    ids=lambda v: getattr(v, "name", v),
)
def test_the_declared_direction_is_the_keras_objects(entry, kind):
    spec = METRICS.normalize(entry.name, "metric")
    built = build_metric(spec, kind, onehot=False)
    assert built._direction == entry.direction  # what keras.callbacks' "auto" reads


@pytest.mark.parametrize(("key", "direction"), KEYS.items())
def test_every_reader_follows_the_declaration(key, direction, tmp_path):
    assert metric_direction(key) == direction
    assert higher_is_better(key) is (direction == "up")
    # plateau "auto": "max" for up, "min" otherwise (as it always treated the unknown)
    plateau = plateau_args({"reduce_lr_on_plateau": {"mode": "auto", "monitor": key}})
    assert _better(plateau["mode"])(2.0, 1.0) is (direction == "up")

    class Logged:  # the stacked path's objective: knows the metrics the run logs
        def metric(self, name):
            return object() if name == key.removeprefix("val_") else None

    mode = _early_stopping_mode({"mode": "auto", "monitor": key}, Logged())
    assert mode == {"up": "max", "down": "min"}.get(direction, "auto")

    # the store's best value follows it too
    store = RunStore(tmp_path / "runs.db")
    (run_id,) = store.create_runs([{"task": "binary-10"}])
    store.claim(run_id, "w")
    if key:
        store.append_epochs(run_id, [{"epoch": e, "values": {key: v}} for e, v in [(1, 1), (2, 2)]])
        best = store.list_runs()[0].best.get(key)
        ranked = key not in EPOCH_EXTRAS  # "best lr" means nothing
        assert best == ((2.0 if direction == "up" else 1.0) if ranked else None)


def test_early_stopping_on_f1_trains_alike_on_both_paths():
    """``val_f1`` in "auto" mode: Keras reads the F1 object's direction on the plain
    path, the stacked path reads the registry; both stop at the same epoch."""
    config = {
        "task": "binary-10",
        "epochs": 5,
        "batch_size": 16,
        "data": {"n_train": 96, "n_test": 16, "learnable": False},
        "optimizer": "adam",
        "learning_rate": 3e-2,
        "metrics": ["accuracy", "f1"],
        "callbacks": {"early_stopping": {"patience": 1, "monitor": "val_f1"}},
    }
    plain = train(config, sink=MemorySink())
    (stacked,) = train_stacked([config], sinks=[MemorySink()])
    assert plain["status"] == stacked["status"] == "completed", plain.get("error")
    assert plain["epochs_run"] == stacked["epochs_run"]
    keras.backend.clear_session()
