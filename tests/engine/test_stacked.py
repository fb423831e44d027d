"""The stacked fast path reports every member as ``train()`` reports that config alone:
same per-update loss / applied LR / gradient norm / clipping, same epoch values,
same test metrics and predictions, same status — real Keras training on tiny data."""

import json
import typing

import numpy as np
import pytest

from engine.records import MemorySink, TrainResult
from engine.training.stacked import ineligible_reason, stack_key, train_stacked
from engine.training.train import train
from engine.training.warm import WarmCache

# Measured here: members agree with their plain runs to ~1e-6 relative, ~1e-5 for a
# member blowing up towards inf. The last float32 bits differ because a batched
# matmul over the stack and the plain Dense matmul (and the per-slice norms) sum in
# different orders; training then amplifies those differences a little per update.
# 1e-4 leaves headroom for other CPUs' kernels while still catching any real
# difference (a wrong batch, learning rate or initial weight shows at 1e-2 or more).
RTOL, ATOL = 1e-4, 1e-6

SMALL = {"epochs": 2, "data": {"n_train": 64, "n_test": 16}, "batch_size": 16}
LRS = (1e-3, 3e-3, 1e-2, 3e-2)
OPTIMIZERS = (
    "sgd",
    {"name": "sgd", "momentum": 0.9, "nesterov": True},
    "adam",
    {"name": "adamw", "weight_decay": 1e-2},
    "rmsprop",
    "adagrad",
)
UPDATE_KEYS = {"update", "epoch", "loss", "lr", "grad_norm", "clipped"}
EPOCH_KEYS = {"epoch", "values", "lr", "epoch_time", "examples_per_sec", "wall_time", "updates"}

_plain: dict[str, tuple[dict, MemorySink]] = {}
# The reference runs share traced graphs as a worker's do: a warm run's curves are a
# fresh run's bit for bit (tests/engine/test_warm.py), and the ~60 references here
# then cost a dozen traces instead of sixty.
_warm = WarmCache(capacity=16)


def plain(cfg: dict) -> tuple[dict, MemorySink]:
    """``train(cfg)`` alone, once per config for the whole module."""
    key = json.dumps(cfg, sort_keys=True)
    if key not in _plain:
        sink = MemorySink()
        _plain[key] = (train(cfg, sink=sink, warm=_warm), sink)
    return _plain[key]


def close(actual, expected):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=RTOL, atol=ATOL
    )


def assert_same_run(s: dict, p: dict) -> None:
    """A stacked member's result against its plain run's."""
    assert s["status"] == p["status"], s.get("error")
    # the same record, field for field: both paths return RunLog.returned(...)
    assert list(s) == list(p)
    assert set(s) <= set(typing.get_type_hints(TrainResult))
    for key in ("diverged_at", "epochs_run", "best_epoch", "plateau_cuts", "config"):
        assert s[key] == p[key], key
    skip = ("stack_size", "warm_graph")
    assert {k: v for k, v in s["info"].items() if k not in skip} == {
        k: v for k, v in p["info"].items() if k not in skip
    }
    for key in ("update", "epoch", "clipped"):
        assert s["steps"][key] == p["steps"][key], key
    for key in ("loss", "lr", "grad_norm"):
        close(s["steps"][key], p["steps"][key])
    assert list(s["history"]) == list(p["history"])
    for key, values in p["history"].items():
        if key not in ("epoch_time", "examples_per_sec"):
            close(s["history"][key], values)
    assert list(s["test"]) == list(p["test"])
    close(list(s["test"].values()), list(p["test"].values()))
    assert s["predictions"].keys() == p["predictions"].keys()
    for head, pp in p["predictions"].items():
        sp = s["predictions"][head]
        assert {k: v for k, v in sp.items() if k != "prediction"} == {
            k: v for k, v in pp.items() if k != "prediction"
        }
        close(sp["prediction"], pp["prediction"])


def run_and_compare(configs: list[dict], **kw) -> list[dict]:
    keys = {stack_key(c) for c in configs}
    assert len(keys) == 1 and None not in keys
    sinks = [MemorySink() for _ in configs]
    stacked = train_stacked(configs, sinks=sinks, **kw)
    for cfg, s, sink in zip(configs, stacked, sinks, strict=True):
        p, psink = plain(cfg)
        assert_same_run(s, p)
        # the sink saw the same records as the plain run's sink
        assert sink.info == {**psink.info, "stack_size": len(configs), "warm_graph": False}
        assert set(sink.updates) == UPDATE_KEYS == set(psink.updates)
        assert [set(e) for e in sink.epochs] == [EPOCH_KEYS] * len(psink.epochs)
        assert [e["updates"] for e in sink.epochs] == [e["updates"] for e in psink.epochs]
        assert sink.result["status"] == s["status"] and sink.result["duration"] > 0
    return stacked


@pytest.mark.parametrize("task", ["regression", "binary-20"])
def test_each_optimizer_at_four_learning_rates_matches_the_plain_path(task):
    configs = [
        {"task": task, **SMALL, "optimizer": opt, "learning_rate": lr}
        for opt in OPTIMIZERS
        for lr in LRS
    ]
    if task == "regression":  # the other elementwise optimizers stack_key accepts
        configs += [
            {"task": task, **SMALL, "optimizer": opt, "learning_rate": lr}
            for opt in ("nadam", "lion")
            for lr in (1e-3, 1e-2)
        ]
    stacked = run_and_compare(configs)
    assert {s["status"] for s in stacked} == {"completed"}
    # the learning rates made a difference: not four copies of one run
    finals = [s["history"]["loss"][-1] for s in stacked[8:12]]  # adam
    assert len(set(finals)) == 4


def test_a_diverging_member_is_reported_as_alone_and_spares_its_stack_mates():
    # A huge clip threshold lets the sgd member blow up to inf / NaN; the global norm
    # it is clipped by must be its own, or its NaN would reach every member.
    base = {
        "task": "regression",
        **SMALL,
        "epochs": 3,
        "clipping": {"global_clipnorm": 1e6},
    }
    configs = [
        {**base, "optimizer": "adam", "learning_rate": 1e-3},
        {**base, "optimizer": "sgd", "learning_rate": 1.0},
        {**base, "optimizer": "sgd", "learning_rate": 1e-2},
    ]
    ok, bad, ok2 = run_and_compare(configs)
    assert bad["status"] == "diverged" and bad["diverged_at"] == len(bad["steps"]["loss"])
    assert not np.isfinite(bad["steps"]["loss"][-1]) and any(bad["steps"]["clipped"])
    assert bad["epochs_run"] < 3 and bad["test"] == {}
    assert ok["status"] == ok2["status"] == "completed" and ok["epochs_run"] == 3
    assert np.isfinite(ok["steps"]["loss"]).all() and np.isfinite(ok2["steps"]["grad_norm"]).all()


@pytest.mark.parametrize("clipping", [{"clipnorm": 0.5}, {"clipvalue": 0.05}])
def test_clipping_is_per_member(clipping):
    base = {"task": "regression", **SMALL, "clipping": clipping}
    stacked = run_and_compare(
        [
            {**base, "optimizer": "adam", "learning_rate": 1e-3},
            {**base, "optimizer": "sgd", "learning_rate": 1e-1},
        ]
    )
    assert any(any(s["steps"]["clipped"]) for s in stacked)


class BrokenSink(MemorySink):
    def on_epoch(self, record):
        super().on_epoch(record)
        if record["epoch"] == 2:
            raise OSError("disk full")


def test_cancel_and_a_failing_sink_stop_one_member_only():
    base = {"task": "regression", **SMALL, "epochs": 3, "optimizer": "adam"}
    cancel, broken, normal = ({**base, "learning_rate": lr} for lr in (1e-3, 3e-3, 1e-2))
    sinks = [MemorySink(), BrokenSink(), MemorySink()]

    def cancel_after_one_epoch():
        return len(sinks[0].epochs) >= 1

    s_cancel, s_broken, s_normal = train_stacked(
        [cancel, broken, normal], sinks=sinks, should_stop=[cancel_after_one_epoch, None, None]
    )
    alone = MemorySink()
    p_cancel = train(cancel, sink=alone, should_stop=lambda: len(alone.epochs) >= 1, warm=_warm)
    assert s_cancel["status"] == "cancelled", s_cancel.get("traceback")
    assert s_cancel["epochs_run"] == 1
    # test metrics of the weights at the cancel, not of the stack's final ones
    assert_same_run(s_cancel, p_cancel)
    p_broken = train(broken, sink=BrokenSink(), warm=_warm)
    assert s_broken["status"] == p_broken["status"] == "failed"
    assert s_broken["error"] == p_broken["error"] == "OSError: disk full"
    assert s_broken["epochs_run"] == p_broken["epochs_run"]
    assert_same_run(s_normal, plain(normal)[0])


def test_schedules_callbacks_l2_and_stateful_metrics_per_member():
    # random targets: validation stalls, so the plateau cuts and early stopping fire
    base = {
        "task": "binary-10",
        "epochs": 6,
        "batch_size": 16,
        "data": {"n_train": 96, "n_test": 16, "learnable": False},
        "model": {"l2": 1e-3},
    }
    configs = [
        {
            **base,
            "optimizer": "adam",
            "learning_rate": 3e-2,
            "schedule": {"name": "cosine_decay", "warmup_steps": 3},
            "callbacks": {
                "early_stopping": {"patience": 1, "monitor": "val_auc"},
                "reduce_lr_on_plateau": {"patience": 1},
            },
        },
        {
            **base,
            "optimizer": "adam",
            "learning_rate": 1e-2,
            "schedule": {"name": "polynomial_decay", "end_learning_rate": 1e-4, "power": 2.0},
            "callbacks": {"reduce_lr_on_plateau": {"patience": 1, "factor": 0.3}},
        },
        {
            **base,
            "optimizer": "rmsprop",
            "learning_rate": 1e-2,
            "schedule": {
                "name": "piecewise_constant",
                "boundaries": [10, 20],
                "factors": [1, 0.5, 0.1],
            },
        },
    ]
    early, cut, piecewise = run_and_compare(configs)
    assert early["epochs_run"] < 6  # stopped early, test metrics from the restored best weights
    assert cut["plateau_cuts"] and cut["epochs_run"] == 6
    assert len(set(piecewise["steps"]["lr"])) == 3
    assert {"auc", "precision", "recall", "f1"} <= set(early["test"])


@pytest.mark.parametrize(
    "config",
    [
        {"task": "binary-20", "loss": {"name": "focal", "gamma": 2.0, "alpha": 0.5}},
        {
            "task": "regression-5",
            "loss": {"name": "huber", "delta": 0.5},
            "model": {"depth": 3},
            "validation_split": 0.0,
        },
    ],
    ids=["focal", "huber-deeper-no-validation"],
)
def test_other_losses_and_shapes(config):
    run_and_compare([{**SMALL, **config, "optimizer": "adam", "learning_rate": 1e-2}])


# ---- eligibility -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"task": "multi-output"}, "multi-output"),
        ({"task": "sequence"}, "lstm"),
        ({"task": "multiclass-10", "precision": "float32", "model": {"dropout": 0}}, "batchnorm"),
        ({"task": "regression", "model": {"dropout": 0.1}}, "dropout"),
        ({"task": "regression", "precision": "mixed_bfloat16"}, "precision"),
        ({"task": "regression", "grad_accum_steps": 2}, "accumulation"),
        ({"task": "regression", "jit_compile": True}, "jit_compile"),
        ({"task": "regression", "run_eagerly": True}, "run_eagerly"),
        ({"task": "regression", "optimizer": "adafactor"}, "adafactor"),
        ({"task": "regression", "callbacks": {"checkpoint": {}}}, "checkpoint"),
    ],
)
def test_ineligible_configs_have_no_stack_key(raw, reason):
    assert stack_key(raw) is None
    assert reason in ineligible_reason(raw)


def test_stack_keys_group_configs_that_differ_only_per_member():
    base = {"task": "regression", "epochs": 5}
    key = stack_key(base)
    assert key is not None and ineligible_reason(base) is None
    same = [
        {**base, "learning_rate": 0.05},
        {**base, "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True}},
        {**base, "optimizer": "rmsprop", "schedule": {"name": "cosine_decay"}},
        {**base, "callbacks": {"early_stopping": {"patience": 2}}},
    ]
    assert [stack_key(c) for c in same] == [key] * len(same)
    different = [
        {**base, "batch_size": 64},
        {**base, "seed": 1},
        {**base, "epochs": 6},
        {**base, "clipping": {"global_clipnorm": 1.0}},
        {**base, "metrics": ["mse"]},
        {**base, "model": {"width": 2.0}},
        {**base, "data": {"noise": 0.1}},
        {**base, "loss": "huber"},
    ]
    keys = [stack_key(c) for c in different]
    assert key not in keys and len(set(keys)) == len(keys)


def test_train_stacked_refuses_configs_that_cannot_share_a_stack():
    with pytest.raises(ValueError, match="cannot share a stack"):
        train_stacked([{"task": "regression"}, {"task": "regression", "batch_size": 64}])
    with pytest.raises(ValueError, match="dropout"):
        train_stacked([{"task": "regression", "model": {"dropout": 0.2}}])
    with pytest.raises(ValueError, match="should_stop"):
        train_stacked([{"task": "regression"}], should_stop=[None, None])
    assert train_stacked([]) == []
