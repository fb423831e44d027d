"""Callbacks: the seam between Keras's loop and the run's sink."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import numpy as np

from engine.records import RunSink
from engine.spec.metrics import higher_is_better


class RunRecorder(keras.callbacks.Callback):
    """Drains the update buffer after every execution, reports epochs, and stops the
    run on a non-finite loss or a cancel request (checked between executions)."""

    def __init__(
        self,
        recorder,
        sink: RunSink,
        n_train: int,
        lr_now: Callable[[], float],
        should_stop: Callable[[], bool] | None = None,
    ):
        super().__init__()
        self.recorder = recorder
        self.sink = sink
        self.n_train = n_train
        self.lr_now = lr_now
        self.should_stop = should_stop or (lambda: False)
        self.updates_done = 0
        self.diverged_at: int | None = None
        self.cancelled = False
        self.epochs_done = 0
        self._t0 = time.perf_counter()

    def on_train_begin(self, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_t0 = time.perf_counter()
        self._train_time = 0.0

    def on_train_batch_end(self, batch, logs=None):
        rec = self.recorder.drain()
        self._train_time = time.perf_counter() - self._epoch_t0
        n = len(rec["loss"])
        if n and self.diverged_at is None:
            bad = np.flatnonzero(~np.isfinite(rec["loss"]))
            if bad.size:
                n = int(bad[0]) + 1  # keep the curve up to and including the first NaN
                self.diverged_at = self.updates_done + n
                self.model.stop_training = True
            first = self.updates_done + 1
            self.updates_done += n
            self.sink.on_updates(
                {
                    "update": list(range(first, first + n)),
                    "epoch": [self._epoch] * n,
                    "loss": [float(v) for v in rec["loss"][:n]],
                    "lr": [float(v) for v in rec["lr"][:n]],
                    "grad_norm": [float(v) for v in rec["grad_norm"][:n]],
                    "clipped": [bool(v) for v in rec["clipped"][:n]],
                }
            )
        if self.should_stop():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        values = {
            k: float(v) for k, v in (logs or {}).items() if k != "learning_rate" and np.ndim(v) == 0
        }
        train_time = self._train_time or (now - self._epoch_t0)
        self.epochs_done = epoch + 1
        self.sink.on_epoch(
            {
                "epoch": epoch + 1,
                "values": values,
                "lr": float(self.lr_now()),
                "epoch_time": now - self._epoch_t0,
                "examples_per_sec": self.n_train / train_time if train_time > 0 else 0.0,
                "wall_time": now - self._t0,
                "updates": self.updates_done,
            }
        )
        if self.diverged_at is None and not math.isfinite(values.get("loss", 0.0)):
            self.diverged_at = max(self.updates_done, 1)
            self.model.stop_training = True
        if not self.cancelled and self.should_stop():
            self.cancelled = True
            self.model.stop_training = True


def _better(mode: str, monitor: str):
    if mode == "auto":
        mode = "max" if higher_is_better(monitor) else "min"
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
        mode="auto",
    ):
        super().__init__()
        self.schedule = schedule
        self.peak_lr = peak_lr
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_lr, self.min_delta, self.cooldown = min_lr, min_delta, cooldown
        better = _better(mode, monitor)
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
