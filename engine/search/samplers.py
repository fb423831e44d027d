"""The sampler registry: a name (and Optuna's own argument names) -> a seeded Optuna sampler.

``search.sampler`` is a name or ``{"name": "tpe", "multivariate": true, ...}``, as
``search.pruner`` is: each entry is an ``engine.spec`` entry whose ``Param`` s are the
Optuna arguments a sweep file may set (checked with field-named errors, defaults
filled, so the stored spec round-trips as JSON), and ``target`` the Optuna class.

A study is rebuilt from the store for every ask, so a sampler is made for each ask
too, seeded from the study's seed and the trial's number (``trial_seed``): the same
file and seed ask the same trials in the same order. What a sampler remembers
between asks (CMA-ES's state, QMC's position, a grid's visited points) lives in the
trials' and the study's system attributes, which the store keeps with the study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, show
from engine.spec.params import Entry, Param, check_object, resolve


@dataclass(frozen=True)
class Sampler:
    """A registry entry: ``entry`` is an ``engine.spec`` entry (its Optuna class as
    ``target``, the arguments a sweep file may set as ``Param`` s), ``fixed`` the
    arguments HP Lab always passes, ``conflicts`` the pairs of arguments Optuna
    refuses together (``"!x"``: x set to false)."""

    entry: Entry
    needs: str | None = None  # a module the sampler imports that HP Lab does not install
    discrete_only: bool = False  # grid: every parameter must list its values
    study_seeded: bool = False  # seeded by the study's seed on every ask, not the trial's
    fixed: dict[str, Any] = field(default_factory=dict)
    conflicts: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def help(self) -> str:
        return self.entry.help


_STARTUP = "random trials before the model is fitted"
_QUIET = {"warn_independent_sampling": False}

SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in (
        Sampler(
            Entry(
                "tpe",
                "TPE",
                "optuna.samplers:TPESampler",
                {
                    "n_startup_trials": Param("int", 10, lo=0, hi=10_000, help=_STARTUP),
                    "n_ei_candidates": Param(
                        "int", 24, lo=1, hi=10_000, help="candidates scored per ask"
                    ),
                    "multivariate": Param(
                        "bool",
                        None,
                        nullable=True,
                        help="model the parameters jointly, not one by one"
                        " (null: Optuna's choice, joint for one metric)",
                    ),
                    "group": Param(
                        "bool",
                        False,
                        help="a joint model per group of parameters sampled together"
                        " (needs multivariate)",
                    ),
                    "constant_liar": Param(
                        "bool", True, help="count running trials as bad, so parallel asks differ"
                    ),
                },
                help="Tree-structured Parzen estimator (Bayesian; Optuna's default)",
            ),
            conflicts=(("group", "!multivariate"),),
        ),
        Sampler(
            Entry(
                "random",
                "Random",
                "optuna.samplers:RandomSampler",
                help="independent uniform draws",
            ),
        ),
        Sampler(
            Entry(
                "gp",
                "Gaussian process",
                "optuna.samplers:GPSampler",
                {
                    "n_startup_trials": Param("int", 10, lo=0, hi=10_000, help=_STARTUP),
                    "deterministic_objective": Param(
                        "bool", False, help="the metric has no noise (same config, same value)"
                    ),
                },
                help="Gaussian-process Bayesian optimisation",
            ),
            needs="torch",
            fixed=_QUIET,
        ),
        Sampler(
            Entry(
                "cmaes",
                "CMA-ES",
                "optuna.samplers:CmaEsSampler",
                {
                    "n_startup_trials": Param("int", 1, lo=0, hi=10_000, help=_STARTUP),
                    "popsize": Param(
                        "int",
                        None,
                        lo=2,
                        hi=10_000,
                        nullable=True,
                        help="trials per generation (null: from the number of parameters)",
                    ),
                    "use_separable_cma": Param(
                        "bool", False, help="a diagonal covariance (faster, fewer trials)"
                    ),
                    "with_margin": Param(
                        "bool", False, help="keep integer and discrete parameters exploring"
                    ),
                    "consider_pruned_trials": Param(
                        "bool", False, help="learn from pruned trials' last values too"
                    ),
                },
                help="CMA-ES evolution strategy (continuous ranges)",
            ),
            fixed=_QUIET,
            conflicts=(("use_separable_cma", "with_margin"),),
        ),
        Sampler(
            Entry(
                "qmc",
                "Quasi-Monte Carlo",
                "optuna.samplers:QMCSampler",
                {
                    "qmc_type": Param(
                        "str",
                        "sobol",
                        choices=("sobol", "halton"),
                        help="the low-discrepancy sequence",
                    ),
                    "scramble": Param(
                        "bool", True, help="randomise the sequence with the study's seed"
                    ),
                },
                help="quasi-random Sobol sequence: even coverage",
            ),
            # The scramble is the study's (its seed alone), not the trial's: one sequence.
            study_seeded=True,
            fixed={**_QUIET, "warn_asynchronous_seeding": False},
        ),
        Sampler(
            Entry(
                "grid",
                "Grid",
                "optuna.samplers:GridSampler",
                help="every combination of the listed values",
            ),
            discrete_only=True,
            study_seeded=True,
        ),
    )
}
# Whose seed is the study's for every ask rather than the trial's.
STUDY_SEEDED = tuple(n for n, s in SAMPLERS.items() if s.study_seeded)


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler by registry name with its Optuna arguments (every one filled)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


def parse_sampler(identifier: Any) -> SamplerSpec:
    """``search.sampler``: a name or ``{"name", **Optuna arguments}``, checked by the
    registry entry: an unknown name or argument, a wrong type or range, or a pair of
    arguments Optuna refuses together is a ``ConfigError`` naming the field."""
    where = "search.sampler"
    one_of = ", ".join(SAMPLERS)
    if isinstance(identifier, dict):
        if "name" not in identifier:
            raise ConfigError(f"{where}.name", f"is required (one of {one_of})")
        name = identifier["name"]
        kwargs = {k: v for k, v in identifier.items() if k != "name"}
        name_at = f"{where}.name"
    else:
        name, kwargs, name_at = identifier, {}, where
    if not isinstance(name, str) or name not in SAMPLERS:
        raise ConfigError(name_at, f"unknown sampler {show(name)} (one of {one_of})")
    s = SAMPLERS[name]
    args = check_object(kwargs, where, s.entry.params)
    problems = []
    for a, b in s.conflicts:
        if args[a] and (args[b[1:]] is False if b.startswith("!") else args[b]):
            why = f"needs {b[1:]}: true" if b.startswith("!") else f"cannot be combined with {b}"
            problems.append((f"{where}.{a}", why))
    if problems:
        raise ConfigError(problems)
    return SamplerSpec(name, args)


def trial_seed(seed: int, number: int) -> int:
    """A sampler seed for trial ``number`` of a study seeded ``seed``."""
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def check_sampler(name: str, params, trials: int) -> list[tuple[str, str]]:
    """Problems with the (registered) sampler ``name`` for this space (empty: fine)."""
    import math

    s = SAMPLERS[name]
    if s.needs and not importable(s.needs):
        others = "/".join(n for n, e in SAMPLERS.items() if not e.needs)
        return [
            (
                "search.sampler",
                f"{name} needs PyTorch, which is not installed here: pip install {s.needs},"
                f" or choose {others}",
            )
        ]
    if s.discrete_only:
        for p in params:
            if not p.grid_values():
                return [
                    (
                        f"space.{p.path}",
                        f"the grid sampler needs listed values: use choice, not {p.kind}",
                    )
                ]
            if p.when:
                return [
                    (
                        f"space.{p.path}.when",
                        "the grid sampler cannot sample conditional parameters",
                    )
                ]
        size = math.prod(len(p.grid_values()) for p in params)
        if trials > size:
            return [("search.trials", f"the grid has {size} points; ask for at most {size} trials")]
    return []


def make(
    name: str,
    study_seed: int,
    number: int,
    grid: dict[str, list],
    args: dict[str, Any] | None = None,
):
    """The Optuna sampler for ask ``number`` of a study: entry ``name``'s class with
    the spec's ``args`` (checked by ``parse_sampler``), HP Lab's fixed arguments and
    the seed."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    s = SAMPLERS[name]
    seed = study_seed if s.study_seeded else trial_seed(study_seed, number)
    kwargs = {**(args or {}), **s.fixed, "seed": seed}
    if s.discrete_only:
        return resolve(s.entry.target)(grid, **kwargs)
    return resolve(s.entry.target)(**kwargs)
