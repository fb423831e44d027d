"""What a run will cost before it starts: peak memory and wall time, from the config alone.

A validated config can still be a run the machine cannot hold: an LSTM over 50 steps
with a batch of 8,192 keeps every step's gates for the backward pass (gigabytes),
and nothing said so until the worker was swapping. ``estimate`` counts what training
holds at its peak — the runtime itself, the data (and its tf.data copy), parameters
with their gradients and optimizer slots, and the activations one batch keeps for
backprop — with factors calibrated against measured peak RSS of real runs
(``benchmarks/memory_estimate.py``). ``validate`` refuses a config whose estimate is
over ``memory_budget()``, naming the field that makes it big.

Pure Python, no TensorFlow: the dashboard and the CLI call it on every config.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from engine.run_shape import shape_of
from engine.spec.tasks import TASKS

GiB = 1024**3
MiB = 1024**2

# Calibrated on this project's 2-core, 24 GiB machine (benchmarks/memory_estimate.py):
RUNTIME_BYTES = 780 * MiB  # a process that has imported TensorFlow and trained a small model
DATA_COPIES = 3.0  # NumPy arrays, their tf.constant copy, the eval datasets' caches
DENSE_FLOATS = 2.0  # per unit and example: the activation and its gradient
NORM_FLOATS = 1.0  # per unit and example, batch normalisation
DROPOUT_FLOATS = 0.5  # per unit and example, the dropout mask
LSTM_FLOATS = 8.0  # per unit, step and example: the gates, c and h kept for backprop
ACTIVATION_OVERHEAD = 1.0  # backward-pass temporaries on top of what the forward pass keeps
# Wall time in a warm worker, as a sum of costs per thing counted (``time_features``),
# fitted by least squares to measured runs (``benchmarks/duration_estimate.py``):
# building and tracing the model, each epoch's fixed work (validation, callbacks, the
# store), each batch's dispatch, each sequential LSTM step of a batch, and arithmetic.
SECONDS_PER = {  # fitted on 11 runs of 2-28 s: estimate / measured 0.61-1.26
    "start": 2.4,
    "epoch": 0.015,
    "batch": 9e-4,
    "lstm_step": 2.5e-3,
    "gflop": 0.65,
}

# Optimizer state per parameter (Keras 3 slot variables).
_SLOTS = {"sgd": 0, "adam": 2, "adamw": 2, "nadam": 2, "rmsprop": 1, "adagrad": 1, "lion": 1}

DEFAULT_BUDGET_SHARE = 1 / 8  # of physical memory: workers (one per core) and the server share it
BUDGET_ENV = "HPLAB_MEMORY_BUDGET"


@dataclass(frozen=True)
class RunCost:
    """A config's expected peak memory (bytes, by part) and wall time (seconds)."""

    params: int
    runtime_bytes: int
    data_bytes: int
    weight_bytes: int  # parameters, gradients, optimizer slots, accumulators
    activation_bytes: int  # one training batch's activations kept for backprop
    updates: int
    seconds: float
    time_parts: dict[str, float]  # what ``seconds`` sums: counts per ``SECONDS_PER`` key

    @property
    def peak_bytes(self) -> int:
        return self.runtime_bytes + self.data_bytes + self.weight_bytes + self.activation_bytes

    def biggest_field(self) -> str:
        """The config field to change to shrink the run most."""
        parts = {
            "batch_size": self.activation_bytes,
            "data.n_train": self.data_bytes,
            "model.width": self.weight_bytes,
        }
        return max(parts, key=parts.__getitem__)


def _layers(cfg: dict) -> list[dict]:
    from engine.keras_parts.models import hidden_layers  # pure Python: no Keras import

    task = TASKS[cfg["task"]]
    m = cfg["model"]
    return hidden_layers(task.layers, m["width"], m["depth"], m["dropout"])


def _slots(optimizer: dict) -> int:
    name = optimizer["name"]
    if name == "sgd":
        return 1 if optimizer.get("momentum") else 0
    if name == "rmsprop":
        return 1 + bool(optimizer.get("momentum")) + bool(optimizer.get("centered"))
    if name == "adafactor":
        return 1  # factored second moments: about one slot's worth on these shapes
    return _SLOTS.get(name, 2) + bool(optimizer.get("amsgrad"))


def estimate(cfg: dict) -> RunCost:
    """Peak memory and duration of a *normalised* config (see module docstring)."""

    task = TASKS[cfg["task"]]
    shape = shape_of(cfg)
    steps = task.input_shape[0] if len(task.input_shape) > 1 else 1
    features = task.input_shape[-1]
    params = 0
    act = 0.0  # floats one example keeps for backprop
    flops = 0.0  # multiply-adds per example, forward
    width = features
    for spec in _layers(cfg):
        kind = spec["type"]
        if kind == "dense":
            u = spec["units"]
            params += width * u + u
            flops += width * u
            act += DENSE_FLOATS * u
            width = u
        elif kind == "lstm":
            u = spec["units"]
            params += 4 * u * (width + u + 1)
            flops += steps * 4 * u * (width + u)
            act += steps * (LSTM_FLOATS * u + width)
            width = u
        elif kind == "batchnorm":
            params += 4 * width
            act += NORM_FLOATS * width
        elif kind == "dropout":
            act += DROPOUT_FLOATS * width
    for h in task.heads:
        params += width * h.units + h.units
        flops += width * h.units
        act += DENSE_FLOATS * h.units
    act += math.prod(task.input_shape)  # the batch itself
    n_all = shape.n_train + shape.n_val + shape.n_test
    data = DATA_COPIES * 4 * math.prod(task.input_shape) * n_all
    copies = 2 + _slots(cfg["optimizer"]) + (cfg["grad_accum_steps"] > 1)
    weights = 4 * params * copies
    activations = ACTIVATION_OVERHEAD * 4 * act * cfg["batch_size"]
    parts = _time_features(cfg, shape, steps if _has_lstm(cfg) else 0, flops)
    seconds = sum(SECONDS_PER[k] * v for k, v in parts.items())
    return RunCost(
        params=params,
        runtime_bytes=RUNTIME_BYTES,
        data_bytes=int(data),
        weight_bytes=int(weights),
        activation_bytes=int(activations),
        updates=shape.total_updates,
        seconds=seconds,
        time_parts=parts,
    )


def _has_lstm(cfg: dict) -> bool:
    return any(spec["type"] == "lstm" for spec in _layers(cfg))


def _time_features(cfg: dict, shape, lstm_steps: int, flops: float) -> dict[str, float]:
    """What a run's wall time is a sum of: one start, its epochs, its batches (training,
    then validation every epoch and the test set once), the sequential LSTM steps of
    those batches, and its arithmetic (a training example costs ~3 forward passes)."""
    bs = cfg["batch_size"]
    epochs = cfg["epochs"]
    train_batches = shape.steps_per_epoch * epochs
    eval_batches = math.ceil(shape.n_val / bs) * epochs + math.ceil(shape.n_test / bs)
    examples = 3 * shape.n_train * epochs + shape.n_val * epochs + shape.n_test
    return {
        "start": 1.0,
        "epoch": float(epochs),
        "batch": float(train_batches + eval_batches),
        "lstm_step": float(lstm_steps * (train_batches + eval_batches)),
        "gflop": flops * examples / 1e9,
    }


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def parse_bytes(text: str) -> int:
    """``"3GiB"``, ``"500MB"``, ``"2.5G"`` or a plain number of bytes."""
    units = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6,
             "mib": 2**20, "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12,
             "tib": 2**40}  # fmt: skip
    s = text.strip().lower().replace(" ", "")
    num = s.rstrip("kmgtib")
    unit = s[len(num) :]
    if unit not in units:
        raise ValueError(f"unknown unit {unit!r}")
    value = float(num) * units[unit]
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive size")
    return int(value)


def memory_budget() -> int | None:
    """Bytes one run may use: ``$HPLAB_MEMORY_BUDGET`` (e.g. ``6GiB``; ``0`` or ``off``
    = no limit), else an eighth of physical memory (None where that is unknown)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if raw.lower() in ("0", "off", "none", "unlimited"):
        return None
    if raw:
        try:
            return parse_bytes(raw)
        except ValueError as e:
            from engine.errors import ConfigError

            raise ConfigError(
                BUDGET_ENV, f"{e}: give a size such as 6GiB or 500MB, got {raw[:40]!r}"
            ) from None
    total = _physical_memory()
    return int(total * DEFAULT_BUDGET_SHARE) if total else None


def fmt_bytes(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def fmt_seconds(s: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3.2 h"``: how long to expect, as a person says it."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def budget_problem(cost: RunCost, budget: int | None) -> tuple[str, str] | None:
    """``(field, message)`` when the run would not fit the budget, else None."""
    if budget is None or cost.peak_bytes <= budget:
        return None
    field = cost.biggest_field()
    return (
        field,
        f"this run needs about {fmt_bytes(cost.peak_bytes)} of memory at its peak "
        f"(activations {fmt_bytes(cost.activation_bytes)}, data {fmt_bytes(cost.data_bytes)}, "
        f"weights and optimizer state {fmt_bytes(cost.weight_bytes)}), over the "
        f"{fmt_bytes(budget)} a run may use; lower {field} (or raise {BUDGET_ENV})",
    )
