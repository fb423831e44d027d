"""Findings turned into config changes: ``{"why": ..., "change": {dotted.path: value}}``.

A change is applied to the run's own config and the result must pass the config
contract (``engine.config.validate``) and differ from the run, or it is not offered.
Suggestions come in the order of the findings (main first) and, within one finding,
most promising first: the one the documents and the tuning playbook reach for first,
and the one ``tests/engine/test_suggestions.py`` proves helps on real runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import validate
from engine.diagnosis.clipping import ClipStats
from engine.errors import ConfigError
from engine.spec.schedules import SCHEDULES

MAX_LR = 10.0
REGULARISED_DROPOUT = 0.5
REGULARISED_L2 = 1e-3
NARROW = 0.5


@dataclass(frozen=True)
class Suggestion:
    why: str
    change: dict[str, Any]
    finding: str  # the label it answers

    def to_dict(self) -> dict[str, Any]:
        return {"why": self.why, "change": dict(self.change), "for": self.finding}


@dataclass
class Context:
    """What the suggestions read besides the config: numbers from the findings."""

    evidence: Mapping[str, Any] = field(default_factory=dict)
    clipping: ClipStats | None = None
    epochs_run: int = 0
    signs: frozenset[str] = frozenset()  # the signs that fired, of every finding

    @property
    def severe(self) -> bool:
        """A too-high rate that blew up or never settles: 3× lower is not enough."""
        return bool(self.signs & {"first-epoch blow-up", "never settles", "climbed back up"})

    @property
    def crawling(self) -> bool:
        """Barely moved at all: 10× higher, not 3×."""
        return "crawling" in self.signs


def nice(x: float) -> float:
    """Two significant digits: 0.0031 rather than 0.0030000000000000005."""
    return float(f"{x:.2g}") if x and math.isfinite(x) else x


def apply_change(config: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each dotted path set (objects on the way are created; a string
    identifier on the way, ``"optimizer": "adam"``, becomes ``{"name": "adam"}``)."""
    out = copy.deepcopy(dict(config))
    for path, value in change.items():
        parts = path.split(".")
        node = out
        for key in parts[:-1]:
            child = node.get(key)
            if isinstance(child, str):
                child = {"name": child}
            elif not isinstance(child, dict):
                child = {}
            node[key] = child
            node = child
        node[parts[-1]] = copy.deepcopy(value)
    return out


def _valid(config: Mapping[str, Any], change: Mapping[str, Any]) -> bool:
    """``config`` is canonical (validated): the change must keep it valid and alter it."""
    try:
        return validate(apply_change(config, change)) != config
    except ConfigError:
        return False


def _auto_schedule_keys(config: Mapping[str, Any]) -> list[str]:
    """The run's schedule lengths that followed its length (so a longer run should
    recompute them rather than keep the old numbers)."""
    sched = config.get("schedule")
    if not isinstance(sched, Mapping):
        return []
    out = []
    name = sched.get("name")
    for key in SCHEDULES.entry(name).lengths if name in SCHEDULES else ():
        if sched.get(key) is None:
            continue
        try:
            again = validate(apply_change(config, {f"schedule.{key}": None}))
        except ConfigError:
            continue
        if (again.get("schedule") or {}).get(key) == sched.get(key):
            out.append(f"schedule.{key}")
    return out


def _longer(config: Mapping[str, Any], factor: float = 2.0) -> dict[str, Any]:
    epochs = int(config.get("epochs") or 1)
    change: dict[str, Any] = {"epochs": max(epochs + 1, round(epochs * factor))}
    for key in _auto_schedule_keys(config):
        change[key] = None
    return change


def _lr(config: Mapping[str, Any], factor: float) -> dict[str, Any]:
    """The new learning rate, and the schedule's own rates moved with it (a piecewise
    schedule's ``values``), so the change changes the rates the run applies."""
    old = float(config["learning_rate"])
    new = min(MAX_LR, nice(old * factor))
    change: dict[str, Any] = {"learning_rate": new}
    sched = config.get("schedule")
    if isinstance(sched, Mapping) and sched.get("name") in SCHEDULES:
        for key in SCHEDULES.entry(sched["name"]).rates:
            if isinstance(sched.get(key), list):
                change[f"schedule.{key}"] = [min(MAX_LR, nice(v * new / old)) for v in sched[key]]
    return change


def _for_diverged(cfg, ctx):
    lr = cfg["learning_rate"]
    at = ctx.evidence.get("diverged_at_update")
    where = f" at update {at}" if at else ""
    yield (
        f"Lower the learning rate 10× ({lr:g} → {nice(lr / 10):g}): the loss overflowed{where}.",
        _lr(cfg, 0.1),
    )
    if not cfg.get("clipping"):
        yield (
            "Clip the global gradient norm at 1.0, the standard guard against one huge step.",
            {"clipping": {"global_clipnorm": 1.0}},
        )
    yield (f"Lower the learning rate 3× ({lr:g} → {nice(lr / 3):g}).", _lr(cfg, 1 / 3))


def _for_lr_too_high(cfg, ctx):
    lr = cfg["learning_rate"]
    clip = ctx.clipping
    if ctx.severe:
        yield (
            f"Lower the learning rate 10× ({lr:g} → {nice(lr / 10):g}): the loss never settles "
            "(or blew up), a step that size is far too large.",
            _lr(cfg, 0.1),
        )
    if clip is not None and clip.aggressive:
        yield (
            f"More than half the updates clipped ({clip.share:.0%}): lower the learning rate "
            f"instead ({lr:g} → {nice(lr * 0.3):g}).",
            _lr(cfg, 0.3),
        )
    else:
        yield (
            f"Lower the learning rate 3× ({lr:g} → {nice(lr / 3):g}): the loss bounces "
            "instead of settling.",
            _lr(cfg, 1 / 3),
        )
    yield (f"Lower the learning rate 10× ({lr:g} → {nice(lr / 10):g}).", _lr(cfg, 0.1))
    if not cfg.get("clipping") and clip is not None and math.isfinite(clip.p90) and clip.p90 > 0:
        p90 = nice(clip.p90)
        yield (
            f"Clip the global gradient norm at {p90:g}, the 90th percentile of this run's "
            "gradient norms (the tuning playbook's starting threshold).",
            {"clipping": {"global_clipnorm": p90}},
        )
    if not cfg.get("schedule") or cfg["schedule"].get("name") == "constant":
        yield (
            "Keep the peak but warm up to it and decay after (warmup + cosine).",
            {"schedule": {"name": "warmup_cosine"}},
        )


def _random_targets(cfg):
    if (cfg.get("data") or {}).get("learnable") is False:
        yield (
            "The targets are random (learnable: false): there is nothing to learn, only to "
            "memorise. Learnable targets show the model learning.",
            {"data.learnable": True},
        )


def _for_overfitting(cfg, ctx):
    yield from _random_targets(cfg)
    best = ctx.evidence.get("best_val_epoch")
    # patient enough to reach this run's best epoch (its curve is the follow-up's, seeded)
    patience = max(2, int(ctx.evidence.get("patience_to_reach_best") or 2))
    if "early_stopping" not in (cfg.get("callbacks") or {}):
        yield (
            "Stop at the best epoch"
            + (f" ({best})" if best else "")
            + f": early stopping on val_loss (patience {patience}), restoring the best "
            "weights.",
            {
                "callbacks.early_stopping": {
                    "monitor": "val_loss",
                    "patience": patience,
                    "restore_best_weights": True,
                }
            },
        )
    model = cfg.get("model") or {}
    if not model.get("dropout"):
        yield ("Add dropout 0.3 after every hidden layer.", {"model.dropout": 0.3})
    l2 = float(model.get("l2") or 0.0)
    yield (
        f"Add an L2 penalty ({l2:g} → {nice(max(1e-4, l2 * 10)):g}).",
        {"model.l2": nice(max(1e-4, l2 * 10))},
    )
    width = float(model.get("width") or 1.0)
    yield (
        f"Halve the model's width ({width:g} → {nice(width / 2):g}).",
        {"model.width": nice(width / 2)},
    )


def _for_lr_too_low(cfg, ctx):
    lr = cfg["learning_rate"]
    gain = ctx.evidence.get("total_gain") or 0.0
    factor = 10.0 if ctx.crawling else 3.0
    yield (
        f"Raise the learning rate {factor:g}× ({lr:g} → {nice(lr * factor):g}): the loss "
        f"fell {gain:.0%} in all.",
        _lr(cfg, factor),
    )
    yield ("Train twice as long.", _longer(cfg))


def _for_underfitting(cfg, ctx):
    yield from _random_targets(cfg)
    model = cfg.get("model") or {}
    undo: dict[str, Any] = {}
    what = []
    if float(model.get("width") or 1.0) < NARROW:
        undo["model.width"] = 1.0
        what.append(f"width {model['width']:g} → 1")
    if (model.get("dropout") or 0.0) >= REGULARISED_DROPOUT:
        undo["model.dropout"] = None
        what.append(f"dropout {model['dropout']:g} → the document's")
    if float(model.get("l2") or 0.0) >= REGULARISED_L2:
        undo["model.l2"] = 0.0
        what.append(f"L2 {model['l2']:g} → 0")
    if undo:
        yield ("Give the model room: " + ", ".join(what) + ".", undo)
        if len(undo) > 1:
            for (k, v), w in zip(undo.items(), what, strict=True):
                yield (f"Only {w}.", {k: v})
    width = float(model.get("width") or 1.0)
    yield (
        f"Double the model's width ({width:g} → {nice(width * 2):g}).",
        {"model.width": nice(width * 2)},
    )
    if ctx.evidence.get("steadily_falling"):
        yield ("Train twice as long: the loss is still falling.", _longer(cfg))
    lr = cfg["learning_rate"]
    yield (f"Raise the learning rate 3× ({lr:g} → {nice(lr * 3):g}).", _lr(cfg, 3.0))


def _for_still_improving(cfg, ctx):
    epochs = cfg.get("epochs")
    gain = ctx.evidence.get("final_gain_per_epoch") or 0.0
    change = _longer(cfg)
    yield (
        f"Train longer ({epochs} → {change['epochs']} epochs): the loss was still falling "
        f"{gain:.0%} per epoch at the end.",
        change,
    )
    lr = cfg["learning_rate"]
    yield (
        f"Or raise the learning rate 3× ({lr:g} → {nice(lr * 3):g}) to get there sooner.",
        _lr(cfg, 3.0),
    )


RULES = {
    "diverged": _for_diverged,
    "lr_too_high": _for_lr_too_high,
    "overfitting": _for_overfitting,
    "lr_too_low": _for_lr_too_low,
    "underfitting": _for_underfitting,
    "still_improving": _for_still_improving,
}


def suggest(labels: list[str], config: Mapping[str, Any] | None, ctx: Context) -> list[Suggestion]:
    """Every finding's changes, main finding first, each valid and each new."""
    if not isinstance(config, Mapping):
        return []
    try:
        cfg = validate(dict(config))
    except ConfigError:
        return []
    out: list[Suggestion] = []
    seen: list[dict] = []
    for label in labels:
        for why, change in RULES.get(label, lambda *_: ())(cfg, ctx):
            if change in seen or not _valid(cfg, change):
                continue
            seen.append(change)
            out.append(Suggestion(why, change, label))
    return out
