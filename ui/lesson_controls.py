"""A lesson's controls: the few settings students may change before they launch.

The controls are read off the lesson's own runs, so every lesson file gets them
without saying so: a setting the lesson writes (``learning_rate``, ``epochs``,
``optimizer``, …) is one control for all runs when the runs agree on it, and one per
run when they differ (the knob the lesson is about: the four learning rates). The
lesson's ``locked`` paths are drawn disabled and its ``hidden`` ones not drawn, until
a teacher unlocks them.

Pure: the page (``ui.lesson_view``) draws ``Control``s; ``edited`` turns the values
drawn back into the runs to launch, each validated, every problem named by the control
it belongs to so it is shown next to that field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.config import SCALARS, validate
from engine.errors import ConfigError
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS
from ui.lessons import Lesson, LessonRun

OPTIMIZER = Param(
    "str",
    "adam",
    choices=tuple(OPTIMIZERS.names()),
    label="Optimizer",
    help="The Keras optimizer every run uses.",
)
# In the order they are drawn: what a lesson usually compares first.
PATHS = (
    "optimizer",
    "learning_rate",
    "batch_size",
    "grad_accum_steps",
    "epochs",
    "precision",
    "validation_split",
    "seed",
)
EDITED = " · edited"  # a run whose settings a student changed keeps no prediction


@dataclass(frozen=True)
class Control:
    path: str
    param: Param
    per_run: bool  # one value per run (the lesson's knob) or one for all runs
    values: tuple[Any, ...]  # the lesson's value for each run (all equal when shared)
    access: str  # "open", "locked" or "hidden"

    @property
    def label(self) -> str:
        return self.param.title(self.path)


def _covers(paths: Sequence[str], path: str) -> bool:
    """``optimizer`` locks ``optimizer`` and ``optimizer.momentum``; ``optimizer.momentum``
    does not lock the whole optimizer."""
    return any(path == p or path.startswith(p + ".") for p in paths)


def _nested(lesson: Lesson) -> list[str]:
    """The dotted settings the runs write inside ``data``, ``model`` and an optimizer
    object (``data.noise``, ``model.width``, ``optimizer.momentum``), in first-seen order."""
    out: dict[str, None] = {}
    for r in lesson.runs:
        for head in ("data", "model", "optimizer"):
            sub = r.config.get(head)
            if isinstance(sub, dict):
                out.update((f"{head}.{k}", None) for k in sub if k != "name")
    return list(out)


def _param(path: str, canonical: Sequence[Mapping[str, Any]]) -> Param | None:
    """The ``Param`` a control for ``path`` is drawn with, None when there is none."""
    head, _, leaf = path.partition(".")
    if not leaf:
        return OPTIMIZER if path == "optimizer" else SCALARS.get(path)
    if head == "data":
        return DATA_PARAMS.get(leaf)
    if head == "model":
        return MODEL_PARAMS.get(leaf)
    names = {c["optimizer"]["name"] for c in canonical}
    if head == "optimizer" and len(names) == 1:
        # One optimizer for every run: its own setting (momentum) is a control.
        return OPTIMIZERS.entry(names.pop()).params.get(leaf)
    return None


def _get(cfg: Mapping[str, Any], path: str) -> Any:
    node: Any = cfg
    for part in path.split("."):
        node = node[part]
    return node


def controls(lesson: Lesson, canonical: Sequence[Mapping[str, Any]]) -> list[Control]:
    """The lesson's controls, given its runs' canonical configs (in run order)."""
    out: list[Control] = []
    for path in [*PATHS, *_nested(lesson)]:
        if "." not in path and not any(path in r.config for r in lesson.runs):
            continue
        param = _param(path, canonical)
        if param is None or param.kind not in ("int", "float", "bool", "str"):
            continue
        if path == "optimizer":
            # A name only: an optimizer object's own settings (momentum) belong to the
            # run that sets them, so an optimizer given as an object is not a control.
            if not all(isinstance(r.config.get(path, "x"), str) for r in lesson.runs):
                continue
            values = tuple(c[path]["name"] for c in canonical)
        else:
            try:
                values = tuple(_get(c, path) for c in canonical)
            except (KeyError, TypeError):
                continue
        access = (
            "hidden"
            if _covers(lesson.hidden, path)
            else "locked"
            if _covers(lesson.locked, path)
            else "open"
        )
        per_run = any(not _same(v, values[0]) for v in values)
        out.append(
            Control(path, param, per_run, values if per_run else values[:1] * len(values), access)
        )
    # The runs' own settings (the comparison) first, then the ones they share.
    return sorted(out, key=lambda c: not c.per_run)


def _put(raw: dict, path: str, value: Any) -> None:
    """``raw[a][b] = value``, an absent object created and a named one (``"sgd"``) opened
    into ``{"name": "sgd"}`` so its setting can be given."""
    *parents, leaf = path.split(".")
    node = raw
    for part in parents:
        child = node.get(part)
        if isinstance(child, str):
            child = {"name": child}
        elif not isinstance(child, dict):
            child = {}
        node[part] = child = dict(child)
        node = child
    node[leaf] = value


def _same(a: Any, b: Any) -> bool:
    """The lesson's value, as a widget gives it back (a number input says 20.0 for 20)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


@dataclass(frozen=True)
class Edited:
    """The runs to launch from the values drawn: names, raw configs, canonical configs
    (None where invalid) and every problem, keyed for the page: ``(path, run index or
    None for a shared control)`` or ``(None, None)`` for what no control owns."""

    names: list[str]
    raws: list[dict]
    configs: list[dict | None]
    problems: dict[tuple[str | None, int | None], list[tuple[str, str]]]
    changed: list[bool]

    @property
    def ok(self) -> bool:
        return not self.problems and all(c is not None for c in self.configs)

    def all_problems(self) -> list[tuple[str, str]]:
        return [p for ps in self.problems.values() for p in ps]


def edited(lesson: Lesson, ctrls: Sequence[Control], values: Mapping[str, Sequence[Any]]) -> Edited:
    """Each run's raw config with the drawn values put in (``values[path]`` holds one
    value per run), validated. A value equal to the lesson's leaves the run's config
    exactly as the file writes it, so an unedited lesson launches what it ships."""
    runs: Sequence[LessonRun] = lesson.runs
    raws = [copy.deepcopy(r.config) for r in runs]
    changed = [False] * len(runs)
    by_path = {c.path: c for c in ctrls}
    for path, vals in values.items():
        c = by_path[path]
        for i, v in enumerate(vals):
            if not _same(v, c.values[i]):
                _put(raws[i], path, v)
                changed[i] = True
    names = [r.name + (EDITED if changed[i] else "") for i, r in enumerate(runs)]
    problems: dict[tuple[str | None, int | None], list[tuple[str, str]]] = {}
    configs: list[dict | None] = []
    for i, raw in enumerate(raws):
        try:
            configs.append(validate(raw))
        except ConfigError as e:
            configs.append(None)
            for f, m in e.problems:
                owner = next((p for p in by_path if f == p or f.startswith(p + ".")), None)
                if owner is None:
                    key = (None, None)
                    shown = (f"{runs[i].name} → {f}" if len(runs) > 1 else f, m)
                elif by_path[owner].per_run:
                    key, shown = (owner, i), (f, m)
                else:
                    key = (owner, None)
                    shown = (f, m)
                if shown not in problems.setdefault(key, []):
                    problems[key].append(shown)
    return Edited(names, raws, configs, problems, changed)
