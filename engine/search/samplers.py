"""The sampler registry: a name -> a seeded Optuna sampler.

A study is rebuilt from the store for every ask, so a sampler is made for each ask
too, seeded from the study's seed and the trial's number (``trial_seed``): the same
file and seed ask the same trials in the same order. What a sampler remembers
between asks (CMA-ES's state, QMC's position, a grid's visited points) lives in the
trials' and the study's system attributes, which the store keeps with the study.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import show


@dataclass(frozen=True)
class Sampler:
    name: str
    help: str
    make: Callable[[int, dict[str, list]], Any]  # (seed, grid of every param) -> sampler
    needs: str | None = None  # a module the sampler imports that HP Lab does not install
    discrete_only: bool = False  # grid: every parameter must list its values


def _tpe(seed, _grid):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def _random(seed, _grid):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _gp(seed, _grid):
    import optuna

    return optuna.samplers.GPSampler(seed=seed)


def _cmaes(seed, _grid):
    import optuna

    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def _qmc(seed, _grid):
    import optuna

    # The scramble is the study's (its seed alone), not the trial's: one sequence.
    return optuna.samplers.QMCSampler(
        seed=seed, scramble=True, warn_asynchronous_seeding=False, warn_independent_sampling=False
    )


def _grid_sampler(seed, grid):
    import optuna

    return optuna.samplers.GridSampler(grid, seed=seed)


SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in (
        Sampler("tpe", "Tree-structured Parzen estimator (Bayesian; Optuna's default)", _tpe),
        Sampler("random", "independent uniform draws", _random),
        Sampler("gp", "Gaussian-process Bayesian optimisation", _gp, needs="torch"),
        Sampler("cmaes", "CMA-ES evolution strategy (continuous ranges)", _cmaes),
        Sampler("qmc", "quasi-random Sobol sequence: even coverage", _qmc),
        Sampler(
            "grid", "every combination of the listed values", _grid_sampler, discrete_only=True
        ),
    )
}
# Whose seed is the study's for every ask rather than the trial's.
STUDY_SEEDED = ("qmc", "grid")


def trial_seed(seed: int, number: int) -> int:
    """A sampler seed for trial ``number`` of a study seeded ``seed``."""
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def check_sampler(name: Any, params, trials: int) -> list[tuple[str, str]]:
    """Problems with ``search.sampler`` for this space (empty: fine)."""
    import math

    if not isinstance(name, str) or name not in SAMPLERS:
        return [("search.sampler", f"unknown sampler {show(name)} (one of {', '.join(SAMPLERS)})")]
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


def make(name: str, study_seed: int, number: int, grid: dict[str, list]):
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    seed = study_seed if name in STUDY_SEEDED else trial_seed(study_seed, number)
    return SAMPLERS[name].make(seed, grid)
