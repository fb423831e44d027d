"""``RunLog``: the one place both training paths build a run's records and result.

These drive it as a loop would, without Keras: what it records, when it calls a run
diverged or cancelled, which epoch is best, and the shapes it returns (the typed
records of ``engine.records``)."""

import math
import typing

import pytest

from engine.records import EpochRecord, MemorySink, RunResult, TrainResult, UpdateColumns
from engine.training.outcome import RunLog, best_epoch

INFO = {"n_train": 64}


def keys(td) -> set[str]:
    return set(typing.get_type_hints(td))


def epoch(log: RunLog, n: int, loss: float, **values) -> None:
    log.epoch(
        n, {"loss": loss, **values}, 0.1, epoch_time=0.5, train_seconds=0.25, wall_time=n * 0.5
    )


def test_updates_are_numbered_across_executions_and_cut_after_the_first_nan():
    sink = MemorySink()
    log = RunLog({}, sink, None)
    log.start(INFO)
    log.updates(1, [1.0, 0.9], [0.1, 0.1], [2.0, 1.0], [False, True])
    assert not log.stopping
    log.updates(2, [0.8, math.nan, 0.7], [0.1] * 3, [1.0] * 3, [False] * 3)
    assert log.diverged_at == 4 and log.stopping and log.status == "diverged"
    assert sink.updates["update"] == [1, 2, 3, 4]
    assert sink.updates["epoch"] == [1, 1, 2, 2]
    assert math.isnan(sink.updates["loss"][-1])  # the NaN is kept: the curve must show it
    assert sink.updates["clipped"] == [False, True, False, False]
    assert set(sink.updates) == keys(UpdateColumns)
    log.updates(3, [0.5], [0.1], [1.0], [False])  # nothing after the divergence
    assert sink.updates["update"] == [1, 2, 3, 4]


def test_epoch_records_and_a_non_finite_epoch_loss_is_a_divergence():
    sink = MemorySink()
    log = RunLog({}, sink, None)
    log.start(INFO)
    log.updates(1, [1.0, 0.9], [0.1] * 2, [1.0] * 2, [False] * 2)
    epoch(log, 1, 0.95, val_loss=1.0)
    (rec,) = sink.epochs
    assert set(rec) == keys(EpochRecord)
    assert rec["examples_per_sec"] == 64 / 0.25 and rec["updates"] == 2 and rec["epoch"] == 1
    assert log.status == "completed" and log.epochs_done == 1
    epoch(log, 2, math.inf)
    assert log.status == "diverged" and log.diverged_at == 2


def test_a_granted_cancel_stays_and_divergence_outranks_it():
    asked = []
    log = RunLog({}, None, lambda: asked.append(1) or len(asked) == 2)
    assert not log.poll_stop()
    assert log.poll_stop() and log.status == "cancelled"
    assert log.poll_stop() and len(asked) == 2  # not asked again
    assert log.evaluates_test
    log.start(INFO)
    log.updates(1, [math.nan], [0.1], [1.0], [False])
    assert log.status == "diverged" and not log.evaluates_test


@pytest.mark.parametrize(
    ("history", "best"),
    [
        ({"loss": [3.0, 2.0, 2.5], "val_loss": [1.0, 0.5, 0.7]}, 2),
        ({"loss": [3.0, 1.0, 2.5]}, 2),  # no validation set: the training loss
        ({"loss": [1.0, 0.5], "val_loss": [math.nan, 2.0]}, 2),  # NaN never wins
        ({"loss": [math.inf, math.nan]}, 1),
        ({}, None),
    ],
)
def test_best_epoch(history, best):
    assert best_epoch(history) == best


def test_results_and_what_a_path_returns_are_the_typed_records():
    sink = MemorySink()
    cfg = {"task": "regression"}
    log = RunLog(cfg, sink, None)
    log.start(INFO)
    log.updates(1, [1.0], [0.1], [1.0], [False])
    epoch(log, 1, 1.0, val_loss=2.0)
    epoch(log, 2, 0.5, val_loss=1.0)
    result = log.result(test={"loss": 1.0}, plateau_cuts=[2])
    log.finish(result)
    assert sink.result is result and result["duration"] >= 0
    assert result["best_epoch"] == 2 and result["epochs_run"] == 2
    assert set(result) == keys(RunResult) - {"traceback"}
    out = log.returned(result)
    assert set(out) == keys(TrainResult) - {"traceback"}
    assert out["history"]["val_loss"] == [2.0, 1.0] and out["config"] is cfg
    assert out["steps"]["update"] == [1] and out["info"] == INFO


def test_a_failed_result_keeps_its_epochs_and_says_why():
    log = RunLog({}, None, None)
    log.start(INFO)
    epoch(log, 1, 1.0)
    try:
        raise OSError("disk full")
    except OSError as exc:
        failed = log.failed(exc)
    assert failed["status"] == "failed" and failed["error"] == "OSError: disk full"
    assert "OSError: disk full" in failed["traceback"] and failed["epochs_run"] == 1
    assert failed["best_epoch"] is None and failed["test"] == {} == failed["predictions"]
    assert set(failed) == keys(RunResult) - {"duration", "plateau_cuts"}
