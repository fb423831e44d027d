"""The learning rate each update will apply, from the very object training uses.

Imports TensorFlow (lazily, once): the dashboard calls this for its preview.
"""

from __future__ import annotations

from engine.config import shape_of


def preview(cfg: dict, steps: int | None = None) -> dict:
    """``{"step": [1..N], "lr": [...], "epoch_updates": float}`` for a normalised config.

    Update u (1-based) happens at the optimizer's raw iteration ``u·k − 1`` (k =
    accumulation steps); the schedule wrapper maps that back to update ``u − 1``.
    """
    import numpy as np

    from engine.keras_parts.build import build_base_schedule
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.training import runtime

    runtime.configure()
    shape = shape_of(cfg)
    n = steps or max(1, shape.total_updates)
    k = cfg["grad_accum_steps"]
    schedule = UpdateSchedule(build_base_schedule(cfg), accum_steps=k)
    raw = np.arange(1, n + 1, dtype=np.int64) * k - 1
    try:
        lrs = np.asarray(schedule(raw), dtype=np.float64).reshape(-1)
        if lrs.shape[0] != n:
            raise ValueError
    except Exception:  # a schedule that is not vectorised: evaluate step by step
        lrs = np.array([float(schedule(int(r))) for r in raw])
    return {
        "step": list(range(1, n + 1)),
        "lr": lrs.tolist(),
        "updates_per_epoch": shape.updates_per_epoch,
    }
