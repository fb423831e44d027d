"""Paired comparisons of two arms run over the same seeds.

A run's seed fixes its data, initial weights and shuffling (``engine.data``), so the
run of arm A with seed 42 and the run of arm B with seed 42 differ only in what the
arms change. Comparing them seed by seed removes the seed-to-seed spread that makes
two overlapping mean ± std bands unreadable: the mean of the per-seed differences,
with a Student-t confidence interval over the seeds, says whether B beats A or whether
the difference is within noise ("not significant" when the interval spans zero).
Pure Python: the compare page and tests call it without NumPy or SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

# Two-sided 95 % quantiles of Student's t, degrees of freedom 1..30.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """Student's t 97.5 % point: the table up to 30 degrees of freedom, then the
    Cornish-Fisher expansion around the normal quantile (error < 0.001 there)."""
    if df < 1:
        raise ValueError(f"df: must be at least 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = NormalDist().inv_cdf(0.975)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Paired:
    """``b − a`` per shared seed: mean, 95 % interval, and the seeds it rests on."""

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean: float
    low: float
    high: float

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def significant(self) -> bool:
        """False when the interval spans zero: the arms differ within the seeds' noise."""
        return not (self.low <= 0.0 <= self.high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "differences": list(self.differences),
            "mean": self.mean,
            "ci95": [self.low, self.high],
            "n": self.n,
            "significant": self.significant,
        }


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> Paired | None:
    """``b − a`` over the seeds both arms have a finite value for; None below two seeds
    (one difference has no spread to judge it by)."""
    seeds = sorted(
        s
        for s in set(a) & set(b)
        if a[s] is not None and b[s] is not None and math.isfinite(a[s]) and math.isfinite(b[s])
    )
    if len(seeds) < 2:
        return None
    d = [float(b[s]) - float(a[s]) for s in seeds]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return Paired(tuple(seeds), tuple(d), mean, mean - half, mean + half)
