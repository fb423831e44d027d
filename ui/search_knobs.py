"""Set up runs → Search: the knobs a search may range over and the form's session keys.

Apart from ``ui.search_form`` (the form, its plan and its Launch) so the page's address
(``ui.address``) can read and write the form without importing the form's widgets
(nor, through them, the page links the form draws).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import SCALARS
from engine.search.space import DEFAULT_SAMPLER, DEFAULT_TRIALS
from engine.spec.optimizers import OPTIMIZERS

MODE = "Search"
K = "search_"  # session-state prefix of this form's widgets


@dataclass(frozen=True)
class Knob:
    """One searchable knob: its config path, its kind in the space, its starting range
    (numbers: low/high; choice: values) and whether ticked by default."""

    path: str
    kind: str  # uniform, log_uniform, int, choice
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    on: bool = False
    when: dict[str, Any] = field(default_factory=dict)
    help: str = ""


def _rate_range(p) -> tuple[float, float]:
    """A rate's sensible log range inside its Param's bounds: 1e-4..1e-1."""
    lo = 1e-4 if p.lo is None or p.lo < 1e-4 else p.lo
    hi = 1e-1 if p.hi is None or p.hi > 1e-1 else p.hi
    return lo, hi


def knobs() -> list[Knob]:
    """The knobs offered, ranges read from their registries' own Params."""
    lr = SCALARS["learning_rate"]
    lo, hi = _rate_range(lr)
    bs = SCALARS["batch_size"]
    mom = OPTIMIZERS.entry("sgd").params["momentum"]
    return [
        Knob("learning_rate", "log_uniform", lo, hi, on=True, help=lr.help),
        Knob(
            "optimizer.name",
            "choice",
            choices=tuple(n for n in ("sgd", "adam", "rmsprop") if n in OPTIMIZERS),
            help="The optimizers to try (from the optimizer registry).",
        ),
        Knob(
            "batch_size",
            "choice",
            choices=tuple(b for b in (16, 32, 64, 128) if bs.lo <= b <= bs.hi),
            help=bs.help,
        ),
        Knob(
            "optimizer.momentum",
            "uniform",
            mom.lo if mom.lo is not None else 0.0,
            min(0.95, mom.hi if mom.hi is not None else 0.95),
            when={"optimizer.name": "sgd"},
            help=mom.help + " Searched only when optimizer.name is sgd (if it is searched).",
        ),
        Knob(
            "epochs",
            "int",
            max(1, SCALARS["epochs"].lo or 1),
            20,
            help="An int range of epochs (the pruner still stops poor trials early).",
        ),
    ]


def key(path: str, part: str) -> str:
    return f"{K}{path.replace('.', '-')}-{part}"  # no dots: keys are CSS classes too


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def ensure_state(state: MutableMapping) -> None:
    for k in knobs():
        state.setdefault(key(k.path, "on"), k.on)
        if k.kind == "choice":
            state.setdefault(key(k.path, "values"), ", ".join(_fmt(c) for c in k.choices))
        else:
            state.setdefault(key(k.path, "low"), _fmt(k.low))
            state.setdefault(key(k.path, "high"), _fmt(k.high))
    state.setdefault(f"{K}sampler", DEFAULT_SAMPLER)
    state.setdefault(f"{K}pruner", "median")
    state.setdefault(f"{K}trials", str(DEFAULT_TRIALS))
    state.setdefault(f"{K}metric", "val_loss")
    state.setdefault(f"{K}seed", "0")
