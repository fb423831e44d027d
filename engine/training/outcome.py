"""A run's outcome, built in one place for both training paths.

``train()`` drives Keras's ``fit`` loop, ``train_stacked`` one graph for many
members; they measure the same things in different ways, but a run must be
reported the same whichever path trained it. So each loop hands a ``RunLog`` what
it measured (the losses, rates and norms of an execution's updates, an epoch's
values and timings, whether a cancel was asked for), and the ``RunLog`` alone
builds the records (``engine.records``), decides divergence, cancel and the final
status, picks the best epoch and writes the completed or failed result. The stacked
path returns what ``train()`` returns because both return ``RunLog.returned``.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.records import (
    EpochRecord,
    MemorySink,
    MultiSink,
    RunInfo,
    RunResult,
    RunSink,
    Status,
    TrainResult,
    UpdateColumns,
)


def run_info(cfg: dict, task, shape, model, device: str, y, val, *, warm_graph: bool) -> RunInfo:
    """The ``on_start`` record every training path sends."""
    import keras

    from engine.baseline import baseline_loss
    from engine.config import logged_names

    return RunInfo(
        steps_per_epoch=shape.steps_per_epoch,
        updates_per_epoch=shape.updates_per_epoch,
        total_updates=shape.total_updates,
        n_train=shape.n_train,
        n_val=shape.n_val,
        n_test=shape.n_test,
        device=device,
        precision=cfg["precision"],
        logged=logged_names(cfg),
        params=int(model.count_params()),
        baseline_loss=baseline_loss(task, cfg, y, val[1] if val is not None else y),
        layer_dtypes={layer.name: layer.dtype_policy.name for layer in model.layers},
        global_dtype_policy=keras.config.dtype_policy().name,
        warm_graph=warm_graph,
    )


def best_epoch(history: dict[str, list[float]]) -> int | None:
    """The 1-based epoch of the lowest validation loss (training loss without a
    validation set); a non-finite loss never wins."""
    key = "val_loss" if "val_loss" in history else "loss"
    series = [v if math.isfinite(v) else math.inf for v in history.get(key, [])]
    return int(np.argmin(series)) + 1 if series else None


class RunLog:
    """One run's records as its loop produces them, and the result they add up to.

    Every record also goes to an in-memory copy, which the returned result carries
    (``info``, ``history``, ``steps``) and the best epoch is read from."""

    def __init__(
        self,
        cfg: dict[str, Any],
        sink: RunSink | None,
        should_stop: Callable[[], bool] | None,
        *,
        started: float | None = None,
    ) -> None:
        self.cfg = cfg
        self.memory = MemorySink()
        self.sink: RunSink = MultiSink(self.memory, sink)
        self.should_stop = should_stop or (lambda: False)
        self.started = time.perf_counter() if started is None else started
        self.n_train = 0
        self.updates_done = 0
        self.epochs_done = 0
        self.diverged_at: int | None = None
        self.cancelled = False

    # ---- what the loop reports -------------------------------------------------------

    def start(self, info: RunInfo) -> None:
        self.n_train = info["n_train"]
        self.sink.on_start(info)

    def updates(
        self,
        epoch: int,
        loss: Sequence[float],
        lr: Sequence[float],
        grad_norm: Sequence[float],
        clipped: Sequence[bool],
    ) -> None:
        """One execution's updates of (1-based) ``epoch``. The curve is kept up to and
        including the first non-finite loss, which is where the run diverged."""
        n = len(loss)
        if not n or self.diverged_at is not None:
            return
        bad = np.flatnonzero(~np.isfinite(np.asarray(loss, dtype=float)))
        if bad.size:
            n = int(bad[0]) + 1
            self.diverged_at = self.updates_done + n
        first = self.updates_done + 1
        self.updates_done += n
        self.sink.on_updates(
            UpdateColumns(
                update=list(range(first, first + n)),
                epoch=[epoch] * n,
                loss=[float(v) for v in loss[:n]],
                lr=[float(v) for v in lr[:n]],
                grad_norm=[float(v) for v in grad_norm[:n]],
                clipped=[bool(v) for v in clipped[:n]],
            )
        )

    def epoch(
        self,
        epoch: int,
        values: dict[str, float],
        lr: float,
        *,
        epoch_time: float,
        train_seconds: float,
        wall_time: float,
    ) -> None:
        """(1-based) ``epoch`` ended with ``values``; a non-finite epoch loss is a
        divergence too (one the per-update losses did not show)."""
        self.epochs_done = epoch
        self.sink.on_epoch(
            EpochRecord(
                epoch=epoch,
                values=values,
                lr=float(lr),
                epoch_time=epoch_time,
                examples_per_sec=self.n_train / train_seconds if train_seconds > 0 else 0.0,
                wall_time=wall_time,
                updates=self.updates_done,
            )
        )
        if self.diverged_at is None and not math.isfinite(values.get("loss", 0.0)):
            self.diverged_at = max(self.updates_done, 1)

    def poll_stop(self) -> bool:
        """Ask for a cancel (once granted, it stays); True when the run must stop."""
        if not self.cancelled and self.should_stop():
            self.cancelled = True
        return self.stopping

    # ---- what it adds up to ----------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.diverged_at is not None or self.cancelled

    @property
    def status(self) -> Status:
        if self.diverged_at is not None:
            return "diverged"
        return "cancelled" if self.cancelled else "completed"

    @property
    def evaluates_test(self) -> bool:
        """Whether the test set is scored: not on a diverged model's weights."""
        return self.status in ("completed", "cancelled")

    def result(
        self,
        *,
        test: dict[str, float] | None = None,
        predictions: dict[str, Any] | None = None,
        plateau_cuts: list[int] | None = None,
    ) -> RunResult:
        """The result of a run whose loop ended (completed, diverged or cancelled)."""
        return RunResult(
            status=self.status,
            error=None,
            diverged_at=self.diverged_at,
            epochs_run=self.epochs_done,
            best_epoch=best_epoch(self.memory.history()),
            plateau_cuts=list(plateau_cuts or []),
            test=test or {},
            predictions=predictions or {},
        )

    def failed(self, exc: BaseException) -> RunResult:
        """The result of a run that raised: its message, and its epochs kept."""
        return RunResult(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
            diverged_at=None,
            epochs_run=len(self.memory.epochs),
            best_epoch=None,
            test={},
            predictions={},
        )

    def finish(self, result: RunResult) -> None:
        """Report ``result`` (its duration set now) to the sinks."""
        result["duration"] = time.perf_counter() - self.started
        self.sink.on_finish(result)

    def returned(self, result: RunResult) -> TrainResult:
        """What a training path returns for this run."""
        return TrainResult(
            **result,
            info=self.memory.info,
            history=self.memory.history(),
            steps=self.memory.updates,
            config=self.cfg,
        )
