"""The numbers the rules read off a run's recorded series, measured once per diagnosis.

Two yardsticks make a rule hold on any task:

- **scale**: the trivial predictor's loss (the training mean or class prior, on the
  validation data; ``engine.baseline``), else the first epoch's training loss. A gap of
  0.025 is nothing next to a trivial loss of 9.9, and a bounce of 0.003 → 0.07 in a
  memorising run is 6 % of it, not "a 20× spike".
- **noise**: a series' own epoch-to-epoch wander, from its second differences (a steady
  trend, falling or rising, has none) and robustly (median absolute deviation), so a
  validation curve at its noise floor is not read as rising, and one spike does not
  make a curve noisy.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

MAD_TO_SIGMA = 1.4826  # a normal distribution's σ per unit of median absolute deviation


def finite(xs: Sequence[float | None]) -> list[float]:
    return [x for x in xs if x is not None and math.isfinite(x)]


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return 0.5 * (s[(n - 1) // 2] + s[n // 2]) if n else math.nan


def percentile(xs: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (NumPy's default), q in [0, 100]."""
    s = sorted(xs)
    if not s:
        return math.nan
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def noise(xs: Sequence[float]) -> float:
    """Robust σ of a series' epoch-to-epoch wander (0 with fewer than 3 points).

    For x_i = trend + e_i with independent e_i of σ, the second difference
    e_{i+1} − 2e_i + e_{i−1} has σ·√6, and a straight trend cancels out.
    """
    d2 = [abs(c - 2 * b + a) for a, b, c in zip(xs, xs[1:], xs[2:], strict=False)]
    return MAD_TO_SIGMA * median(d2) / math.sqrt(6) if d2 else 0.0


def rel_noise(xs: Sequence[float]) -> float:
    """``noise`` of the logarithm: a series' wander as a share of its level. A loss
    falling exponentially (a straight line in log space) has none, however fast it
    falls, where the absolute second differences would read its curvature as noise."""
    logs = [math.log(x) for x in xs if x > 0]
    return noise(logs) if len(logs) == len(xs) else noise(xs) / max(1e-12, abs(median(xs)))


_MAX_LOG = math.log(sys.float_info.max)


def gain_per_epoch(xs: Sequence[float]) -> float:
    """Relative fall per epoch of a positive series, from a least-squares line through
    its logarithm (0.1 = 10 % lower each epoch; negative when it rises)."""
    pts = [(i, math.log(x)) for i, x in enumerate(xs) if x > 0]
    if len(pts) < 2:
        return 0.0
    n = len(pts)
    mx = sum(i for i, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((i - mx) ** 2 for i, _ in pts)
    slope = sum((i - mx) * (y - my) for i, y in pts) / sxx
    # A rise from a denormal (1e-311 → 1) has a log-slope past exp's range: capped, it
    # reads as the steepest rise a float can say rather than an OverflowError.
    return 1.0 - math.exp(min(slope, _MAX_LOG))


@dataclass
class Curves:
    """A run's series as the rules read them. ``loss``/``val`` per epoch, the rest per
    optimizer update; NaN kept (a diverged curve must stay visible)."""

    loss: list[float | None]
    val: list[float | None] = field(default_factory=list)
    updates: list[float | None] = field(default_factory=list)
    grad_norm: list[float | None] = field(default_factory=list)
    clipped: list[bool | None] = field(default_factory=list)
    baseline: float | None = None
    n_val: int | None = None
    floor: float | None = None  # the data's own noise floor (``engine.baseline.noise_floor``)
    # Spread of one example's loss relative to the mean loss: √2 for a squared error of
    # Gaussian residuals, about 1 for cross-entropy and absolute errors.
    loss_spread: float = 1.0

    def sampling_error(self, mean_loss: float) -> float | None:
        """The standard error of a validation loss measured on ``n_val`` examples: how
        much another draw of the validation set could move it (regression at noise 2
        with 100 examples: ±0.57 on a loss of 4)."""
        if not self.n_val:
            return None
        return self.loss_spread * abs(mean_loss) / math.sqrt(self.n_val)

    @cached_property
    def fl(self) -> list[float]:
        return finite(self.loss)

    @cached_property
    def fv(self) -> list[float]:
        return finite(self.val)

    @property
    def n(self) -> int:
        return len(self.loss)

    @cached_property
    def has_val(self) -> bool:
        """Validation judged epoch by epoch next to training (same length, all finite)."""
        return len(self.fv) >= 3 and len(self.fv) == len(self.fl)

    @cached_property
    def scale(self) -> float:
        """The trivial predictor's loss, else the first finite loss (never 0)."""
        if self.baseline is not None and math.isfinite(self.baseline) and self.baseline > 0:
            return self.baseline
        first = next((abs(v) for v in (*self.updates, *self.loss) if is_finite(v) and v), None)
        return first or 1.0

    @property
    def learnable(self) -> float:
        """The loss there is to learn: trivial loss minus the noise floor (just the
        scale when the floor is unknown)."""
        f = self.floor
        return self.scale - f if f is not None and 0 <= f < 0.9 * self.scale else self.scale

    def level(self, value: float) -> float:
        """How much of the learnable loss is left: 0 at the noise floor, 1 at the trivial
        predictor's loss (just ``value / scale`` without a known floor)."""
        f = self.floor
        if f is not None and 0 <= f < 0.9 * self.scale:
            return (value - f) / (self.scale - f)
        return value / self.scale

    @cached_property
    def updates_per_epoch(self) -> int:
        return max(1, len(self.updates) // max(self.n, 1))

    @property
    def tail(self) -> int:
        """Epochs that make "recent": the last third, at least 3 (fewer when the run is short)."""
        return max(min(3, self.n), self.n // 3)

    def recent(self, xs: list[float]) -> float:
        """The level of the last epochs, robust to one odd epoch (median of the last 3)."""
        return median(xs[-3:])

    @cached_property
    def best_val_epoch(self) -> int | None:
        """0-based index of validation's minimum (the first, if tied)."""
        return min(range(len(self.fv)), key=self.fv.__getitem__) if self.has_val else None

    @cached_property
    def steadily_falling(self) -> bool:
        """Training loss lower every epoch over the last third."""
        k = max(1, len(self.fl) // 3)
        return all(b < a for a, b in itertools.pairwise(self.fl[-k - 1 :]))
