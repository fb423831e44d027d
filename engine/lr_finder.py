"""LR range test ("LR finder"): raise the learning rate exponentially over a few
hundred updates and watch the loss; the steepest fall marks a good rate.

Uses the run's data, model, loss, optimizer, clipping, batch size and precision;
ignores its schedule and callbacks. Stops when the smoothed loss blows up (4× its
minimum, or NaN) and restores the initial weights afterwards.

The dashboard runs it in its TensorFlow service process (``engine.executor.tf_service``),
never in the server: ``on_updates`` streams the curve as it grows, so the page draws it
live, and ``should_stop`` ends it early when nobody is left to read it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from engine.config import validate

BLOW_UP = 4.0
BETA = 0.9  # smoothing of the per-update loss (bias-corrected EMA)
STREAM_EVERY = 0.25  # seconds between two ``on_updates`` calls: a live chart, not a flood


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, str]:
    """The LR of the steepest descent of the smoothed loss against log(LR), taken
    before the minimum, capped at a tenth of the minimum's LR."""
    if len(lrs) < 5:
        return lrs[0] / 10 if lrs else 1e-3, "too_few_points"
    i_min = min(range(len(smoothed)), key=smoothed.__getitem__)
    logs = [math.log10(v) for v in lrs]
    w = max(2, len(lrs) // 20)  # slope over a window: single-update noise is not a trend
    start = max(w, len(lrs) // 10)  # the first updates barely move the weights
    best, best_slope = None, 0.0
    for i in range(start, i_min + 1):
        slope = (smoothed[i] - smoothed[i - w]) / (logs[i] - logs[i - w])
        if slope < best_slope:
            best, best_slope = i - w // 2, slope
    # The steepest point can sit close to the blow-up; a tenth of the loss minimum's
    # rate is the classic safe bound, so the suggestion is the smaller of the two.
    if best is None or lrs[i_min] / 10 < lrs[best]:
        return lrs[i_min] / 10, "min_over_10"
    return lrs[best], "steepest"


def lr_find(
    config: dict[str, Any],
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    updates: int = 200,
    on_updates: Callable[[dict[str, list]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """The range test's curve and suggestion.

    ``on_updates(columns)`` receives the updates done since its last call as
    ``{"lr": [...], "loss": [...], "smoothed": [...]}`` (smoothed stops where a NaN
    loss did), at most every ``STREAM_EVERY`` seconds and once at the end.
    ``should_stop()`` is asked every update; True ends the test early (``stopped_early``
    stays about the loss, so the result says ``"cancelled": True``).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from engine.keras_parts import build
    from engine.keras_parts.models import build_model, hidden_layers
    from engine.spec.tasks import TASKS
    from engine.training import runtime
    from engine.training.pipeline import train_dataset
    from engine.training.train import _heads, load_data

    cfg = validate(config)
    if not (0 < min_lr < max_lr <= 100):
        raise ValueError("min_lr/max_lr: need 0 < min_lr < max_lr ≤ 100")
    runtime.configure()
    runtime.isolate(cfg["seed"])
    task = TASKS[cfg["task"]]
    (x, y), _, _ = load_data(cfg)
    epochs = math.ceil(updates / math.ceil(len(x) / cfg["batch_size"])) + 1
    ds, _ = train_dataset(x, y, cfg["batch_size"], cfg["seed"], epochs)
    m = cfg["model"]
    model = build_model(
        task.input_shape,
        hidden_layers(task.layers, m["width"], m["depth"], m["dropout"]),
        _heads(task),
        cfg["precision"],
        m["l2"],
    )
    opt_cfg = {**cfg, "grad_accum_steps": 1}
    optimizer = build.build_optimizer(opt_cfg, schedule=float(min_lr))
    model.compile(optimizer=optimizer, **build.build_compile_args(cfg))
    optimizer.build(model.trainable_variables)
    initial = model.get_weights()

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            pred = model(xb, training=True)
            loss = model.compute_loss(x=xb, y=yb, y_pred=pred, training=True)
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    ratio = (max_lr / min_lr) ** (1.0 / max(updates - 1, 1))
    lrs, losses, smoothed = [], [], []
    avg, best, stopped, cancelled = 0.0, math.inf, False, False
    sent, last_sent = 0, time.monotonic()

    def stream(force: bool = False) -> None:
        nonlocal sent, last_sent
        if on_updates is None or len(lrs) == sent:
            return
        if not force and time.monotonic() - last_sent < STREAM_EVERY:
            return
        on_updates({"lr": lrs[sent:], "loss": losses[sent:], "smoothed": smoothed[sent:]})
        sent, last_sent = len(lrs), time.monotonic()

    for i, (xb, yb) in enumerate(ds.take(updates)):
        if should_stop is not None and should_stop():
            cancelled = True
            break
        lr = min_lr * ratio**i
        optimizer.learning_rate = lr
        loss = float(step(xb, yb))
        lrs.append(lr)
        losses.append(loss)
        if not math.isfinite(loss):
            stopped = True
            break
        avg = BETA * avg + (1 - BETA) * loss
        s = avg / (1 - BETA ** (i + 1))
        smoothed.append(s)
        best = min(best, s)
        if i > 10 and s > BLOW_UP * best:
            stopped = True
            break
        stream()
    stream(force=True)
    model.set_weights(initial)
    lrs_ok = lrs[: len(smoothed)]
    suggestion, method = suggest(lrs_ok, smoothed)
    i_min = int(np.argmin(smoothed)) if smoothed else 0
    del keras
    return {
        "lr": lrs,
        "loss": losses,
        "smoothed": smoothed,
        "suggestion": suggestion,
        "method": method,
        "min_loss_lr": lrs_ok[i_min] if lrs_ok else None,
        "stopped_early": stopped,
        "cancelled": cancelled,
        "updates": len(lrs),
    }
