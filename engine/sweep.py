"""Sweeps: one base config, a grid of overrides, seed repeats → many runs.

A sweep file is data, like a config::

    {"base": {"task": "regression", "epochs": 5},
     "grid": {"optimizer.name": ["sgd", "adam"], "learning_rate": [1e-3, 1e-2]},
     "repeats": 2}

Grid keys are dotted paths into the config. Overrides are applied to the *raw*
base and only then validated, so values that ``validate`` works out (automatic
schedule lengths from epochs and batch size, the task's defaults) follow each
run's own settings instead of being frozen from the base. Every generated config
is validated before anything is queued: a sweep is never half-enqueued.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.config import TOP_LEVEL, validate
from engine.errors import ConfigError, field_path, show
from engine.json_input import check_nesting
from engine.spec.tasks import TASKS
from engine.store.validation import MAX_TAG, MAX_TAGS

SWEEP_KEYS = ("base", "grid", "space", "search", "repeats", "name", "tags")
MAX_RUNS = 1000
MAX_REPEATS = 100
MAX_NAME = 200
MAX_SWEEP_NAME = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_sweep_id() -> str:
    return "sw-" + uuid.uuid4().hex[:10]


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _check_path(path: Any) -> list[str]:
    where = f"grid.{path}"
    if not isinstance(path, str) or not path.strip():
        raise ConfigError("grid", f"keys must be dotted config paths, got {show(path)}")
    parts = path.split(".")
    if any(not p for p in parts):
        raise ConfigError(where, "empty segment in the dotted path")
    if parts[0] == "task":
        raise ConfigError(where, "the task cannot vary within a sweep: use one sweep per task")
    if parts[0] not in TOP_LEVEL:
        raise ConfigError(
            where, f"unknown config key {show(parts[0])} (one of {', '.join(TOP_LEVEL)})"
        )
    return parts


def _set(config: dict, parts: list[str], value: Any, task_defaults: dict, path: str) -> None:
    """Set ``config[a][b]... = value``, creating objects on the way.

    A string identifier on the way (``"optimizer": "adam"``) becomes
    ``{"name": "adam"}`` so its parameters can be set; a missing key starts from the
    task's default so ``optimizer.momentum`` on an SGD task keeps SGD. Changing an
    object's ``name`` drops the old object's parameters: they belonged to the old
    optimizer/schedule/loss and would be errors on the new one.
    """
    node = config
    for depth, key in enumerate(parts[:-1]):
        here = ".".join(parts[: depth + 1])
        if key not in node:
            node[key] = copy.deepcopy(task_defaults.get(key)) if depth == 0 else None
        child = node[key]
        if child is None:
            child = {}
        elif isinstance(child, str):
            child = {"name": child}
        elif not isinstance(child, dict):
            raise ConfigError(
                path,
                f"{here} is {show(child)}, not an object, so it has no field "
                f"{show(parts[depth + 1])}",
            )
        node[key] = child
        node = child
    last = parts[-1]
    if last == "name" and len(parts) > 1 and node.get("name") != value:
        node.clear()
    node[last] = copy.deepcopy(value)


def _attribute(field: str, paths: list[str]) -> str:
    for p in paths:
        if field == p or field.startswith(p + ".") or p.startswith(field + "."):
            return f"grid.{field}"
    return f"base.{field}" if field else "base"


def _search_keys(sweep: dict) -> list[tuple[str, str]]:
    """A sweep has a grid or a space (``engine.search``), and a search block only
    with a space."""
    problems = []
    if "space" in sweep and "grid" in sweep:
        problems.append(("grid", "a sweep gives a grid or a space to search, not both"))
    if "search" in sweep and "space" not in sweep:
        problems.append(("search", "a search needs a space: {path: {uniform|int|choice|...}}"))
    return problems


def _check_sweep(sweep: Any) -> tuple[dict, dict[str, list], int]:
    if not isinstance(sweep, dict):
        raise ConfigError("sweep", f"must be a JSON object, got {type(sweep).__name__}")
    check_nesting(sweep)
    problems = [
        (field_path("", k), f"unknown key (allowed: {', '.join(SWEEP_KEYS)})")
        for k in sweep
        if k not in SWEEP_KEYS
    ]
    base = sweep.get("base")
    if not isinstance(base, dict):
        problems.append(("base", f"must be a config object, got {show(base)}"))
    problems += _search_keys(sweep)
    grid = sweep.get("grid", {})
    if not isinstance(grid, dict):
        problems.append(("grid", f"must be an object of path -> list of values, got {show(grid)}"))
        grid = {}
    for path, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(
                (f"grid.{path}", f"must be a non-empty list of values, got {show(values)}")
            )
        else:
            try:
                _check_path(path)
            except ConfigError as e:
                problems.extend(e.problems)
    repeats = sweep.get("repeats", 1)
    if (
        isinstance(repeats, bool)
        or not isinstance(repeats, int)
        or not (1 <= repeats <= MAX_REPEATS)
    ):
        problems.append(
            ("repeats", f"must be an integer in [1, {MAX_REPEATS}], got {show(repeats)}")
        )
    name = sweep.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(("name", f"must be text, got {show(name)}"))
    elif name is not None and (len(name) > MAX_SWEEP_NAME or _CONTROL.search(name)):
        problems.append(
            ("name", f"must be one line of at most {MAX_SWEEP_NAME} characters, got {show(name)}")
        )
    tags = sweep.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(("tags", f"must be a list of text tags, got {show(tags)}"))
    elif len(tags) > MAX_TAGS:
        problems.append(("tags", f"at most {MAX_TAGS} tags, got {len(tags)}"))
    else:
        for i, t in enumerate(tags):
            if not t.strip() or len(t) > MAX_TAG or _CONTROL.search(t):
                problems.append(
                    (f"tags[{i}]", f"must be one line of 1 to {MAX_TAG} characters, got {show(t)}")
                )
    if problems:
        raise ConfigError(problems)
    n = repeats
    for values in grid.values():
        n *= len(values)
    if n > MAX_RUNS:
        raise ConfigError("grid", f"{n} runs (grid × repeats); at most {MAX_RUNS} per sweep")
    return base, grid, repeats


@dataclass(frozen=True)
class Choice:
    """One value on one axis of a sweep: the config paths it sets and how a run's name
    says it. A grid value is one path (``learning_rate=0.01``); the dashboard's "each
    optimizer at its usual rate" sets two at once (``adam · lr 0.001``)."""

    label: str
    overrides: Mapping[str, Any]


@dataclass
class PlannedRun:
    """One run of an expanded sweep, before validation: the raw config it will be
    validated from, the label each axis gave it and the seed its repeat set (None when
    the run keeps its config's own seed)."""

    labels: tuple[str, ...]
    seed: int | None
    raw: dict[str, Any]
    overrides: dict[str, Any]
    # an override that could not be set, named by its path
    problems: list[tuple[str, str]] = field(default_factory=list)


def plan(
    base: dict,
    axes: Sequence[Sequence[Choice]],
    *,
    repeats: int = 1,
    seed: int | None = None,
) -> list[PlannedRun]:
    """Every combination of one choice per axis, ``repeats`` times each (axis order,
    then repeats): the one expansion the CLI's sweeps and the dashboard's launches share.

    Overrides go into the *raw* base, parents before children, so automatic values
    follow each run's own settings once it is validated. With ``seed`` every run's
    seed is ``seed + repeat`` (one repeat included); without it, repeats count up from
    each run's own seed (the task's default when it has none) and a single repeat
    keeps it. Nothing is validated here: a problem setting an override is recorded on
    its run, named by the override's path.
    """
    runs: list[PlannedRun] = []
    for combo in itertools.product(*axes):
        overrides: dict[str, Any] = {}
        for choice in combo:
            overrides.update(choice.overrides)
        task = overrides.get("task", base.get("task"))
        task_defaults = TASKS[task].defaults if isinstance(task, str) and task in TASKS else {}
        parts = {p: p.split(".") for p in overrides}
        order = sorted(overrides, key=lambda p: len(parts[p]))
        for r in range(repeats):
            raw = copy.deepcopy(base)
            run = PlannedRun(tuple(c.label for c in combo), None, raw, dict(overrides))
            runs.append(run)
            try:
                for p in order:
                    _set(raw, parts[p], overrides[p], task_defaults, p)
            except ConfigError as e:
                run.problems = e.problems
                continue
            start = seed
            if start is None and repeats > 1:
                start = raw.get("seed", base.get("seed", task_defaults.get("seed", 42)))
            if isinstance(start, int) and not isinstance(start, bool):
                raw["seed"] = run.seed = start + r
                run.overrides["seed"] = start + r
    return runs


def is_search(sweep: Any) -> bool:
    """A sweep file that searches a ``space`` (``engine.search``) instead of a grid."""
    return isinstance(sweep, dict) and "space" in sweep


def check_common(sweep: Any) -> None:
    """The keys a grid and a search share (base, repeats, name, tags), field-named."""
    _check_sweep(sweep)


def expand(sweep: Any) -> list[dict[str, Any]]:
    """The sweep's runs: ``[{"name", "config", "overrides"}]``, grid order × repeats.

    ``config`` is the validated (canonical) config; ``overrides`` maps each grid path
    (and ``seed`` for repeats) to this run's value. Raises ``ConfigError`` naming
    ``grid.<path>`` or ``base.<field>`` for every problem in any run.
    """
    base, grid, repeats = _check_sweep(sweep)
    if is_search(sweep):
        raise ConfigError("space", "a search is asked trial by trial: run it as a study")
    try:
        validate(base)
    except ConfigError as e:
        # A grid may fix what the base lacks (e.g. a bad base lr swept over), so only
        # a missing or unknown task stops us here.
        if any(f == "task" for f, _ in e.problems):
            raise ConfigError([(f"base.{f}", m) for f, m in e.problems]) from None
    paths = list(grid)
    for p in paths:
        _check_path(p)
    axes = [[Choice(f"{p}={_fmt(v)}", {p: v}) for v in grid[p]] for p in paths]
    varying = [i for i, p in enumerate(paths) if len(grid[p]) > 1]

    runs: list[dict[str, Any]] = []
    problems: dict[tuple[str, str], list[str]] = {}
    for run in plan(base, axes, repeats=repeats):
        if run.problems:
            for f, m in run.problems:
                problems.setdefault((f"grid.{f}", m), [])
            continue
        label = [run.labels[i] for i in varying]
        if run.seed is not None:
            label.append(f"seed={run.seed}")
        name = " ".join(label or run.labels or ["base"])
        if sweep.get("name"):
            # the sweep's name leads each run's, which is how a sweep shows in the table
            name = sweep["name"].strip() if name == "base" else f"{sweep['name'].strip()} · {name}"
        name = name[:MAX_NAME]
        try:
            cfg = validate(run.raw)
        except ConfigError as e:
            for f, m in e.problems:
                problems.setdefault((_attribute(f, paths), m), []).append(name)
            continue
        runs.append({"name": name, "config": cfg, "overrides": run.overrides})
    if problems:
        total = repeats * math.prod(len(v) for v in grid.values())
        out = []
        for (f, m), names in problems.items():
            if f.startswith("base.") and 0 < len(set(names)) < total:
                shown = ", ".join(sorted(set(names))[:3])
                m = f"{m} (in {shown}{', ...' if len(set(names)) > 3 else ''})"
            out.append((f, m))
        raise ConfigError(out)
    return runs


def submit_sweep(executor, sweep: Any, *, tags: list[str] | None = None) -> tuple[str, list[str]]:
    """Expand, validate and queue a whole sweep in one transaction: ``(sweep_id, run_ids)``."""
    runs = expand(sweep)
    sweep_id = new_sweep_id()
    all_tags = list(dict.fromkeys([*(sweep.get("tags") or []), *(tags or [])]))
    ids = executor.submit(
        [r["config"] for r in runs],
        names=[r["name"] for r in runs],
        sweep_id=sweep_id,
        tags=all_tags or None,
    )
    return sweep_id, ids
