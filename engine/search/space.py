"""A sweep file's ``space`` and ``search`` blocks, parsed into typed records.

::

    {"base": {"task": "binary-20", "epochs": 20},
     "space": {"learning_rate": {"log_uniform": [1e-4, 1e-1]},
               "optimizer.name": {"choice": ["sgd", "adam"]},
               "optimizer.momentum": {"uniform": [0.0, 0.95], "when": {"optimizer.name": "sgd"}}},
     "search": {"sampler": "tpe", "trials": 24, "pruner": "median", "metric": "val_loss"}}

Keys are the dotted config paths a grid uses (``engine.sweep``). A space is checked
*before anything is queued*: its shape here, and then every corner it can reach (each
combination of its choices, every range at its low and at its high end) is turned
into a config and put through ``engine.config.validate``, so a range outside a knob's
own bounds, a choice its registry does not know, or a combination that cannot train
(momentum on Adam) is refused naming ``space.<path>``. The bounds are the knob's
``Param``'s (one home): validation reads them, this module never copies them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.config import logged_names, validate
from engine.errors import ConfigError, show
from engine.search.pruners import PrunerSpec, parse_pruner
from engine.search.samplers import SamplerSpec, check_sampler, parse_sampler
from engine.spec.metrics import metric_direction
from engine.sweep import MAX_RUNS, Choice, _check_path, _fmt, check_common, plan

KINDS = ("uniform", "log_uniform", "int", "choice")
PARAM_KEYS = (*KINDS, "step", "log", "when")
SEARCH_KEYS = ("sampler", "pruner", "trials", "metric", "seed")
DEFAULT_SAMPLER = "tpe"
DEFAULT_TRIALS = 10
MAX_SPACE = 32  # parameters; a space is a question a person asks, not a config dump
MAX_CHOICES = 100
# Corners checked up front: every combination of the choices up to this many, else
# each choice on its own (with the others at their first value).
MAX_CORNERS = 256
MAX_SEED = 2**32 - 1

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class SpaceParam:
    """One searched knob: its path, its kind and range (or choices), and the choice
    values of other parameters it is sampled under (``when``; empty: always)."""

    path: str
    kind: str  # one of KINDS
    low: float | None = None
    high: float | None = None
    step: int | None = None
    log: bool = False
    choices: tuple[Scalar, ...] = ()
    when: dict[str, tuple[Scalar, ...]] = field(default_factory=dict)

    def distribution(self):
        """The Optuna distribution this parameter is sampled from."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=self.step or 1)
        return FloatDistribution(self.low, self.high, log=self.log)

    def suggest(self, trial) -> Scalar:
        if self.kind == "choice":
            return trial.suggest_categorical(self.path, self.choices)
        if self.kind == "int":
            return trial.suggest_int(
                self.path, int(self.low), int(self.high), step=self.step or 1, log=self.log
            )
        return trial.suggest_float(self.path, self.low, self.high, log=self.log)

    def active(self, values: dict[str, Any]) -> bool:
        """Whether this parameter is sampled given the values drawn before it."""
        return all(p in values and values[p] in allowed for p, allowed in self.when.items())

    def corners(self) -> list[Scalar]:
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]

    def grid_values(self) -> list[Scalar]:
        """Every value this parameter can take (``grid`` sampler), or [] if continuous."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int" and not self.log:
            return list(range(int(self.low), int(self.high) + 1, self.step or 1))
        return []

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["choices"] = list(self.choices)
        d["when"] = {k: list(v) for k, v in self.when.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SpaceParam:
        return cls(
            **{
                **d,
                "choices": tuple(d.get("choices") or ()),
                "when": {k: tuple(v) for k, v in (d.get("when") or {}).items()},
            }
        )


@dataclass(frozen=True)
class SearchSpec:
    """The ``search`` block: how trials are chosen, stopped, counted and ranked."""

    sampler: str = DEFAULT_SAMPLER  # a registry name; its Optuna arguments are sampler_args
    pruner: PrunerSpec | None = None
    trials: int = DEFAULT_TRIALS
    metric: str = "val_loss"
    direction: str = "minimize"  # from the metric registry, never from the file
    seed: int = 0
    sampler_args: dict[str, Any] = field(default_factory=dict)  # every argument filled


@dataclass(frozen=True)
class StudyPlan:
    """A whole search sweep file, checked: what ``engine sweep`` stores with the study
    so any worker can rebuild the study and turn a trial into a config."""

    base: dict[str, Any]
    params: tuple[SpaceParam, ...]
    search: SearchSpec
    name: str | None = None
    tags: tuple[str, ...] = ()
    repeats: int = 1  # seeds each trial is trained at; Optuna is told their mean

    def sample(self, trial) -> dict[str, Any]:
        """Draw one trial's values (parameters whose ``when`` fails are left out)."""
        values: dict[str, Any] = {}
        for p in self.params:
            if p.active(values):
                values[p.path] = p.suggest(trial)
        return values

    def distributions(self, values: dict[str, Any]) -> dict[str, Any]:
        by_path = {p.path: p for p in self.params}
        return {k: by_path[k].distribution() for k in values}

    def raw_config(self, values: dict[str, Any]) -> dict[str, Any]:
        """The base with ``values`` set at their paths (parents first), not validated."""
        [run] = plan(self.base, [[Choice("trial", values)]])
        if run.problems:
            raise ConfigError([(f"space.{f}", m) for f, m in run.problems])
        return run.raw

    def config(self, values: dict[str, Any]) -> dict[str, Any]:
        """The validated config of one trial."""
        return validate(self.raw_config(values))

    def configs(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        """The validated configs of one trial: one per repeat. A single repeat keeps
        the config's own seed; R repeats count up from it (the task's default when
        the base gives none), as a grid's repeats do."""
        if self.repeats == 1:
            return [self.config(values)]
        runs = plan(self.base, [[Choice("trial", values)]], repeats=self.repeats)
        for run in runs:
            if run.problems:
                raise ConfigError([(f"space.{f}", m) for f, m in run.problems])
        return [validate(run.raw) for run in runs]

    def trial_name(self, number: int, values: dict[str, Any], cfg: dict | None = None) -> str:
        label = " ".join(f"{k}={_fmt(v)}" for k, v in values.items())
        if self.repeats > 1 and cfg is not None:
            label = f"{label} seed={cfg['seed']}".strip()
        head = f"{self.name.strip()} · " if self.name else ""
        return f"{head}#{number} {label}".strip()[:200]

    def grid(self) -> dict[str, list[Scalar]]:
        return {p.path: p.grid_values() for p in self.params}

    def to_json(self) -> dict[str, Any]:
        s = self.search
        return {
            "base": self.base,
            "params": [p.to_json() for p in self.params],
            "search": {
                **asdict(s),
                "pruner": None if s.pruner is None else asdict(s.pruner),
            },
            "name": self.name,
            "tags": list(self.tags),
            "repeats": self.repeats,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StudyPlan:
        s = dict(d["search"])
        s["pruner"] = None if s.get("pruner") is None else PrunerSpec(**s["pruner"])
        return cls(
            base=d["base"],
            params=tuple(SpaceParam.from_json(p) for p in d["params"]),
            search=SearchSpec(**s),
            name=d.get("name"),
            tags=tuple(d.get("tags") or ()),
            repeats=d.get("repeats", 1),
        )


# ---------------------------------------------------------------- the space block


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | bool) or _number(v)


def _range(where: str, kind: str, spec: dict, problems: list) -> tuple[Any, Any] | None:
    rng = spec[kind]
    if not isinstance(rng, list) or len(rng) != 2 or not all(_number(v) for v in rng):
        problems.append((f"{where}.{kind}", f"must be [low, high], two numbers, got {show(rng)}"))
        return None
    low, high = rng
    if kind == "int" and not all(isinstance(v, int) for v in rng):
        problems.append((f"{where}.int", f"must be two whole numbers, got {show(rng)}"))
        return None
    if low >= high:
        problems.append((f"{where}.{kind}", f"low must be below high, got {show(rng)}"))
        return None
    return low, high


def _param(path: str, spec: Any, problems: list) -> SpaceParam | None:
    where = f"space.{path}"
    if not isinstance(spec, dict):
        problems.append(
            (where, f"must be an object such as {{'uniform': [0, 1]}}, got {show(spec)}")
        )
        return None
    unknown = [k for k in spec if k not in PARAM_KEYS]
    for k in unknown:
        problems.append((f"{where}.{k}", f"unknown key (allowed: {', '.join(PARAM_KEYS)})"))
    kinds = [k for k in KINDS if k in spec]
    if len(kinds) != 1:
        problems.append((where, f"give exactly one of {', '.join(KINDS)}, got {len(kinds)}"))
        return None
    if unknown:
        return None
    kind = kinds[0]
    step, log = spec.get("step"), spec.get("log", kind == "log_uniform")
    if "step" in spec and kind != "int":
        problems.append((f"{where}.step", "only an int range has a step"))
        return None
    if "log" in spec and kind != "int":
        problems.append((f"{where}.log", "only an int range takes log (use log_uniform)"))
        return None
    if not isinstance(log, bool):
        problems.append((f"{where}.log", f"must be true or false, got {show(log)}"))
        return None
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1):
        problems.append((f"{where}.step", f"must be a whole number ≥ 1, got {show(step)}"))
        return None
    if step is not None and log:
        problems.append((f"{where}.step", "a log int range cannot have a step (Optuna's rule)"))
        return None
    when = _when(where, spec.get("when", {}), problems)
    if when is None:
        return None
    if kind == "choice":
        choices = spec["choice"]
        if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
            problems.append(
                (
                    f"{where}.choice",
                    f"must be a list of 1 to {MAX_CHOICES} values, got {show(choices)}",
                )
            )
            return None
        bad = [c for c in choices if not _scalar(c)]
        if bad:
            problems.append(
                (
                    f"{where}.choice",
                    f"values must be text, numbers, true/false or null, got {show(bad[0])}",
                )
            )
            return None
        if len({(type(c), c) for c in choices}) != len(choices):
            problems.append((f"{where}.choice", f"a value is listed twice in {show(choices)}"))
            return None
        return SpaceParam(path, "choice", choices=tuple(choices), when=when)
    rng = _range(where, kind, spec, problems)
    if rng is None:
        return None
    low, high = rng
    if log and low <= 0:
        problems.append((f"{where}.{kind}", f"a log range needs low > 0, got {show(low)}"))
        return None
    if kind == "int":
        return SpaceParam(path, "int", int(low), int(high), step=step, log=log, when=when)
    return SpaceParam(path, kind, float(low), float(high), log=log, when=when)


def _when(where: str, when: Any, problems: list) -> dict[str, tuple] | None:
    if not isinstance(when, dict):
        problems.append(
            (f"{where}.when", f"must be an object of path -> value(s), got {show(when)}")
        )
        return None
    out = {}
    for k, v in when.items():
        values = v if isinstance(v, list) else [v]
        if not isinstance(k, str) or not values or not all(_scalar(x) for x in values):
            problems.append(
                (
                    f"{where}.when",
                    f"must map a choice's path to one of its values, got {show(when)}",
                )
            )
            return None
        out[k] = tuple(values)
    return out


def _order(params: dict[str, SpaceParam], problems: list) -> list[SpaceParam]:
    """File order, but a parameter after those its ``when`` names; each ``when`` must
    name a choice of the space and values it offers."""
    for p in params.values():
        for c, allowed in p.when.items():
            other = params.get(c)
            if other is None:
                problems.append(
                    (f"space.{p.path}.when", f"{show(c)} is not a parameter of the space")
                )
            elif other.kind != "choice":
                problems.append(
                    (f"space.{p.path}.when", f"{show(c)} is a {other.kind} range, not a choice")
                )
            else:
                missing = [a for a in allowed if a not in other.choices]
                if missing:
                    problems.append(
                        (f"space.{p.path}.when", f"{show(missing[0])} is not one of {c}'s choices")
                    )
    if problems:
        return []
    done: list[SpaceParam] = []
    left = list(params.values())
    while left:
        ready = [p for p in left if all(c in {d.path for d in done} for c in p.when)]
        if not ready:
            problems.append(
                ("space", f"conditions go round in a loop: {', '.join(p.path for p in left)}")
            )
            return []
        done.append(ready[0])
        left.remove(ready[0])
    return done


def parse_space(space: Any) -> tuple[SpaceParam, ...]:
    """The ``space`` block's shape (paths, kinds, ranges, conditions), field-named."""
    if not isinstance(space, dict) or not space:
        raise ConfigError(
            "space", f"must be a non-empty object of path -> range, got {show(space)}"
        )
    if len(space) > MAX_SPACE:
        raise ConfigError("space", f"at most {MAX_SPACE} parameters, got {len(space)}")
    problems: list[tuple[str, str]] = []
    params: dict[str, SpaceParam] = {}
    for path, spec in space.items():
        try:
            parts = _check_path(path)
        except ConfigError as e:
            problems += [("space" + f.removeprefix("grid"), m) for f, m in e.problems]
            continue
        if parts[-1] == "seed" and len(parts) == 1:
            problems.append(("space.seed", "the seed is not a hyperparameter: use repeats"))
            continue
        p = _param(path, spec, problems)
        if p is not None:
            params[path] = p
    if problems:
        raise ConfigError(problems)
    ordered = _order(params, problems)
    if problems:
        raise ConfigError(problems)
    return tuple(ordered)


# ---------------------------------------------------------------- the search block


def _int_field(search: dict, key: str, default: int, lo: int, hi: int, problems: list) -> int:
    v = search.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        problems.append((f"search.{key}", f"must be a whole number in [{lo}, {hi}], got {show(v)}"))
        return default
    return v


def parse_search(search: Any, cfg: dict, params: tuple[SpaceParam, ...]) -> SearchSpec:
    """The ``search`` block; ``cfg`` is the validated base (the metric must be one it
    logs). Registries decide which samplers and pruners exist."""
    if search is None:
        search = {}
    if not isinstance(search, dict):
        raise ConfigError(
            "search",
            f"must be an object {{sampler, pruner, trials, metric, seed}}, got {show(search)}",
        )
    problems = [
        (f"search.{k}", f"unknown key (allowed: {', '.join(SEARCH_KEYS)})")
        for k in search
        if k not in SEARCH_KEYS
    ]
    trials = _int_field(search, "trials", DEFAULT_TRIALS, 1, MAX_RUNS, problems)
    seed = _int_field(search, "seed", 0, 0, MAX_SEED, problems)
    sampler = SamplerSpec(DEFAULT_SAMPLER)
    try:
        sampler = parse_sampler(search.get("sampler", DEFAULT_SAMPLER))
        problems += check_sampler(sampler.name, params, trials)
    except ConfigError as e:
        problems += e.problems
    pruner = None
    try:
        pruner = parse_pruner(search.get("pruner"), cfg["epochs"])
    except ConfigError as e:
        problems += e.problems
    has_val = cfg["data"]["n_val"] > 0 or (cfg["validation_split"] or 0) > 0
    logged = logged_names(cfg)
    known = logged + [f"val_{n}" for n in logged] if has_val else logged
    metric = search.get("metric", "val_loss" if has_val else "loss")
    direction = "minimize"
    if not isinstance(metric, str) or metric not in known:
        problems.append(
            (
                "search.metric",
                f"must be a value this config logs ({', '.join(known)}), got {show(metric)}",
            )
        )
    else:
        direction = "maximize" if metric_direction(metric) == "up" else "minimize"
    if problems:
        raise ConfigError(problems)
    return SearchSpec(sampler.name, pruner, trials, metric, direction, seed, sampler.args)


# ---------------------------------------------------------------- the whole file


def _corners(params: tuple[SpaceParam, ...]) -> list[dict[str, Any]]:
    """Assignments that reach every end of the space: each combination of the choices
    (or, past ``MAX_CORNERS``, each choice alone), with every range at its low end and
    again at its high end; inactive parameters dropped."""
    choices = [p for p in params if p.kind == "choice"]
    ranges = [p for p in params if p.kind != "choice"]
    if math.prod(len(p.choices) for p in choices) <= MAX_CORNERS:
        combos = [
            dict(zip([p.path for p in choices], c, strict=True))
            for c in itertools.product(*(p.choices for p in choices))
        ]
    else:
        first = {p.path: p.choices[0] for p in choices}
        combos = [{**first, p.path: c} for p in choices for c in p.choices]
    out, seen = [], set()
    for combo in combos:
        for end in (0, 1):
            draft = {**combo, **{p.path: p.corners()[end] for p in ranges}}
            values: dict[str, Any] = {}
            for p in params:
                if p.active(values):
                    values[p.path] = draft[p.path]
            key = repr(sorted(values.items(), key=lambda kv: kv[0]))
            if key not in seen:
                seen.add(key)
                out.append(values)
    return out


def _attribute(f: str, values: dict[str, Any]) -> str:
    for p in values:
        if f == p or f.startswith(p + ".") or p.startswith(f + "."):
            return f"space.{p}"
    return f"base.{f}" if f else "base"


def check_corners(plan_: StudyPlan) -> None:
    """Every corner of the space validated; problems name ``space.<path>`` (or
    ``base.<field>``) and, when only some combinations of the choices fail, the
    first of those."""
    choice_paths = {p.path for p in plan_.params if p.kind == "choice"}
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for values in _corners(plan_.params):
        try:
            plan_.config(values)
        except ConfigError as e:
            chosen = {k: v for k, v in values.items() if k in choice_paths}
            for f, m in e.problems:
                where = f if f.startswith("space.") else _attribute(f, values)
                found.setdefault((where, m), []).append(chosen)
        if len(found) >= 20:
            break
    problems = []
    for (where, m), combos in found.items():
        chosen = combos[0]
        if len(combos) == 1 and chosen and where not in {f"space.{k}" for k in chosen}:
            m = f"{m} (with {', '.join(f'{k}={_fmt(v)}' for k, v in chosen.items())})"
        problems.append((where, m))
    if problems:
        raise ConfigError(problems)


def parse_study(sweep: dict) -> StudyPlan:
    """A search sweep file (``engine.sweep`` has checked its common keys), checked
    end to end before anything is queued."""
    check_common(sweep)
    base = sweep["base"]
    try:
        validate(base)
    except ConfigError as e:  # the space may fix what the base lacks, but not its task
        if any(f == "task" for f, _ in e.problems):
            raise ConfigError([(f"base.{f}", m) for f, m in e.problems]) from None
    params = parse_space(sweep.get("space"))
    probe = StudyPlan(base, params, SearchSpec())
    check_corners(probe)  # every corner validates, so the first one's config stands in
    cfg = probe.config(_corners(params)[0])
    search = parse_search(sweep.get("search"), cfg, params)
    repeats = sweep.get("repeats", 1)  # a whole number in [1, MAX_REPEATS]: check_common
    if repeats > 1 and search.pruner is not None:
        raise ConfigError(
            "search.pruner",
            f"a pruner compares single runs, and each trial here is {repeats} runs (repeats):"
            " give no pruner, or leave repeats at 1",
        )
    if search.trials * repeats > MAX_RUNS:
        raise ConfigError(
            "search.trials",
            f"{search.trials} trials × {repeats} repeats = {search.trials * repeats} runs;"
            f" at most {MAX_RUNS} per sweep",
        )
    tags = tuple(sweep.get("tags") or ())
    out = StudyPlan(base, params, search, sweep.get("name"), tags, repeats)
    check_corners(out)
    return out
