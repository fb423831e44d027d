"""The pruner registry: a name (and Optuna's own argument names) -> an Optuna pruner.

Entries are ``engine.spec`` entries, so ``{"name": "median", "n_startup_trials": 2}``
is checked by the same ``Param`` machinery as an optimizer's arguments (field-named
errors, defaults filled), and ``target`` is the Optuna class that ``make`` builds.
Each entry also says in words what its rule compares, for the sentence a pruned run
carries (``explain``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, show
from engine.spec.params import Entry, Param, resolve
from engine.spec.registry import Registry

_STARTUP = {
    "n_startup_trials": Param(
        "int", 5, lo=0, hi=1000, help="trials that complete before any is pruned"
    ),
    "n_warmup_steps": Param("int", 0, lo=0, hi=10_000, help="epochs a trial always runs"),
    "interval_steps": Param("int", 1, lo=1, hi=10_000, help="epochs between checks"),
    "n_min_trials": Param(
        "int", 1, lo=1, hi=1000, help="trials that must have reached an epoch to compare"
    ),
}
_HALVING = {
    "min_resource": Param("int", 1, lo=1, hi=10_000, help="epochs of the first rung"),
    "reduction_factor": Param("int", 3, lo=2, hi=100, help="1/η of a rung goes on"),
}

PRUNERS = Registry(
    "pruner",
    [
        Entry(
            "median",
            "Median",
            "optuna.pruners:MedianPruner",
            dict(_STARTUP),
            help="stop a trial whose best so far is worse than the median of the others at"
            " the same epoch",
        ),
        Entry(
            "percentile",
            "Percentile",
            "optuna.pruners:PercentilePruner",
            {
                "percentile": Param(
                    "float", 25.0, lo=0.0, hi=100.0, help="keep trials in the best this %"
                ),
                **_STARTUP,
            },
            help="stop a trial outside the best percentile of the others at the same epoch",
        ),
        Entry(
            "successive_halving",
            "Successive halving",
            "optuna.pruners:SuccessiveHalvingPruner",
            {
                **_HALVING,
                "reduction_factor": Param("int", 4, lo=2, hi=100, help="1/η of a rung goes on"),
                "min_early_stopping_rate": Param("int", 0, lo=0, hi=100, help="rungs skipped"),
            },
            help="at each rung (epoch 1, η, η², …) only the best 1/η of the trials go on",
        ),
        Entry(
            "hyperband",
            "Hyperband",
            "optuna.pruners:HyperbandPruner",
            {
                **_HALVING,
                "max_resource": Param(
                    "int", None, lo=1, hi=100_000, nullable=True, help="null: the run's epochs"
                ),
            },
            help="successive halving in several brackets of different aggressiveness",
        ),
    ],
)
NONE_NAMES = (None, "none")


@dataclass(frozen=True)
class PrunerSpec:
    """A pruner by registry name with the Optuna arguments given (defaults filled)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


def parse_pruner(identifier: Any, epochs: int):
    """``search.pruner``: None/"none", a name, or ``{"name", **Optuna arguments}``,
    as a ``PrunerSpec`` with every argument filled (hyperband's ``max_resource``
    defaults to the run's epochs)."""
    if identifier in NONE_NAMES:
        return None
    if isinstance(identifier, dict) and identifier.get("name") in NONE_NAMES:
        if len(identifier) > 1:
            raise ConfigError(
                "search.pruner", f"no pruner takes no arguments, got {show(identifier)}"
            )
        return None
    entry, kwargs = PRUNERS.get(identifier, "search.pruner")
    if entry.name == "hyperband" and kwargs["max_resource"] is None:
        kwargs["max_resource"] = epochs
    if entry.name == "hyperband" and kwargs["max_resource"] < kwargs["min_resource"]:
        raise ConfigError(
            "search.pruner.max_resource",
            f"must be ≥ min_resource {kwargs['min_resource']}, got {kwargs['max_resource']}",
        )
    return PrunerSpec(entry.name, kwargs)


def make(spec) -> Any:
    """The Optuna pruner of a ``PrunerSpec`` (a ``NopPruner`` for None)."""
    import optuna

    if spec is None:
        return optuna.pruners.NopPruner()
    return resolve(PRUNERS.entry(spec.name).target)(**spec.args)


def explain(
    spec, *, metric: str, epoch: int, value: float, others: list[float], minimize: bool
) -> str:
    """The sentence a pruned run keeps: which rule stopped it, at which epoch, and the
    numbers it compared (``others``: the completed trials' values at that epoch)."""
    import numpy as np

    head = f"pruned at epoch {epoch} by {spec.name}: {metric} {value:.4g}"
    n = len(others)
    if not n:
        return f"{head} (the rule's own bookkeeping, no trial to compare at epoch {epoch})"
    trials = "trial" if n == 1 else "trials"
    if spec.name == "median":
        ref = float(np.median(others))
        return f"{head} worse than the median {ref:.4g} of {n} {trials} at epoch {epoch}"
    if spec.name == "percentile":
        p = spec.args["percentile"]
        ref = float(np.percentile(others, p if minimize else 100 - p))
        return f"{head} outside the best {p:g}% of {n} {trials} at epoch {epoch} (cut {ref:.4g})"
    eta = spec.args["reduction_factor"]
    best = min(others) if minimize else max(others)
    return (
        f"{head} not among the best 1/{eta} of the {n + 1} trials that reached epoch {epoch}"
        f" (best {best:.4g})"
    )
