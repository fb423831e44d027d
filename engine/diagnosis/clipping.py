"""How hard gradient clipping bites, from the per-update record (``engine.training``
logs every update's global gradient norm *before* clipping and whether it was clipped).

The tuning playbook's rules (github.com/google-research/tuning_playbook, "Gradient
clipping"): choose the threshold from the 90th percentile of the unclipped gradient
norms, and treat more than half of the updates clipped as "extremely aggressive",
which is a strange way of lowering the learning rate: lower the learning rate instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.diagnosis.curves import finite, percentile
from engine.spec.clipping import clip_mode

AGGRESSIVE_SHARE = 0.5  # the playbook's "> 50 % of updates clipped"
SUGGEST_PERCENTILE = 90.0


@dataclass(frozen=True)
class ClipStats:
    mode: str | None  # global_clipnorm | clipnorm | clipvalue | None (not clipping)
    threshold: float | None
    updates: int
    clipped: int
    p50: float  # median pre-clip global gradient norm
    p90: float  # the playbook's suggested global_clipnorm

    @property
    def share(self) -> float:
        return self.clipped / self.updates if self.updates else 0.0

    @property
    def aggressive(self) -> bool:
        return self.mode is not None and self.share > AGGRESSIVE_SHARE

    def message(self) -> str:
        p90 = f"{self.p90:.3g}"
        if self.mode is None:
            return (
                f"Not clipping. 90th percentile of the gradient norm: {p90} "
                f"(a global_clipnorm to start from if the loss spikes)."
            )
        head = (
            f"{self.share:.0%} of {self.updates} updates clipped ({self.mode} {self.threshold:g})."
        )
        if self.aggressive:
            return (
                f"{head} More than half the updates clipped: lower the learning rate instead "
                f"(clipping that hard is a disguised learning-rate cut). 90th percentile of the "
                f"pre-clip norm: {p90}."
            )
        return f"{head} 90th percentile of the pre-clip norm: {p90} (a threshold to start from)."

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "threshold": self.threshold,
            "updates": self.updates,
            "clipped": self.clipped,
            "share": self.share,
            "grad_norm_p50": self.p50,
            "grad_norm_p90": self.p90,
            "suggested_global_clipnorm": self.p90,
            "aggressive": self.aggressive,
            "message": self.message(),
        }


def clip_stats(
    grad_norm: Sequence[float | None],
    clipped: Sequence[bool | None],
    clipping: Mapping[str, float] | None,
) -> ClipStats | None:
    """None when no update recorded a finite gradient norm."""
    norms = finite(grad_norm)
    if not norms:
        return None
    mode, threshold = clip_mode(clipping)
    flags = [bool(c) for c, g in zip(clipped, grad_norm, strict=False) if g is not None]
    return ClipStats(
        mode=mode,
        threshold=threshold,
        updates=len(flags) if flags else len(norms),
        clipped=sum(flags) if mode is not None else 0,
        p50=percentile(norms, 50.0),
        p90=percentile(norms, SUGGEST_PERCENTILE),
    )
