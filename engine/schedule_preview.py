"""The learning rate each update will apply, from the very object training uses.

Imports TensorFlow (lazily, once): the dashboard calls this for its preview. Steps are
Keras's ``optimizer.iterations`` (``engine.records.step_of``): step 0 is the first
update. A whole run's preview is capped at ``MAX_POINTS`` steps: beyond that it is
drawn at evenly spaced steps plus the ones where the rate jumps (warmup's end,
piecewise boundaries), each value still the exact rate of the step it names — a
1.92M-update run was 60 MB of points for a chart a few hundred pixels wide.
"""

from __future__ import annotations

from engine.config import shape_of
from engine.records import update_of
from engine.spec.schedules import SCHEDULES

MAX_POINTS = 4000


def sample_steps(total: int, max_points: int, keys: list[int] = ()) -> list[int]:
    """Steps (Keras's, 0-based) to draw of a run of ``total`` updates: all of them up to
    ``max_points``, else evenly spaced ones including the first and last, plus each of
    ``keys`` and its successor (a rate that jumps after step k changes at k + 1)."""
    last = total - 1
    if total <= max_points:
        return list(range(total))
    n = max(2, max_points)
    picked = {round(i * last / (n - 1)) for i in range(n)}
    for k in keys:
        picked.update(s for s in (k, k + 1) if 0 <= s <= last)
    return sorted(picked)


def _jumps(cfg: dict) -> list[int]:
    """Steps after which the schedule's rate changes abruptly."""
    s = cfg["schedule"] or {"name": "constant"}
    return SCHEDULES.entry(s["name"]).jumps(s)


def preview(cfg: dict, steps: int | None = None, *, max_points: int = MAX_POINTS) -> dict:
    """``{"step": [...], "lr": [...], "updates_per_epoch", "total_updates"}`` for a
    normalised config: the rate at each step (Keras's ``optimizer.iterations``: step 0
    is the first update) of the first ``steps`` updates when given, else of the whole
    run, sampled down to about ``max_points`` steps (see module docstring).

    With k accumulation steps the update at step s happens at the optimizer's raw
    iteration ``(s + 1)·k − 1``; the schedule wrapper maps that back to step s.
    """
    import numpy as np

    from engine.keras_parts.build import build_base_schedule
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.training import runtime

    runtime.configure()
    shape = shape_of(cfg)
    total = max(1, shape.total_updates)
    at = list(range(steps)) if steps else sample_steps(total, max_points, _jumps(cfg))
    k = cfg["grad_accum_steps"]
    schedule = UpdateSchedule(build_base_schedule(cfg), accum_steps=k)
    raw = np.asarray([update_of(s) for s in at], dtype=np.int64) * k - 1
    try:
        lrs = np.asarray(schedule(raw), dtype=np.float64).reshape(-1)
        if lrs.shape[0] != len(at):
            raise ValueError
    except Exception:  # a schedule that is not vectorised: evaluate step by step
        lrs = step_by_step(schedule, raw)
    return {
        "step": at,
        "lr": lrs.tolist(),
        "updates_per_epoch": shape.updates_per_epoch,
        "total_updates": total,
    }


def step_by_step(schedule, raw):
    """``schedule`` at each raw step, one scalar call per step inside one traced graph.

    For schedules that branch on the step (Keras's cosine decay with warmup uses
    ``ops.cond``) and so cannot take a vector. The same ops as a Python loop of eager
    calls, equal to them bit for bit, but one graph run instead of thousands of eager
    dispatches: 4,000 points went from seconds to a fraction of one.
    """
    import numpy as np
    import tensorflow as tf

    @tf.function
    def every(steps):
        return tf.map_fn(
            lambda t: tf.cast(schedule(t), tf.float32), steps, fn_output_signature=tf.float32
        )

    return every(tf.constant(np.asarray(raw, dtype=np.int64))).numpy().astype(np.float64)
