"""Gradient accumulation, applied-LR records, determinism, isolation, divergence."""

import math

import keras
import numpy as np
import pytest
from engine_helpers import tiny

from engine.config import shape_of, validate
from engine.schedule_preview import preview
from engine.training.train import train


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_k_accumulated_batches_equal_one_batch_of_k_times_b(optimizer):
    """k micro-batches of b, averaged, make the same update as one batch of k·b."""
    common = {
        "task": "regression",
        "optimizer": optimizer,
        "learning_rate": 0.01,
        "epochs": 3,
        "validation_split": 0,
        "data": {"n_train": 128, "n_test": 64},
    }
    acc = train({**common, "batch_size": 8, "grad_accum_steps": 4})
    big = train({**common, "batch_size": 32, "grad_accum_steps": 1})
    assert len(acc["steps"]["update"]) == len(big["steps"]["update"]) == 12
    # same per-update loss and gradient norm means the same weights after every update
    np.testing.assert_allclose(acc["steps"]["loss"], big["steps"]["loss"], rtol=2e-5)
    np.testing.assert_allclose(acc["steps"]["grad_norm"], big["steps"]["grad_norm"], rtol=2e-5)
    np.testing.assert_allclose(acc["test"]["loss"], big["test"]["loss"], rtol=2e-5)
    # and a different batch size really is different (the test can fail)
    other = train({**common, "batch_size": 16, "grad_accum_steps": 1})
    assert not np.allclose(other["test"]["loss"], big["test"]["loss"], rtol=1e-3)


def test_applied_lr_record_matches_the_schedule_preview():
    cfg = validate(
        tiny(
            schedule={"name": "cosine_decay", "warmup_steps": 5, "alpha": 0.1},
            epochs=4,
            grad_accum_steps=2,
            batch_size=8,
        )
    )
    r = train(cfg)
    want = preview(cfg)["lr"]
    got = r["steps"]["lr"]
    assert len(got) == len(want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_plateau_cut_multiplies_the_schedule_and_shows_in_the_record():
    # min_delta so large nothing counts as improvement: cut after `patience` epochs
    cfg = validate(
        tiny(
            epochs=4,
            schedule={"name": "exponential_decay", "decay_steps": 5, "decay_rate": 0.8},
            callbacks={
                "reduce_lr_on_plateau": {
                    "monitor": "loss",
                    "factor": 0.5,
                    "patience": 1,
                    "min_delta": 1e6,
                    "min_lr": 1e-9,
                }
            },
        )
    )
    r = train(cfg)
    assert r["plateau_cuts"] == [2, 3, 4]
    sched = np.array(preview(cfg)["lr"])
    got = np.array(r["steps"]["lr"])
    epoch = np.array(r["steps"]["epoch"])
    factor = np.where(epoch <= 2, 1.0, 0.5 ** (epoch - 2))
    np.testing.assert_allclose(got, sched * factor, rtol=1e-6)
    # the per-epoch LR is the rate of the next update, so it shows the cut too
    assert r["history"]["lr"][1] == pytest.approx(sched[8] * 0.5, rel=1e-6)


def test_same_config_and_seed_give_the_same_curves():
    cfg = tiny("binary-10", model={"dropout": 0.2}, epochs=3)
    a, b = train(cfg), train(cfg)
    assert a["history"]["loss"] == b["history"]["loss"]
    assert a["steps"]["grad_norm"] == b["steps"]["grad_norm"]
    c = train({**cfg, "seed": 7})
    assert c["history"]["loss"] != a["history"]["loss"]


def test_mixed_precision_does_not_leak_into_the_next_run():
    mixed = train(tiny("mixed-precision", precision="mixed_float16"))
    dtypes = mixed["info"]["layer_dtypes"]
    assert "mixed_float16" in dtypes.values() and dtypes["output"] == "float32"
    assert keras.config.dtype_policy().name == "float32"
    plain = train(tiny("mixed-precision", precision="float32"))
    assert set(plain["info"]["layer_dtypes"].values()) == {"float32"}
    assert plain["info"]["global_dtype_policy"] == "float32"
    bf = train(tiny("mixed-precision", precision="mixed_bfloat16"))
    assert "mixed_bfloat16" in bf["info"]["layer_dtypes"].values()
    assert train(tiny("regression"))["info"]["global_dtype_policy"] == "float32"


def test_forced_divergence_stops_and_reports_its_update():
    r = train({"task": "regression-5", "learning_rate": 5.0, "epochs": 20})
    assert r["status"] == "diverged"
    n = r["diverged_at"]
    assert n is not None and r["steps"]["update"][-1] == n
    assert not math.isfinite(r["steps"]["loss"][-1])
    assert all(math.isfinite(v) for v in r["steps"]["loss"][:-1])
    assert r["epochs_run"] < 20


def test_clipping_flags_match_the_threshold():
    r = train(tiny("regression-10", clipping={"global_clipnorm": 1.0}, learning_rate=0.01))
    norms = np.array(r["steps"]["grad_norm"])
    clipped = np.array(r["steps"]["clipped"])
    np.testing.assert_array_equal(clipped, norms > 1.0)
    assert clipped.any()
    r = train(tiny("regression-10", clipping={"clipvalue": 1e-6}))
    assert all(r["steps"]["clipped"])


def test_accumulation_trains_under_xla():
    """Found by the train fuzz (tests/engine/test_fuzz_train.py): jit_compile with
    gradient accumulation failed in XLA ("must be a compile-time constant") because the
    per-update record was written inside a tf.cond. It trains, one record per update."""
    cfg = validate(
        {
            "task": "binary-20",
            "data": {"n_train": 8, "n_test": 6},
            "epochs": 1,
            "batch_size": 1,
            "model": {"width": 0.05},
            "jit_compile": True,
            "grad_accum_steps": 2,
        }
    )
    result = train(cfg)
    assert result["status"] == "completed", result.get("error")
    assert len(result["steps"]["loss"]) == shape_of(cfg).total_updates  # an update every 2
