"""Learning-rate schedules. Steps count optimizer *updates* (after accumulation).

One ``ScheduleEntry`` is a schedule's whole life: its params, the lengths it works out
when they are left null, the Keras call that builds it (read by ``keras_parts.build``
for training and the preview, and by ``export_script`` for the script and the
explorer's code), where its rate jumps (so a thinned preview keeps those updates) and
its formula. Adding a schedule is one entry here and its test.

The initial / peak rate is the config's top-level ``learning_rate`` (``LEARNING_RATE``
in a call), so a comparison of learning rates keeps its schedule shape; a
``piecewise_constant`` left without ``values`` derives them from it too. Steps are
Keras's ``optimizer.iterations``: the rate "at step 1000" is the one the 1001st update
applies.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError
from engine.spec.formula import Formula, tex_num
from engine.spec.params import LEARNING_RATE, Entry, KerasCall, Param
from engine.spec.registry import Registry

_AUTO = "null = worked out from the run's total updates."


@dataclass(frozen=True)
class RunLength:
    """What a schedule's automatic params are worked out from."""

    total_updates: int
    learning_rate: float


def _same(p: dict) -> dict:
    return dict(p)


def _as_given(p: dict, _run: RunLength) -> dict:
    return dict(p)


def _no_jumps(_p: dict) -> list[int]:
    return []


@dataclass(frozen=True)
class ScheduleEntry(Entry):
    """A schedule: ``call(params)`` gives the target's keyword arguments (the rate as
    ``LEARNING_RATE``); ``fill(params, run)`` works out null params and checks the
    params together (raising ``ConfigError`` on ``schedule.<param>``); ``jumps(params)``
    the steps where the rate changes abruptly; ``formula(params, learning_rate)``;
    ``upgrade(raw, learning_rate)`` turns an older spelling of the params into today's.
    """

    call: Callable[[dict], dict[str, Any]] = _same
    fill: Callable[[dict, RunLength], dict] = _as_given
    jumps: Callable[[dict], list[int]] = _no_jumps
    formula: Callable[[dict, float], Formula] | None = None
    upgrade: Callable[[dict, Any], dict] | None = None
    rates: tuple[str, ...] = ()  # params holding learning rates: they move with learning_rate

    def keras_call(self, params: dict) -> KerasCall:
        kwargs = {k: v for k, v in params.items() if k != "name"}
        return KerasCall(self.target, self.call(kwargs))

    @property
    def lengths(self) -> tuple[str, ...]:
        """Params that follow the run's length when left null (a longer run recomputes them)."""
        return tuple(k for k, p in self.params.items() if p.nullable and p.kind == "int")


def _initial(p: dict) -> dict:
    """Keras's decays start from ``initial_learning_rate``."""
    return {"initial_learning_rate": LEARNING_RATE, **p}


def _where(lr: float, *rows: tuple[str, Any, str]) -> list[tuple[str, Any, str]]:
    return [(r"\eta_0", lr, "learning_rate"), *rows]


def _floor(p: dict) -> str:
    return r"\lfloor t / T \rfloor" if p.get("staircase") else "t / T"


_COS = r"\eta_0\bigl(\alpha + (1 - \alpha)\,\tfrac{1}{2}(1 + \cos \pi s_t)\bigr)"
_WARM = r"\eta_t = \begin{cases} \eta_0\, t / W & t < W \\ " + _COS + r" & t \ge W \end{cases}"


# ---- constant ------------------------------------------------------------------------


def _constant_formula(_p: dict, lr: float) -> Formula:
    return Formula(r"\eta_t = \eta_0", _where(lr))


# ---- exponential / inverse time ------------------------------------------------------


def _exponential_formula(p: dict, lr: float) -> Formula:
    where = _where(lr, ("T", p["decay_steps"], "decay_steps"), ("r", p["decay_rate"], "decay_rate"))
    return Formula(rf"\eta_t = \eta_0\, r^{{{_floor(p)}}}", where)


def _inverse_time_formula(p: dict, lr: float) -> Formula:
    where = _where(lr, ("T", p["decay_steps"], "decay_steps"), ("r", p["decay_rate"], "decay_rate"))
    return Formula(rf"\eta_t = \frac{{\eta_0}}{{1 + r\,{_floor(p)}}}", where)


# ---- cosine decay (Keras's, with its optional warmup) --------------------------------


def _cosine_call(p: dict) -> dict:
    if p["warmup_steps"]:  # Keras warms up from initial_learning_rate to warmup_target
        return {"initial_learning_rate": 0.0, **p, "warmup_target": LEARNING_RATE}
    return _initial({k: v for k, v in p.items() if k != "warmup_steps"})


def _cosine_fill(p: dict, run: RunLength) -> dict:
    if p["decay_steps"] is None:
        p = {**p, "decay_steps": max(1, run.total_updates - p["warmup_steps"])}
    return p


def _warmup_jump(p: dict) -> list[int]:
    return [int(p["warmup_steps"])] if p.get("warmup_steps") else []


def _cosine_formula(p: dict, lr: float) -> Formula:
    where = _where(lr, ("T", p["decay_steps"], "decay_steps"), (r"\alpha", p["alpha"], "alpha"))
    if p["warmup_steps"]:
        where.append(("W", p["warmup_steps"], "warmup_steps"))
        return Formula(_WARM, where, r"$s_t = \min(t - W, T) / T$")
    return Formula(r"\eta_t = " + _COS, where, r"$s_t = \min(t, T) / T$")


# ---- the documents' warmup + cosine --------------------------------------------------


def _warmup_cosine_call(p: dict) -> dict:
    return {"peak_lr": LEARNING_RATE, **p}


def _warmup_cosine_fill(p: dict, run: RunLength) -> dict:
    p = dict(p)
    if p["total_steps"] is None:
        p["total_steps"] = run.total_updates
    if p["warmup_steps"] is None:
        p["warmup_steps"] = p["total_steps"] // 10
    if p["warmup_steps"] >= p["total_steps"]:
        raise ConfigError(
            "schedule.warmup_steps",
            f"must be < total_steps ({p['total_steps']}), got {p['warmup_steps']}",
        )
    return p


def _warmup_cosine_formula(p: dict, lr: float) -> Formula:
    where = _where(
        lr,
        ("W", p["warmup_steps"], "warmup_steps"),
        ("T", p["total_steps"], "total_steps"),
        (r"\alpha", p["alpha"], "alpha"),
    )
    return Formula(_WARM, where, r"$s_t = \min\bigl(\frac{t - W}{T - W}, 1\bigr)$")


# ---- piecewise constant --------------------------------------------------------------


def automatic_values(learning_rate: float, n: int) -> list[float]:
    """``values`` left null: the learning rate, then alternately halved and cut to a
    fifth at each boundary (×1, ½, ⅒, 1/20, 1/100, …), the documents' example."""
    out, v = [], float(learning_rate)
    for i in range(n):
        out.append(v)
        v *= 0.5 if i % 2 == 0 else 0.2
    return out


def _piecewise_fill(p: dict, run: RunLength) -> dict:
    b = p["boundaries"]
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(b)):
        raise ConfigError("schedule.boundaries", f"must be strictly increasing, got {b}")
    if p["values"] is None:
        return {**p, "values": automatic_values(run.learning_rate, len(b) + 1)}
    if len(p["values"]) != len(b) + 1:
        raise ConfigError(
            "schedule.values",
            f"must have one more item than boundaries ({len(b) + 1}), got {len(p['values'])}",
        )
    return p


def _piecewise_upgrade(raw: dict, learning_rate: Any) -> dict:
    """Before Keras's ``values`` the rates were ``factors`` of ``learning_rate``: a
    stored config with them reads as ``values = learning_rate × factors``."""
    if "factors" not in raw:
        return raw
    if "values" in raw:
        raise ConfigError(
            "schedule.factors", "give values (Keras's rates) or the older factors, not both"
        )
    out = {k: v for k, v in raw.items() if k != "factors"}
    factors, ok_lr = raw["factors"], isinstance(learning_rate, int | float)
    bounds = raw.get(
        "boundaries", SCHEDULES.entry("piecewise_constant").params["boundaries"].default
    )
    if isinstance(factors, list) and isinstance(bounds, list) and len(factors) != len(bounds) + 1:
        raise ConfigError(
            "schedule.factors",
            f"must have one more item than boundaries ({len(bounds) + 1}), got {len(factors)}",
        )
    if (
        ok_lr
        and isinstance(factors, list)
        and all(isinstance(f, int | float) and not isinstance(f, bool) for f in factors)
    ):
        out["values"] = [float(learning_rate) * f for f in factors]
    else:  # let the values check name what is wrong
        out["values"] = factors
    return out


def _piecewise_jumps(p: dict) -> list[int]:
    return [int(b) for b in p["boundaries"]]


def _piecewise_formula(p: dict, _lr: float) -> Formula:
    b, v = p["boundaries"], p["values"]
    rows = [rf"{tex_num(v[0])} & t \le {tex_num(b[0])}"]
    rows += [
        rf"{tex_num(v[i + 1])} & {tex_num(b[i])} < t \le {tex_num(b[i + 1])}"
        for i in range(len(b) - 1)
    ]
    rows.append(rf"{tex_num(v[-1])} & t > {tex_num(b[-1])}")
    tex = r"\eta_t = \begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
    return Formula(tex, [])


# ---- polynomial ----------------------------------------------------------------------


def _total_fill(key: str, share: int = 1):
    def fill(p: dict, run: RunLength) -> dict:
        if p[key] is None:
            p = {**p, key: max(1, run.total_updates // share)}
        return p

    return fill


def _polynomial_formula(p: dict, lr: float) -> Formula:
    where = _where(
        lr,
        ("T", p["decay_steps"], "decay_steps"),
        (r"\eta_{end}", p["end_learning_rate"], "end_learning_rate"),
        ("p", p["power"], "power"),
    )
    if p["cycle"]:
        tex = r"\eta_t = (\eta_0 - \eta_{end})\bigl(1 - t / T_t\bigr)^{p} + \eta_{end}"
        return Formula(
            tex, where, r"$T_t = T \max(1, \lceil t / T \rceil)$: each cycle restarts the decay"
        )
    tex = r"\eta_t = (\eta_0 - \eta_{end})\bigl(1 - \min(t, T) / T\bigr)^{p} + \eta_{end}"
    return Formula(tex, where)


# ---- cosine with restarts ------------------------------------------------------------


def _restarts_formula(p: dict, lr: float) -> Formula:
    tex = r"\eta_t = " + _COS.replace(r"(1 - \alpha)\,", r"(1 - \alpha)\, m^{i}\,")
    note = r"Cycle $i$ lasts $T_0\, t_{mul}^{\,i}$ updates and $s_t$ is the share of it done"
    where = _where(
        lr,
        ("T_0", p["first_decay_steps"], "first_decay_steps"),
        (r"t_{mul}", p["t_mul"], "t_mul"),
        ("m", p["m_mul"], "m_mul"),
        (r"\alpha", p["alpha"], "alpha"),
    )
    return Formula(tex, where, note)


SCHEDULES = Registry(
    "schedule",
    [
        ScheduleEntry(
            "constant",
            "Constant",
            "engine.keras_parts.schedules:Constant",
            help="The same learning rate at every update.",
            call=lambda _p: {"learning_rate": LEARNING_RATE},
            formula=_constant_formula,
        ),
        ScheduleEntry(
            "exponential_decay",
            "Exponential decay",
            "keras.optimizers.schedules.ExponentialDecay",
            {
                "decay_steps": Param(
                    "int",
                    1000,
                    lo=1,
                    hi=10_000_000,
                    label="Decay length in updates",
                    help="Updates over which the rate is multiplied by decay_rate.",
                ),
                "decay_rate": Param(
                    "float",
                    0.9,
                    lo=0,
                    lo_open=True,
                    hi=1.0,
                    label="Decay factor",
                    help="Multiplier per decay_steps. Typical 0.5-0.99.",
                ),
                "staircase": Param(
                    "bool",
                    False,
                    label="Staircase",
                    help="Drop in steps every decay_steps instead of smoothly.",
                ),
            },
            help="lr × decay_rate^(step / decay_steps).",
            call=_initial,
            formula=_exponential_formula,
        ),
        ScheduleEntry(
            "cosine_decay",
            "Cosine decay",
            "keras.optimizers.schedules.CosineDecay",
            {
                "decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Decay length in updates",
                    help="Updates of the cosine after warmup. " + _AUTO,
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Final fraction of the peak",
                    help="Final rate as a fraction of the peak (1e-5 in the docs).",
                ),
                "warmup_steps": Param(
                    "int",
                    0,
                    lo=0,
                    hi=10_000_000,
                    label="Warmup updates",
                    help="Linear warmup from 0 to the peak first.",
                ),
            },
            help="Smooth annealing from the peak to alpha × peak, optionally after a warmup.",
            call=_cosine_call,
            fill=_cosine_fill,
            jumps=_warmup_jump,
            formula=_cosine_formula,
        ),
        ScheduleEntry(
            "warmup_cosine",
            "Linear warmup + cosine (the documents')",
            "engine.keras_parts.schedules:WarmupCosineDecay",
            {
                "warmup_steps": Param(
                    "int",
                    None,
                    lo=0,
                    hi=10_000_000,
                    nullable=True,
                    label="Warmup updates",
                    help="Linear warmup updates. null = 10% of the total.",
                ),
                "total_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Total updates",
                    help="Warmup + decay updates. " + _AUTO,
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Floor as a fraction of the peak",
                    help="Floor as a fraction of the peak.",
                ),
            },
            help="The documents' WarmupCosineDecay: 0 → peak linearly, then cosine to the floor "
            "(held there after total_steps rather than rising again).",
            call=_warmup_cosine_call,
            fill=_warmup_cosine_fill,
            jumps=_warmup_jump,
            formula=_warmup_cosine_formula,
        ),
        ScheduleEntry(
            "piecewise_constant",
            "Piecewise constant",
            "keras.optimizers.schedules.PiecewiseConstantDecay",
            {
                "boundaries": Param(
                    "ints",
                    [1000, 3000, 5000],
                    lo=1,
                    hi=10_000_000,
                    label="Boundaries in updates",
                    help="Update numbers where the rate changes (increasing).",
                ),
                "values": Param(
                    "floats",
                    None,
                    lo=0,
                    lo_open=True,
                    hi=10.0,
                    nullable=True,
                    label="Rates",
                    help="The learning rate of each segment, one more than boundaries "
                    "(Keras's values). null = learning_rate, then halved and cut to a fifth "
                    "alternately at each boundary (×1, ½, ⅒, 1/20, …).",
                ),
            },
            help="Hand-set rates between update boundaries: values[i] applies while the step "
            "is ≤ boundaries[i].",
            fill=_piecewise_fill,
            jumps=_piecewise_jumps,
            formula=_piecewise_formula,
            upgrade=_piecewise_upgrade,
            rates=("values",),
        ),
        ScheduleEntry(
            "polynomial_decay",
            "Polynomial decay",
            "keras.optimizers.schedules.PolynomialDecay",
            {
                "decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Decay length in updates",
                    help="Updates to reach the end rate. " + _AUTO,
                ),
                "end_learning_rate": Param(
                    "float",
                    1e-4,
                    lo=0,
                    hi=10,
                    log=True,
                    label="End learning rate",
                    help="Rate reached at decay_steps.",
                ),
                "power": Param(
                    "float", 1.0, lo=0, lo_open=True, hi=10, label="Power", help="1 = linear decay."
                ),
                "cycle": Param(
                    "bool", False, label="Cycle", help="Restart the decay after decay_steps."
                ),
            },
            help="Polynomial ramp from learning_rate to end_learning_rate.",
            call=_initial,
            fill=_total_fill("decay_steps"),
            formula=_polynomial_formula,
        ),
        ScheduleEntry(
            "inverse_time_decay",
            "Inverse time decay",
            "keras.optimizers.schedules.InverseTimeDecay",
            {
                "decay_steps": Param(
                    "int",
                    1000,
                    lo=1,
                    hi=10_000_000,
                    label="Decay length in updates",
                    help="Updates per unit of decay.",
                ),
                "decay_rate": Param(
                    "float",
                    0.5,
                    lo=0,
                    lo_open=True,
                    hi=100,
                    label="Decay rate",
                    help="lr / (1 + decay_rate × step / decay_steps).",
                ),
                "staircase": Param(
                    "bool", False, label="Staircase", help="Decay in discrete steps."
                ),
            },
            help="lr / (1 + decay_rate × step / decay_steps).",
            call=_initial,
            formula=_inverse_time_formula,
        ),
        ScheduleEntry(
            "cosine_decay_restarts",
            "Cosine decay with restarts",
            "keras.optimizers.schedules.CosineDecayRestarts",
            {
                "first_decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="First cycle in updates",
                    help="Length of the first cycle. null = a quarter of the total updates.",
                ),
                "t_mul": Param(
                    "float",
                    2.0,
                    lo=0,
                    lo_open=True,
                    hi=100,
                    label="Cycle length multiplier",
                    help="Each cycle is t_mul times longer.",
                ),
                "m_mul": Param(
                    "float",
                    1.0,
                    lo=0,
                    lo_open=True,
                    hi=1,
                    label="Peak multiplier per restart",
                    help="Each restart peaks at m_mul times the previous peak.",
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Floor as a fraction of the peak",
                    help="Floor as a fraction of the peak.",
                ),
            },
            help="SGDR: cosine cycles that restart at a (possibly lower) peak.",
            call=_initial,
            fill=_total_fill("first_decay_steps", 4),
            formula=_restarts_formula,
        ),
    ],
    aliases={
        "cosine": "cosine_decay",
        "exponential": "exponential_decay",
        "piecewise": "piecewise_constant",
        "warmup_cosine_decay": "warmup_cosine",
    },
)
