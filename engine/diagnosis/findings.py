"""A rule's verdict as data: the checks it made (each a number against its threshold),
which of its signs fired, how sure it is and how much of the loss it accounts for.

A rule has one or more *signs* (LR too high: spikes, a climb, a noisy plateau, ...);
a sign fires when every one of its checks passes, and the rule fires when any sign
does. Keeping the numbers and thresholds lets the explanation say *why* in numbers
("validation rose 0.31 since its best; needs > 0.12, three times its own noise") and
gives a confidence that means something: how far the weakest check of the firing sign
cleared its threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MAX_MARGIN = 10.0


@dataclass(frozen=True)
class Check:
    """``value`` against ``threshold``: passes when above it (or below, ``above=False``)."""

    what: str
    value: float
    threshold: float
    above: bool = True

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value > self.threshold if self.above else self.value < self.threshold

    @property
    def margin(self) -> float:
        """How far past the threshold, as a ratio: 1 at the threshold, > 1 when passing."""
        v, t = self.value, self.threshold
        if not math.isfinite(v):
            return 0.0
        if self.above:
            if t > 0:
                return min(MAX_MARGIN, max(0.0, v / t))
            return MAX_MARGIN if v > t else 0.0
        if v > 0 and t > 0:
            return min(MAX_MARGIN, t / v)
        return MAX_MARGIN if v < t else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "value": self.value,
            "threshold": self.threshold,
            "above": self.above,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Sign:
    """One way a problem shows: all of its checks must pass."""

    name: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        """The weakest check's margin (≥ 1 exactly when the sign fires)."""
        return min((c.margin for c in self.checks), default=0.0)


def confidence_of(score: float) -> float:
    """0.5 at the threshold, rising towards 1 as the weakest check clears it."""
    return round(1.0 - 0.5 * math.exp(-2.0 * max(0.0, score - 1.0)), 2)


@dataclass
class Finding:
    """One label's verdict. ``explains``: the share of the scale (the trivial loss) this
    problem accounts for, which ranks findings; ``evidence``: the plain numbers the
    dashboard has shown since schema v1 (key → value)."""

    label: str
    signs: list[Sign] = field(default_factory=list)
    explains: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, Any] = field(default_factory=dict)  # chart marks (spike updates, ...)

    @property
    def fired(self) -> list[Sign]:
        return [s for s in self.signs if s.passed]

    @property
    def passed(self) -> bool:
        return bool(self.fired)

    @property
    def confidence(self) -> float:
        fired = self.fired
        if fired:
            return confidence_of(max(s.score for s in fired))
        return 0.0

    @property
    def closest(self) -> Sign | None:
        """The sign that came nearest to firing (for a near miss, what nearly fired)."""
        return max(self.signs, key=lambda s: s.score, default=None)

    def to_dict(self) -> dict[str, Any]:
        shown = self.fired or ([self.closest] if self.closest else [])
        return {
            "label": self.label,
            "confidence": self.confidence,
            "explains": round(self.explains, 4),
            "signs": [s.name for s in self.fired],
            "checks": [c.to_dict() for s in shown for c in s.checks],
        }
