"""Config → Keras objects, and Keras objects → config (the round trip).

Everything is built from the registries' ``target`` paths, so adding an optimizer
is one ``Entry`` and nothing here changes.
"""

from __future__ import annotations

from typing import Any

import keras

from engine.keras_parts.schedules import UpdateSchedule
from engine.spec.clipping import CLIP_MODES
from engine.spec.losses import LOSSES, loss_call
from engine.spec.metrics import metric_call
from engine.spec.optimizers import OPTIMIZERS, optimizer_call
from engine.spec.params import resolve
from engine.spec.precision import loss_scaled
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import TASKS


def onehot_labels(cfg: dict, head: str = "output") -> bool:
    """Categorical cross-entropy wants one-hot targets; the tasks' labels are ints."""
    loss = cfg["loss"][head] if TASKS[cfg["task"]].multi_output else cfg["loss"]
    return loss["name"] == "categorical_crossentropy"


def build_loss(spec: dict):
    return loss_call(spec).build()


def build_metric(spec: dict, kind: str, onehot: bool):
    return metric_call(spec, kind, onehot).build()


def build_base_schedule(cfg: dict):
    """The schedule as a function of the update number (no plateau factor): the
    registry entry's Keras call, the one ``export_script`` writes out."""
    spec = cfg["schedule"] or {"name": "constant"}
    call = SCHEDULES.entry(spec["name"]).keras_call(spec)
    return call.build(LEARNING_RATE=cfg["learning_rate"])


def build_optimizer(cfg: dict, schedule=None):
    if schedule is None:
        schedule = UpdateSchedule(build_base_schedule(cfg), accum_steps=cfg["grad_accum_steps"])
    opt = optimizer_call(cfg).build(schedule=schedule)
    if loss_scaled(cfg["precision"]):
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def build_compile_args(cfg: dict) -> dict[str, Any]:
    """``loss``, ``loss_weights`` and ``metrics`` for ``model.compile``."""
    task = TASKS[cfg["task"]]
    if task.multi_output:
        return {
            "loss": {h.name: build_loss(cfg["loss"][h.name]) for h in task.heads},
            "loss_weights": dict(cfg["loss_weights"]),
            "metrics": {
                h.name: [
                    build_metric(m, h.kind, onehot_labels(cfg, h.name))
                    for m in cfg["metrics"][h.name]
                ]
                for h in task.heads
            },
        }
    head = task.heads[0]
    return {
        "loss": build_loss(cfg["loss"]),
        "metrics": [build_metric(m, head.kind, onehot_labels(cfg)) for m in cfg["metrics"]],
    }


# ---- objects → config -------------------------------------------------------------


def optimizer_to_config(opt) -> dict[str, Any]:
    inner = getattr(opt, "inner_optimizer", opt)
    kc = inner.get_config()
    name = type(inner).__name__.lower()
    entry = OPTIMIZERS.entry(name)
    return {"name": entry.name, **{k: kc[k] for k in entry.params}}


def clipping_to_config(opt) -> dict[str, float] | None:
    kc = getattr(opt, "inner_optimizer", opt).get_config()
    for entry in CLIP_MODES:
        threshold = entry.params["threshold"].default
        keras_args = entry.optimizer_kwargs(threshold)
        (arg,) = keras_args
        if kc.get(arg):  # the Keras argument's value back in the mode's own terms
            return {entry.name: kc[arg] * threshold / keras_args[arg]}
    return None


def loss_to_config(loss) -> dict[str, Any]:
    for entry in LOSSES:
        cls = resolve(entry.target)
        if type(loss) is cls:
            # Huber's get_config omits delta; the wrapper's kwargs have it.
            kc = {**getattr(loss, "_fn_kwargs", {}), **loss.get_config()}
            return {"name": entry.name, **{k: kc[entry.keras_args.get(k, k)] for k in entry.params}}
    raise ValueError(f"unknown loss object {loss!r}")


def schedule_to_config(schedule, learning_rate: float) -> dict[str, Any] | None:
    """The config a built schedule came from: the entry whose Keras call made it, each
    param read back from the object's config (the entries use Keras's own names)."""
    base = schedule.base if isinstance(schedule, UpdateSchedule) else schedule
    c = base.get_config()
    for entry in SCHEDULES:
        if type(base) is not resolve(entry.target):
            continue
        if entry.name == "constant":
            return None
        params = {k: c[k] for k in entry.params}
        return {
            "name": entry.name,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        }
    raise ValueError(f"unknown schedule object {base!r} (learning rate {learning_rate})")
