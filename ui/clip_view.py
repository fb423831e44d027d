"""Clipping diagnostics on the gradient-norm chart: for each clipped run, the 90th
percentile of its pre-clip gradient norm as a dashed line (the tuning playbook's
threshold to start from) and, at its right end, the share of updates clipped, with
"lower the LR instead" when more than half were (``engine.diagnosis.clipping``).

The chart's series may be thinned to about a thousand evenly strided updates; the
share and percentile of an even stride estimate the full run's (the explanation
quotes the full-resolution numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.diagnosis.clipping import clip_stats


def _esc(text: str) -> str:
    return str(text).replace("%", "%%").replace("<", "&lt;")


def clip_label(stats) -> str:
    text = f"{stats.share:.0%} clipped · p90 ‖g‖ {stats.p90:.3g}"
    return text + " · lower the LR instead" if stats.aggressive else text


def clip_annotations(fig, run, x: Sequence[Any]) -> None:
    """Add the p90 line and the clipped-share label of ``run`` (a ``ui.charts.RunCurves``)
    to ``fig`` (anything with ``add_trace(**scatter_props)``)."""
    u = run.updates or {}
    stats = clip_stats(u.get("grad_norm") or [], u.get("clipped") or [], run.clipping)
    xs = [v for v in x if v is not None]
    if stats is None or stats.mode is None or not xs:
        return
    label = clip_label(stats)
    fig.add_trace(
        x=[min(xs), max(xs)],
        y=[stats.p90, stats.p90],
        mode="lines+text",
        line=dict(color=run.color, width=1, dash="dash"),
        text=["", label],
        textposition="top left",
        textfont=dict(color=run.color, size=11),
        name=f"{run.name} p90 gradient norm",
        legendgroup=run.run_id,
        showlegend=False,
        hovertemplate=(
            f"{_esc(run.name)} · 90th percentile of ‖g‖ = {stats.p90:.3g} (a clip threshold "
            f"to start from) · {stats.share:.0%} of updates clipped<extra></extra>"
        ),
        meta={
            "run_id": run.run_id,
            "series": "clip_p90",
            "value": stats.p90,
            "share": stats.share,
            "aggressive": stats.aggressive,
        },
    )
