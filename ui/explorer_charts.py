"""Figures for the loss explorer: curves over one shared x axis, marks where a knob acts.

Values go in as plain lists, not NumPy arrays: Plotly would ship arrays base64-packed,
and the tests and the browser check read the points back from the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from ui.charts import _layout


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    y: Sequence[float]
    dash: str = "solid"
    meta: dict = field(default_factory=dict)


def curve_figure(
    x: Sequence[float],
    lines: Sequence[Line],
    *,
    title: str,
    x_title: str,
    y_title: str,
    marks: Sequence[tuple[float, str]] = (),
    y_range: tuple[float, float] | None = None,
    height: int = 340,
) -> go.Figure:
    """``marks`` are dotted verticals (Huber's ±δ, p = 0.5) labelled at the top;
    ``y_range`` cuts the axis where a curve runs off to infinity (1/p at p → 0)."""
    xs = np.asarray(x, dtype=float).tolist()
    fig = go.Figure()
    for ln in lines:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=np.asarray(ln.y, dtype=float).tolist(),
                mode="lines",
                name=ln.label,
                line=dict(color=ln.color, width=2.5, dash=ln.dash),
                meta=ln.meta,
                hovertemplate=f"{ln.label}: %{{y:.4g}}<extra></extra>",
            )
        )
    for xv, text in marks:
        fig.add_vline(
            x=xv,
            line=dict(color="#9ca3af", dash="dot", width=1),
            annotation_text=text,
            annotation_position="top right",
        )
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height, revision=title)
    fig.update_layout(hovermode="x")
    fig.add_hline(y=0, line=dict(color="#d1d5db", width=1))
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig
