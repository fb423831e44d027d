"""How a normalised config divides into batches and updates.

Its own module so that both the validator (``config.py``) and the cost estimate
(``run_cost.py``, which ``validate`` calls) read it without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.spec.tasks import TASKS


@dataclass(frozen=True)
class RunShape:
    """How the data divides into batches and updates: used by schedules and the UI."""

    n_train: int  # examples the model fits on (after the validation split)
    n_val: int
    n_test: int
    steps_per_epoch: int  # batches per epoch
    updates_per_epoch: float  # optimizer updates per epoch (batches / accumulation)
    total_updates: int


def shape_of(cfg: dict[str, Any]) -> RunShape:
    """Batches and updates of a *normalised* config."""
    task = TASKS[cfg["task"]]
    data = cfg["data"]
    n = data["n_train"]
    split = cfg["validation_split"]
    if split:
        n_fit = math.ceil(n * (1.0 - split))
        n_val = n - n_fit
    else:
        n_fit, n_val = n, (data["n_val"] if task.has_own_validation else 0)
    steps = math.ceil(n_fit / cfg["batch_size"])
    k = cfg["grad_accum_steps"]
    return RunShape(n_fit, n_val, data["n_test"], steps, steps / k, (steps * cfg["epochs"]) // k)
