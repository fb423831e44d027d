"""Edge warnings: the best trial sits at the edge of a numeric knob's range.

The tuning playbook's rule: if the best value of a knob is at (or near) the end of
the range searched, the optimum may lie outside it, so extend the range before
trusting the result. For each numeric parameter of the space the best trial's value
is placed in its range (in log space for a log range) and, when it falls in the outer
``fraction`` at either end, the study says which way to extend: "extend
learning_rate above 0.1". Numeric choices (``batch_size: {choice: [16, 32, 64]}``)
count when there are at least ``MIN_CHOICES`` of them and the best is the smallest
or the largest.
"""

from __future__ import annotations

import math
from typing import Any

from engine.sweep import _fmt

FRACTION = 0.1
MIN_CHOICES = 3


def _numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _position(p, v: float) -> float | None:
    """Where ``v`` sits in ``p``'s range: 0 at the low end, 1 at the high end."""
    lo, hi = float(p.low), float(p.high)
    if p.log:
        if lo <= 0 or v <= 0:
            return None
        lo, hi, v = math.log(lo), math.log(hi), math.log(v)
    if hi <= lo:
        return None
    return (v - lo) / (hi - lo)


def _warning(p, value, side: str, bound, how: str) -> dict[str, Any]:
    word = "above" if side == "high" else "below"
    return {
        "param": p.path,
        "side": side,
        "value": value,
        "bound": bound,
        "message": f"extend {p.path} {word} {_fmt(bound)} (best trial's {_fmt(value)} {how})",
    }


def edge_warnings(params, best: dict[str, Any], fraction: float = FRACTION) -> list[dict]:
    """One warning per numeric parameter of ``params`` (a plan's ``SpaceParam``s)
    whose value in ``best`` (the best trial's params) is at an edge of its range."""
    out = []
    for p in params:
        if p.path not in best or not _numeric(best[p.path]):
            continue  # conditional and inactive in the best trial, or not a number
        v = best[p.path]
        if p.kind == "choice":
            nums = [c for c in p.choices if _numeric(c)]
            if len(nums) < MIN_CHOICES or len(nums) != len(p.choices):
                continue
            n = len(nums)
            if v == max(nums):
                out.append(_warning(p, v, "high", v, f"is the largest of {n} choices"))
            elif v == min(nums):
                out.append(_warning(p, v, "low", v, f"is the smallest of {n} choices"))
            continue
        t = _position(p, float(v))
        if t is None:
            continue
        space = "log range" if p.log else "range"
        span = f"[{_fmt(p.low)}, {_fmt(p.high)}]"
        pct = f"{100 * fraction:g}%"
        if t >= 1 - fraction:
            out.append(_warning(p, v, "high", p.high, f"is in the top {pct} of the {space} {span}"))
        elif t <= fraction:
            out.append(
                _warning(p, v, "low", p.low, f"is in the bottom {pct} of the {space} {span}")
            )
    return out
