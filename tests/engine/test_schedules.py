"""Schedule values at the steps the documents print, from the preview the UI draws."""

import numpy as np
import pytest

from engine.config import validate
from engine.schedule_preview import preview


def lr_at(schedule, steps, lr=1e-2, k=1):
    cfg = validate(
        {
            "task": "regression",
            "learning_rate": lr,
            "schedule": schedule,
            "epochs": 100,
            "batch_size": 8,
            "grad_accum_steps": k,
        }
    )
    out = preview(cfg, max(steps) + 1)
    return [out["lr"][s] for s in steps]  # entry s is step s: the (s+1)-th update


def test_exponential_decay_document_values():
    got = lr_at(
        {"name": "exponential_decay", "decay_steps": 1000, "decay_rate": 0.9}, [0, 1000, 5000]
    )
    assert got == pytest.approx([0.01, 0.009, 0.01 * 0.9**5], rel=1e-5)


def test_exponential_staircase():
    got = lr_at(
        {"name": "exponential_decay", "decay_steps": 1000, "decay_rate": 0.9, "staircase": True},
        [999, 1000, 1999],
    )
    assert got == pytest.approx([0.01, 0.009, 0.009], rel=1e-5)


def test_cosine_decay_document_values():
    got = lr_at({"name": "cosine_decay", "decay_steps": 10000, "alpha": 1e-5}, [0, 5000, 10000])
    assert got == pytest.approx([0.01, 0.01 * (0.5 * (1 - 1e-5) + 1e-5), 1e-7], rel=1e-4)


def test_piecewise_constant_document_values():
    got = lr_at(
        {
            "name": "piecewise_constant",
            "boundaries": [1000, 3000, 5000],
            "factors": [1.0, 0.5, 0.1, 0.05],
        },
        [0, 500, 1500, 4000, 6000],
    )
    assert got == pytest.approx([1e-2, 1e-2, 5e-3, 1e-3, 5e-4], rel=1e-5)


def test_warmup_cosine_document_values_and_no_rise_after_the_end():
    steps = [0, 250, 500, 1000, 3000, 5000, 10000, 12000]
    got = lr_at(
        {"name": "warmup_cosine", "warmup_steps": 1000, "total_steps": 10000}, steps, lr=1e-3
    )
    want = []
    for s in steps:
        if s < 1000:
            want.append(1e-3 * s / 1000)
        else:
            p = min((s - 1000) / 9000, 1.0)
            want.append(0.5 * 1e-3 * (1 + np.cos(np.pi * p)))
    assert got == pytest.approx(want, rel=1e-4, abs=1e-9)
    assert got[-1] == pytest.approx(0.0, abs=1e-9)  # the document's version rises again


def test_keras_cosine_warmup_peaks_at_learning_rate():
    got = lr_at({"name": "cosine_decay", "decay_steps": 100, "warmup_steps": 10}, [0, 5, 10])
    assert got == pytest.approx([0.0, 0.005, 0.01], rel=1e-5, abs=1e-9)


def test_preview_counts_steps_like_keras_optimizer_iterations():
    """Step 0 is the first update: the preview's rate at step s is Keras's own schedule
    called with s, so "LR at step 1000" is the rate the 1001st update applies."""
    import keras

    cfg = validate(
        {
            "task": "regression",
            "learning_rate": 1e-2,
            "schedule": {"name": "cosine_decay", "decay_steps": 100, "warmup_steps": 10},
            "epochs": 100,
            "batch_size": 8,
        }
    )
    out = preview(cfg, 30)
    assert out["step"] == list(range(30))
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=100, warmup_target=1e-2, warmup_steps=10
    )
    want = [float(keras_schedule(s)) for s in out["step"]]
    assert out["lr"] == pytest.approx(want, rel=1e-6, abs=1e-12)
    assert out["lr"][0] == float(keras_schedule(0)) == 0.0


def test_accumulation_counts_updates_not_batches():
    sched = {"name": "exponential_decay", "decay_steps": 10, "decay_rate": 0.5, "staircase": True}
    assert lr_at(sched, [0, 9, 10, 20], k=4) == pytest.approx([0.01, 0.01, 0.005, 0.0025])


def test_a_branching_schedule_is_previewed_in_one_graph_equal_to_eager_calls():
    """Cosine decay with warmup branches on the step (no vector call): the preview
    evaluates it in one traced graph, bit for bit the rates of one eager call per step."""
    from engine.keras_parts.build import build_base_schedule
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.schedule_preview import step_by_step

    cfg = validate(
        {
            "task": "regression",
            "schedule": {"name": "cosine_decay", "warmup_steps": 30, "alpha": 0.1},
            "grad_accum_steps": 2,
            "epochs": 4,
        }
    )
    schedule = UpdateSchedule(build_base_schedule(cfg), accum_steps=2)
    raw = np.arange(1, 51, dtype=np.int64) * 2 - 1
    with pytest.raises(Exception):  # noqa: B017 - whatever Keras raises for a vector
        np.asarray(schedule(raw))
    eager = [float(schedule(int(r))) for r in raw]
    assert step_by_step(schedule, raw).tolist() == eager
    assert preview(cfg, 50)["lr"] == eager
