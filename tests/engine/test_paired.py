"""Paired comparisons by seed: the statistics the compare page's summary quotes."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from engine.paired import paired_difference, t_quantile_975


def test_t_quantiles_match_the_tables():
    # Student's t, two-sided 95 %: the textbook values
    for df, t in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)):
        assert t_quantile_975(df) == pytest.approx(t, abs=5e-4)
    for df, t in ((40, 2.021), (60, 2.000), (120, 1.980), (10_000, 1.960)):
        assert t_quantile_975(df) == pytest.approx(t, abs=1.5e-3)
    values = [t_quantile_975(df) for df in range(1, 200)]
    assert all(a > b for a, b in itertools.pairwise(values))  # falls towards z
    with pytest.raises(ValueError, match="df"):
        t_quantile_975(0)


def test_a_consistent_small_difference_is_significant_when_paired():
    # The seeds spread the arms far more than the arms differ: their ±std bands overlap,
    # but seed by seed B is always 0.02 lower.
    a = {42: 1.00, 43: 1.40, 44: 0.70, 45: 1.10}
    b = {s: v - 0.02 + 0.001 * i for i, (s, v) in enumerate(a.items())}
    p = paired_difference(a, b)
    assert p.n == 4 and p.seeds == (42, 43, 44, 45)
    assert p.mean == pytest.approx(-0.0185)
    assert p.high < 0 and p.significant
    half = t_quantile_975(3) * math.sqrt(sum((d - p.mean) ** 2 for d in p.differences) / 3) / 2
    assert (p.low, p.high) == pytest.approx((p.mean - half, p.mean + half))


def test_noise_is_not_a_win():
    a = {42: 1.00, 43: 1.40, 44: 0.70}
    b = {42: 1.05, 43: 1.30, 44: 0.72}  # up, down, up: the interval spans zero
    p = paired_difference(a, b)
    assert p.low < 0 < p.high and not p.significant
    assert p.to_dict()["significant"] is False and p.to_dict()["ci95"] == [p.low, p.high]


def test_only_shared_finite_seeds_pair():
    assert paired_difference({1: 1.0}, {1: 0.5}) is None  # one pair: no spread to judge
    assert paired_difference({1: 1.0, 2: 2.0}, {3: 1.0, 4: 2.0}) is None
    p = paired_difference({1: 1.0, 2: 2.0, 3: math.nan, 4: 1.0}, {1: 0.5, 2: 1.4, 3: 0.1, 5: 9})
    assert p.seeds == (1, 2) and p.differences == (-0.5, pytest.approx(-0.6))


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = random.Random(7)
    hits, trials = 0, 2000
    for _ in range(trials):
        seeds = range(5)
        base = {s: rng.gauss(0, 1.0) for s in seeds}  # seed effect, shared by both arms
        a = {s: base[s] + rng.gauss(0, 0.1) for s in seeds}
        b = {s: base[s] + 0.05 + rng.gauss(0, 0.1) for s in seeds}
        p = paired_difference(a, b)
        hits += p.low <= 0.05 <= p.high
    assert 0.93 <= hits / trials <= 0.97
