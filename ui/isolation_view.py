"""The isolation plot: the best result per value (or log-bin) of one chosen knob, over
all the other knobs (``engine.search.isolation.of_sweep``), for a study or a finished
grid. Values with no finished result (every run there pruned, diverged or failed) are
never drawn as values: a ✕ sits on the axis' bottom edge with the count, and every
point says how many of its runs had no value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from engine.search import isolation as isolation_mod
from ui import literal
from ui.palette import RUN_COLORS
from ui.runs import fmt_num

POINT_COLOR = RUN_COLORS[0]
NO_VALUE_COLOR = RUN_COLORS[6]
RATE_WORDS = ("rate", "decay", "lr", "epsilon", "weight", "l1", "l2")


def _numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _flat(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out |= _flat(v, path + ".")
        elif not isinstance(v, list):
            out[path] = v
    return out


def varying_knobs(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config paths that take at least two values among ``runs`` (a grid's knobs);
    the seed is a repeat, not a knob."""
    values: dict[str, set] = {}
    for r in runs:
        for k, v in _flat(r.get("config") or {}).items():
            values.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vs in values.items() if len(vs) > 1 and k != "seed")


def _log_axis(knob: str, xs: list[float]) -> bool:
    """Rate-like knobs (or positive values spanning more than 20×) get a log axis."""
    if not xs or min(xs) <= 0:
        return False
    last = knob.rsplit(".", 1)[-1].lower()
    rate_like = any(w in last for w in RATE_WORDS)
    return rate_like or max(xs) / min(xs) > 20


def _x(row: Mapping[str, Any], log: bool) -> Any:
    if "bin" in row:
        lo, hi = row["bin"]
        return math.sqrt(lo * hi) if log and lo > 0 else (lo + hi) / 2
    return row["value"]


def _label(row: Mapping[str, Any]) -> str:
    if "bin" in row:
        lo, hi = row["bin"]
        return f"{fmt_num(lo)} – {fmt_num(hi)}"
    v = row["value"]
    return fmt_num(v) if isinstance(v, float) else str(v)


def isolation_figure(iso: Mapping[str, Any]) -> go.Figure:
    """Best ``metric`` per value of ``knob``: a point per value that has a result, a ✕ on
    the bottom edge (with its count) per value that has none."""
    rows = iso["rows"]
    knob, metric = iso["knob"], iso["metric"]
    numeric = all(_numeric(r.get("value", 0)) for r in rows)
    xs_all = [
        float(_x(r, False)) if "bin" not in r else float(r["bin"][0]) for r in rows if numeric
    ]
    log = numeric and _log_axis(knob, xs_all)
    xs = [_x(r, log) if numeric else _label(r) for r in rows]
    fig = go.Figure()
    have = [(x, r) for x, r in zip(xs, rows, strict=True) if r["best"] is not None]
    none = [(x, r) for x, r in zip(xs, rows, strict=True) if r["best"] is None]

    def hover(r: Mapping[str, Any]) -> str:
        head = f"{literal.plotly(knob)} = {literal.plotly(_label(r))}"
        best = "no finished value" if r["best"] is None else f"best {metric} {fmt_num(r['best'])}"
        extra = f" · {r['not_values']} pruned/diverged/failed" if r["not_values"] else ""
        return f"{head} · {best} · {r['completed']} of {r['runs']} runs finished{extra}"

    if have:
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in have],
                y=[r["best"] for _, r in have],
                mode="lines+markers+text" if numeric else "markers+text",
                line={"color": POINT_COLOR, "width": 1.5},
                marker={"color": POINT_COLOR, "size": 11},
                text=[
                    f"+{r['not_values']} without a value" if r["not_values"] else ""
                    for _, r in have
                ],
                textposition="top center",
                textfont={"color": NO_VALUE_COLOR, "size": 11},
                customdata=[r["run_id"] for _, r in have],
                hovertext=[hover(r) for _, r in have],
                hoverinfo="text",
                name="best result",
                cliponaxis=False,
            )
        )
    if none:
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in none],
                y=[0] * len(none),
                yaxis="y2",
                mode="markers+text",
                marker={"color": NO_VALUE_COLOR, "size": 13, "symbol": "x"},
                text=[f"{r['not_values']} without a value" for _, r in none],
                textposition="top center",
                textfont={"color": NO_VALUE_COLOR, "size": 11},
                hovertext=[hover(r) for _, r in none],
                hoverinfo="text",
                name="no value (pruned / diverged / failed)",
                cliponaxis=False,
            )
        )
    fig.update_layout(
        template="plotly_white",
        height=360,
        title={
            "text": f"Isolation · best {literal.plotly(metric)} per {literal.plotly(knob)}"
            ", over every other knob",
            "x": 0,
            "xanchor": "left",
            "font": {"size": 15},
        },
        margin={"l": 10, "r": 10, "t": 46, "b": 10},
        showlegend=bool(none),
        # Under the axis: above it the legend would run into a long title.
        legend={"orientation": "h", "y": -0.3, "x": 0, "xanchor": "left", "yanchor": "top"},
        yaxis={"title": {"text": f"best {metric}"}},
        yaxis2={
            "overlaying": "y",
            "range": [0, 1],
            "visible": False,
            "fixedrange": True,
        },
        xaxis={
            "title": {"text": knob + (" (log)" if log else "")},
            "type": "log" if log else ("linear" if numeric else "category"),
        },
    )
    if numeric and not ("bin" in rows[0] if rows else False):
        fig.update_xaxes(tickvals=xs, ticktext=[_label(r) for r in rows])
    return fig


def render_isolation(store, sweep_id: str, knobs: Sequence[str], key: str) -> None:
    """A knob picker and its isolation plot (click a point: that run's curves)."""
    from ui import study_view  # the clickable chart

    if not knobs:
        st.info("The isolation plot needs a knob that took two values.", icon=":material/info:")
        return
    left, right = st.columns([1, 3])
    with left:
        knob = st.selectbox("Isolate knob", list(knobs), key=f"{key}_knob")
        st.caption(
            "Each point is the best any run reached with that value, whatever the other "
            "knobs were; ✕ marks runs that were pruned, diverged or failed — counted, never "
            "plotted as values. Click a point to open its run's curves."
        )
    try:
        iso = isolation_mod.of_sweep(store, sweep_id, knob)
    except (KeyError, ValueError) as e:
        right.info(str(e), icon=":material/info:")
        return
    with right:
        study_view.chart(isolation_figure(iso), f"{key}_fig_{knob}", st.session_state)
