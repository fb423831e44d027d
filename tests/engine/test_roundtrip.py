"""Config → Keras objects → config round-trips equal."""

import pytest

from engine.config import validate
from engine.keras_parts import build
from engine.spec.losses import LOSSES
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.schedules import SCHEDULES

SCHEDULE_CASES = [
    None,
    {"name": "exponential_decay", "decay_steps": 50, "decay_rate": 0.5, "staircase": True},
    {"name": "cosine_decay", "alpha": 1e-3},
    {"name": "cosine_decay", "warmup_steps": 20, "alpha": 0.1},
    {"name": "warmup_cosine"},
    {"name": "piecewise_constant", "boundaries": [10, 30], "factors": [1.0, 0.5, 0.25]},
    {"name": "piecewise_constant", "boundaries": [10, 30], "values": [0.01, 0.005, 0.001]},
    {"name": "polynomial_decay", "power": 2.0},
    {"name": "inverse_time_decay", "decay_rate": 0.3},
    {"name": "cosine_decay_restarts", "t_mul": 1.5},
]


def test_every_schedule_is_covered():
    assert {c["name"] for c in SCHEDULE_CASES if c} | {"constant"} == set(SCHEDULES.names())


@pytest.mark.parametrize("sched", SCHEDULE_CASES, ids=lambda s: s["name"] if s else "none")
@pytest.mark.parametrize("opt", OPTIMIZERS.names())
def test_optimizer_and_schedule_round_trip(opt, sched):
    cfg = validate(
        {
            "task": "regression",
            "optimizer": opt,
            "schedule": sched,
            "epochs": 3,
            "clipping": {"clipnorm": 0.5},
            "grad_accum_steps": 2,
        }
    )
    obj = build.build_optimizer(cfg)
    assert build.optimizer_to_config(obj) == cfg["optimizer"]
    assert build.clipping_to_config(obj) == cfg["clipping"]
    got = build.schedule_to_config(obj._learning_rate, cfg["learning_rate"])
    want = cfg["schedule"]
    if got and want and "factors" in want:
        assert got["factors"] == pytest.approx(want["factors"])
        got, want = {**got, "factors": None}, {**want, "factors": None}
    assert got == want
    assert obj.gradient_accumulation_steps == 2


@pytest.mark.parametrize("loss", LOSSES.names())
def test_loss_round_trip(loss):
    task = {
        "mse": "regression",
        "mae": "regression",
        "huber": "regression",
        "weighted_mse": "regression",
        "binary_crossentropy": "binary-10",
        "focal": "binary-10",
        "categorical_crossentropy": "multiclass-10",
        "sparse_categorical_crossentropy": "multiclass-10",
    }[loss]
    spec = {"name": loss}
    if task == "multiclass-10":
        spec["from_logits"] = True
    cfg = validate({"task": task, "loss": spec})
    assert build.loss_to_config(build.build_loss(cfg["loss"])) == cfg["loss"]


def test_mixed_float16_wraps_loss_scaling():
    import keras

    cfg = validate({"task": "mixed-precision"})
    assert isinstance(build.build_optimizer(cfg), keras.optimizers.LossScaleOptimizer)
    cfg = validate({"task": "mixed-precision", "precision": "mixed_bfloat16"})
    assert not isinstance(build.build_optimizer(cfg), keras.optimizers.LossScaleOptimizer)
