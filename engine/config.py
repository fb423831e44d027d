"""The run config: defaults from the task, validation, normalisation.

``validate(raw)`` is the one gate: it returns the canonical config (every default
filled, every identifier expanded to ``{"name": ..., **params}``, automatic
schedule lengths worked out) or raises ``ConfigError`` listing each bad field.
It is a fixed point — ``validate(validate(c)) == validate(c)`` — so stored configs
re-import unchanged. Pure Python: no TensorFlow import.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from engine import run_cost
from engine.errors import ConfigError, field_path, show
from engine.json_input import check_nesting
from engine.run_shape import shape_of
from engine.spec.callbacks import CALLBACKS
from engine.spec.clipping import check_clipping
from engine.spec.losses import LOSSES
from engine.spec.metrics import METRICS, metric_name
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param, check_object
from engine.spec.precision import PRECISIONS
from engine.spec.schedules import SCHEDULES, RunLength
from engine.spec.tasks import (
    DATA_PARAMS,
    MAX_INPUT_FLOATS,
    MODEL_PARAMS,
    TASKS,
    Task,
)

TOP_LEVEL = (
    "task",
    "data",
    "model",
    "loss",
    "loss_weights",
    "optimizer",
    "learning_rate",
    "schedule",
    "batch_size",
    "grad_accum_steps",
    "epochs",
    "clipping",
    "precision",
    "metrics",
    "callbacks",
    "validation_split",
    "seed",
    "jit_compile",
    "run_eagerly",
)

SCALARS = {
    "learning_rate": Param(
        "float",
        1e-3,
        lo=0,
        lo_open=True,
        hi=10.0,
        log=True,
        label="Learning rate",
        help="Initial (or peak, with warmup) step size. Too high: loss "
        "spikes or turns NaN. Too low: curves crawl. Adam: ~1e-3; SGD: "
        "~1e-2.",
    ),
    "batch_size": Param(
        "int",
        32,
        lo=1,
        hi=8192,
        label="Batch size",
        help="Examples per gradient step. Small = noisy steps, more updates; "
        "large = smoother, fewer updates, may need a higher LR.",
    ),
    "grad_accum_steps": Param(
        "int",
        1,
        lo=1,
        hi=64,
        label="Gradient accumulation steps",
        help="Average gradients over this many batches before one "
        "update: effective batch = batch_size × this.",
    ),
    "epochs": Param(
        "int", 10, lo=1, hi=1000, label="Epochs", help="Maximum passes over the training data."
    ),
    "precision": Param(
        "str",
        "float32",
        choices=tuple(PRECISIONS),
        label="Precision",
        help="Numeric precision policy of the model's layers.",
    ),
    "validation_split": Param(
        "float",
        0.2,
        lo=0,
        hi=0.9,
        nullable=True,
        label="Validation share",
        help="Share of training data held out for validation curves. "
        "null = the task's own validation set (or none).",
    ),
    "seed": Param(
        "int",
        42,
        lo=0,
        hi=2**31 - 1,
        label="Random seed",
        help="One seed for data, initial weights, dropout and shuffling.",
    ),
    "jit_compile": Param(
        "bool",
        False,
        label="Compile with XLA",
        help="Compile the step with XLA (often no gain on a CPU; slower first epoch).",
    ),
    "run_eagerly": Param(
        "bool", False, label="Run eagerly", help="Run the step eagerly for debugging (slow)."
    ),
}

MAX_TOTAL_UPDATES = 2_000_000


def _task(raw: dict) -> Task:
    tid = raw.get("task")
    if tid is None:
        raise ConfigError("task", f"is required (one of {sorted(TASKS)})")
    if not isinstance(tid, str) or tid not in TASKS:
        raise ConfigError("task", f"unknown task {show(tid)} (one of {sorted(TASKS)})")
    return TASKS[tid]


def defaults_for(task_id: str) -> dict[str, Any]:
    """The document's config for a task, normalised."""
    return validate({"task": task_id})


def _collect(problems: list, fn, *args):
    try:
        return fn(*args)
    except ConfigError as e:
        problems.extend(e.problems)
        return None


def _check_loss(value, where: str, kind: str, activation: str | None):
    loss = LOSSES.normalize(value, where)
    entry = LOSSES.entry(loss["name"])
    if kind not in entry.tags:
        fits = [e.name for e in LOSSES if kind in e.tags]
        raise ConfigError(
            where, f"{show(loss['name'])} does not fit {kind} targets (use one of {fits})"
        )
    if "from_logits" in loss and kind != "regression":
        if activation is None and not loss["from_logits"]:
            raise ConfigError(
                f"{where}.from_logits",
                "must be true: this output layer emits raw logits (no sigmoid/softmax)",
            )
        if activation is not None and loss["from_logits"]:
            raise ConfigError(
                f"{where}.from_logits",
                f"must be false: the output layer already applies {activation}",
            )
    return loss


def _check_metrics(value, where: str, kind: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(where, f"must be a list of metric ids, got {show(value)}")
    out, problems, seen = [], [], set()
    for i, m in enumerate(value):
        try:
            norm = METRICS.normalize(m, f"{where}[{i}]")
        except ConfigError as e:
            problems.extend(e.problems)
            continue
        entry = METRICS.entry(norm["name"])
        if kind not in entry.tags:
            fits = [e.name for e in METRICS if kind in e.tags]
            problems.append(
                (
                    f"{where}[{i}]",
                    f"{show(norm['name'])} does not fit {kind} targets (use one of {fits})",
                )
            )
            continue
        key = metric_name(norm["name"], norm)
        if key in seen:
            problems.append((f"{where}[{i}]", f"duplicate metric {show(key)}"))
            continue
        seen.add(key)
        out.append(norm)
    if problems:
        raise ConfigError(problems)
    return out


def _check_callbacks(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("callbacks", f"must be an object, got {show(value)}")
    problems, out = [], {}
    for name, cb in value.items():
        if name not in CALLBACKS.names():
            problems.append(
                (field_path("callbacks", name), f"unknown callback (one of {CALLBACKS.names()})")
            )
            continue
        if cb is None or cb is False:
            continue
        if cb is True:
            cb = {}
        if not isinstance(cb, dict):
            problems.append((f"callbacks.{name}", f"must be an object, got {show(cb)}"))
            continue
        try:
            out[name] = check_object(cb, f"callbacks.{name}", CALLBACKS.entry(name).params)
        except ConfigError as e:
            problems.extend(e.problems)
    if problems:
        raise ConfigError(problems)
    return out


def _check_schedule(sched: Any, learning_rate: float | None) -> dict | None:
    """The registry's canonical form, after the entry's upgrade of an older spelling."""
    if sched is None:
        return None
    if (
        isinstance(sched, dict)
        and isinstance(sched.get("name"), str)
        and sched["name"] in SCHEDULES
    ):
        entry = SCHEDULES.entry(sched["name"])
        if entry.upgrade is not None:
            sched = entry.upgrade(sched, learning_rate)
    return SCHEDULES.normalize(sched, "schedule")


def _fill_schedule(sched: dict | None, cfg: dict) -> dict | None:
    """The entry works out its automatic params and checks them together."""
    if sched is None:
        return None
    run = RunLength(max(1, shape_of(cfg).total_updates), cfg["learning_rate"])
    return SCHEDULES.entry(sched["name"]).fill(dict(sched), run)


def logged_names(cfg: dict[str, Any]) -> list[str]:
    """Names Keras logs per epoch for this config (train side; ``val_`` for validation)."""
    task = TASKS[cfg["task"]]
    names = ["loss"]
    if task.multi_output:
        for h in task.heads:
            names.append(f"{h.name}_loss")
        for h in task.heads:
            names += [f"{h.name}_{metric_name(m['name'], m)}" for m in cfg["metrics"][h.name]]
    else:
        names += [metric_name(m["name"], m) for m in cfg["metrics"]]
    return names


def validate(raw: Any) -> dict[str, Any]:  # noqa: C901 (the contract, field by field, in order)
    """Check a raw config and return its canonical form (see module docstring)."""
    if not isinstance(raw, dict):
        raise ConfigError("config", f"must be a JSON object, got {type(raw).__name__}")
    check_nesting(raw)  # before any copy or repr: a 900-deep list exhausts the stack
    task = _task(raw)
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in TOP_LEVEL:
            problems.append((field_path("", key), f"unknown key (allowed: {', '.join(TOP_LEVEL)})"))

    d = copy.deepcopy(task.defaults)
    merged: dict[str, Any] = {"task": task.id}
    for key in TOP_LEVEL[1:]:
        merged[key] = copy.deepcopy(raw[key]) if key in raw else d.get(key)
    out: dict[str, Any] = {"task": task.id}

    # data / model: per-key overrides of the task's values
    data_in = raw.get("data", {})
    if not isinstance(data_in, dict):
        problems.append(("data", f"must be an object, got {show(data_in)}"))
        data_in = {}
    data_params = {
        k: Param(p.kind, task.data[k], lo=p.lo, hi=p.hi, help=p.help)
        for k, p in DATA_PARAMS.items()
    }
    if not task.has_own_validation:
        data_params["n_val"] = Param(
            "int", 0, lo=0, hi=0, help="This task has no validation set of its own."
        )
    out["data"] = _collect(problems, check_object, data_in, "data", data_params)
    model_in = raw.get("model", {})
    if not isinstance(model_in, dict):
        problems.append(("model", f"must be an object, got {show(model_in)}"))
        model_in = {}
    out["model"] = _collect(problems, check_object, model_in, "model", MODEL_PARAMS)

    for key, p in SCALARS.items():
        out[key] = _collect(problems, p.check, merged[key], key)

    # loss / metrics / loss_weights, per head for multi-output tasks
    if task.multi_output:
        heads = [h.name for h in task.heads]
        for key in ("loss", "metrics", "loss_weights"):
            v = merged[key]
            if (
                not isinstance(v, dict)
                or set(v) - set(heads)
                or (key == "loss" and set(v) != set(heads))
            ):
                problems.append(
                    (key, f"must be an object keyed by this task's outputs {heads}, got {show(v)}")
                )
                out[key] = None
        if not any(f == "loss" for f, _ in problems):
            out["loss"] = {
                h.name: _collect(
                    problems,
                    _check_loss,
                    merged["loss"][h.name],
                    f"loss.{h.name}",
                    h.kind,
                    h.activation,
                )
                for h in task.heads
            }
        if out.get("metrics", 0) is not None:
            out["metrics"] = {
                h.name: _collect(
                    problems,
                    _check_metrics,
                    merged["metrics"].get(h.name, []),
                    f"metrics.{h.name}",
                    h.kind,
                )
                for h in task.heads
            }
        if out.get("loss_weights", 0) is not None:
            w = Param("float", 1.0, lo=0, hi=1e3)
            out["loss_weights"] = {
                h.name: _collect(
                    problems,
                    w.check,
                    merged["loss_weights"].get(h.name, 1.0),
                    f"loss_weights.{h.name}",
                )
                for h in task.heads
            }
    else:
        head = task.heads[0]
        out["loss"] = _collect(
            problems, _check_loss, merged["loss"], "loss", head.kind, head.activation
        )
        out["metrics"] = _collect(
            problems,
            _check_metrics,
            [] if merged["metrics"] is None else merged["metrics"],
            "metrics",
            head.kind,
        )
        if merged["loss_weights"] is not None:
            problems.append(("loss_weights", "only multi-output tasks take loss weights"))
        out["loss_weights"] = None

    out["optimizer"] = _collect(problems, OPTIMIZERS.normalize, merged["optimizer"], "optimizer")
    out["schedule"] = _collect(problems, _check_schedule, merged["schedule"], out["learning_rate"])
    out["clipping"] = _collect(problems, check_clipping, merged["clipping"])
    out["callbacks"] = _collect(problems, _check_callbacks, merged["callbacks"])

    if problems:
        raise ConfigError(problems)

    # cross-field checks on the now well-typed config
    data = out["data"]
    head_kinds = {h.kind for h in task.heads}
    if data["noise"] > 0.5 and head_kinds & {"binary", "multiclass"}:
        problems.append(
            (
                "data.noise",
                f"must be ≤ 0.5 for classification (share of labels "
                f"randomised), got {data['noise']}",
            )
        )
    if len(task.input_shape) > 1 and out["model"]["depth"] == 0:
        # With no recurrent layer the output Dense would act on every time step and
        # emit a sequence where one label per example is expected: training fails.
        problems.append(
            (
                "model.depth",
                f"must be at least 1 for {task.id}: its recurrent layers turn each "
                "sequence into one vector for the output layer, got 0",
            )
        )
    floats = math.prod(task.input_shape) * (data["n_train"] + data["n_val"] + data["n_test"])
    if floats > MAX_INPUT_FLOATS:
        problems.append(
            ("data.n_train", f"data too large: {floats:,} input values (cap {MAX_INPUT_FLOATS:,})")
        )
    if out["validation_split"] is None and not task.has_own_validation:
        out["validation_split"] = 0.0
    if task.has_own_validation and out["validation_split"] == 0:
        out["validation_split"] = None
    shape = shape_of(out)
    if out["batch_size"] > shape.n_train:
        problems.append(
            (
                "batch_size",
                f"must be ≤ the {shape.n_train} training examples, got {out['batch_size']}",
            )
        )
    if shape.total_updates < 1:
        problems.append(
            (
                "grad_accum_steps",
                f"leaves no complete update: {shape.steps_per_epoch}"
                f" batches/epoch × {out['epochs']} epochs < "
                f"{out['grad_accum_steps']}",
            )
        )
    if shape.total_updates > MAX_TOTAL_UPDATES:
        problems.append(
            ("epochs", f"run too long: {shape.total_updates:,} updates (cap {MAX_TOTAL_UPDATES:,})")
        )
    logged = logged_names(out)
    for name, cb in out["callbacks"].items():
        mon = cb["monitor"]
        allowed = logged + ([f"val_{n}" for n in logged] if shape.n_val else [])
        if mon not in allowed:
            why = " (no validation data: set validation_split)" if mon.startswith("val_") else ""
            problems.append(
                (f"callbacks.{name}.monitor", f"{show(mon)} is not logged{why}; one of {allowed}")
            )
    if problems:
        raise ConfigError(problems)
    # Last: the estimate needs every other field well-formed.
    too_big = run_cost.budget_problem(run_cost.estimate(out), run_cost.memory_budget())
    if too_big:
        raise ConfigError([too_big])
    out["schedule"] = _collect(problems, _fill_schedule, out["schedule"], out)
    if problems:
        raise ConfigError(problems)
    return {k: out[k] for k in TOP_LEVEL}
