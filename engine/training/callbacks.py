"""Callbacks: the seam between Keras's loop and the run's sink."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import numpy as np

from engine.training.outcome import RunLog


class RunRecorder(keras.callbacks.Callback):
    """Keras's side of a ``RunLog``: drains the update buffer after every execution,
    reports epochs, and stops the run on a non-finite loss or a cancel request
    (checked between executions)."""

    def __init__(self, recorder, log: RunLog, lr_now: Callable[[], float]):
        super().__init__()
        self.recorder = recorder
        self.log = log
        self.lr_now = lr_now
        self._t0 = time.perf_counter()

    # Keras calls these hooks with these names (``logs=``): the unused ones stay.
    def on_train_begin(self, logs=None):  # noqa: ARG002
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):  # noqa: ARG002
        self._epoch = epoch + 1
        self._epoch_t0 = time.perf_counter()
        self._train_time = 0.0

    def on_train_batch_end(self, batch, logs=None):  # noqa: ARG002
        rec = self.recorder.drain()
        self._train_time = time.perf_counter() - self._epoch_t0
        self.log.updates(self._epoch, rec["loss"], rec["lr"], rec["grad_norm"], rec["clipped"])
        if self.log.poll_stop():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        values = {
            k: float(v) for k, v in (logs or {}).items() if k != "learning_rate" and np.ndim(v) == 0
        }
        self.log.epoch(
            epoch + 1,
            values,
            self.lr_now(),
            epoch_time=now - self._epoch_t0,
            train_seconds=self._train_time or (now - self._epoch_t0),
            wall_time=now - self._t0,
        )
        if self.log.poll_stop():
            self.model.stop_training = True


def _better(mode: str):
    """``mode``: "min" or "max" (the caller resolves "auto": ``spec.metrics.monitor_mode``)."""
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)


class ReduceLROnPlateau(keras.callbacks.Callback):
    """Keras's ReduceLROnPlateau, but it multiplies the schedule's plateau factor
    instead of overwriting the rate, so it composes with any schedule. The floor
    ``min_lr`` is applied to the peak rate times the factor."""

    def __init__(
        self,
        schedule,
        peak_lr: float,
        monitor="val_loss",
        factor=0.5,
        patience=3,
        min_lr=1e-6,
        min_delta=1e-4,
        cooldown=0,
        mode="min",
    ):
        super().__init__()
        self.schedule = schedule
        self.peak_lr = peak_lr
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_lr, self.min_delta, self.cooldown = min_lr, min_delta, cooldown
        better = _better(mode)
        sign = 1 if better(1, 0) else -1
        self._improved = lambda cur, best: better(cur - sign * self.min_delta, best)
        self.best = None
        self.wait = 0
        self.cooldown_left = 0
        self.cuts: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        cur = (logs or {}).get(self.monitor)
        if cur is None or not math.isfinite(float(cur)):
            return
        cur = float(cur)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.best is None or self._improved(cur, self.best):
            self.best = cur
            self.wait = 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = float(self.schedule.factor.numpy())
            floor = self.min_lr / self.peak_lr
            new = max(old * self.factor, floor)
            if new < old:
                self.schedule.factor.assign(new)
                self.cuts.append(epoch + 1)
            self.cooldown_left = self.cooldown
            self.wait = 0
