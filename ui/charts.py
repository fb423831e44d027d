"""Plotly figures of runs, built from the run store's series dicts.

Pure functions (series in, ``go.Figure`` out, no Streamlit, no TensorFlow) so each
chart is unit-testable and its conventions hold everywhere: one colour per run,
train solid and validation dashed, the raw curve faint beneath a smoothed one,
NaN kept as a visible break with a divergence marker rather than silently dropped.

Every figure sets ``uirevision`` so a zoom survives the live panel's redraws.
"""

from __future__ import annotations

import bisect
import copy
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from engine.records import STEP_AXIS_TITLE, step_of, update_of
from engine.spec.clipping import CLIP_MODES, clip_mode
from ui import literal
from ui.clip_view import clip_annotations
from ui.palette import faded

X_AXES = {
    "epoch": "Epoch",
    "update": STEP_AXIS_TITLE,  # Keras's optimizer.iterations: step 0 = the first update
    "examples": "Examples seen",
    "wall": "Wall time (s)",
}

TRAIN_DASH = "solid"
VAL_DASH = "dash"
RAW_ALPHA = 0.25
BAND_ALPHA = 0.18
GAP_ALPHA = 0.15
LR_FINDER_COLOR = "#4338ca"


@dataclass
class Marker:
    """A labelled place on one run's charts: its best epoch and the diagnosis' findings.

    ``key`` is the series it belongs to (``"val_loss"``, an update column such as
    ``"loss"``; ``"*"`` = every chart of the run). A ``"point"`` sits on the curve:
    one given by ``epoch`` on per-epoch charts, one given by ``update`` on per-update
    charts. A ``"line"`` is a vertical line across the chart (the divergence), on both.
    """

    key: str
    label: str
    epoch: int | None = None
    update: int | None = None
    symbol: str = "star"
    kind: str = "point"


@dataclass
class RunCurves:
    """What a chart needs of one run; ``ui.runs.curves_for`` fills it from the store."""

    run_id: str
    name: str
    color: str
    epochs: dict[str, dict[str, list]] = field(default_factory=dict)
    updates: dict[str, list] | None = None
    updates_per_epoch: float = 1.0
    batch_size: int = 1
    accum: int = 1
    n_train: int = 0
    clipping: dict[str, float] | None = None
    markers: list[Marker] = field(default_factory=list)
    group: str | None = None  # runs identical but for the seed share a group key
    group_label: str | None = None
    gap_from: int | None = None  # overfitting from this epoch: shade the loss gap


# ----------------------------------------------------------------------------- maths


def finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def ema(values: Sequence[float | None], weight: float) -> list[float | None]:
    """TensorBoard's debiased exponential moving average.

    ``weight`` 0 returns the input; 0.9 averages over roughly the last ten points.
    Debiasing (dividing by ``1 - weight**n``) stops the curve starting near zero.
    Non-finite points (a diverged run's NaN) pass through unchanged and do not
    poison the average, so the break stays where it happened.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight: must be in [0, 1), got {weight}")
    out: list[float | None] = []
    last, n = 0.0, 0
    for v in values:
        if not finite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1.0 - weight) * float(v)
        out.append(last / (1.0 - weight**n) if weight > 0 else last)
    return out


def mean_band(
    members: Sequence[tuple[Sequence[float], Sequence[float | None]]],
) -> dict[str, list]:
    """Mean ± one standard deviation of several curves, point by point on a shared x.

    Points are matched on x (epochs or updates are the same across seed repeats);
    non-finite values are left out of a point's statistics, and ``n`` says how many
    runs each point rests on (a run still training contributes fewer points).
    """
    by_x: dict[float, list[float]] = {}
    for xs, ys in members:
        for x, y in zip(xs, ys, strict=False):
            if finite(y):
                by_x.setdefault(x, []).append(float(y))
    xs_sorted = sorted(by_x)
    mean, lo, hi, n = [], [], [], []
    for x in xs_sorted:
        vals = by_x[x]
        m = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
        mean.append(m)
        lo.append(m - sd)
        hi.append(m + sd)
        n.append(len(vals))
    return {"x": xs_sorted, "mean": mean, "lo": lo, "hi": hi, "n": n}


def thin(n: int, max_points: int) -> list[int]:
    """Indices of about ``max_points`` evenly strided points, first and last kept."""
    if n <= max_points:
        return list(range(n))
    stride = math.ceil((n - 1) / (max_points - 1))
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return idx


# ----------------------------------------------------------------------------- x axes


def _lookup(run: RunCurves, key: str) -> dict[int, float]:
    s = run.epochs.get(key)
    if not s:
        return {}
    return {e: v for e, v in zip(s["epoch"], s["value"], strict=False) if finite(v)}


def epoch_x(run: RunCurves, epochs: Sequence[int], axis: str) -> list[float | None]:
    """Where each epoch's end falls on the chosen x axis (on the step axis: the updates
    done, which is ``optimizer.iterations`` when the epoch ends)."""
    if axis == "epoch":
        return list(epochs)
    if axis == "examples":
        return [e * run.n_train for e in epochs]
    if axis == "update":
        table = _lookup(run, "updates")
        return [table.get(e, e * run.updates_per_epoch) for e in epochs]
    if axis == "wall":
        table = _lookup(run, "wall_time")
        return [table.get(e) for e in epochs]
    raise ValueError(f"axis: must be one of {list(X_AXES)}, got {axis!r}")


def update_x(run: RunCurves, updates: Sequence[int], axis: str) -> list[float | None]:
    """Where each optimizer update (1-based, as stored) falls on the chosen x axis; the
    step axis counts like Keras's ``optimizer.iterations`` (``step_of``).

    Wall time is only recorded per epoch, so an update's time is interpolated
    between epoch ends (and extrapolated at the last epoch's pace past the last one).
    """
    if axis == "update":
        return [step_of(u) for u in updates]
    if axis == "epoch":
        per = run.updates_per_epoch or 1.0
        return [u / per for u in updates]
    if axis == "examples":
        return [u * run.batch_size * run.accum for u in updates]
    if axis == "wall":
        ups, walls = _lookup(run, "updates"), _lookup(run, "wall_time")
        pts = sorted((ups[e], walls[e]) for e in ups if e in walls)
        if not pts:
            return [None] * len(updates)
        pts = [(0.0, 0.0), *pts]
        out = []
        for u in updates:
            out.append(_interp(u, pts))
        return out
    raise ValueError(f"axis: must be one of {list(X_AXES)}, got {axis!r}")


def _interp(u: float, pts: list[tuple[float, float]]) -> float:
    for (u0, t0), (u1, t1) in itertools.pairwise(pts):
        if u <= u1:
            return t0 + (t1 - t0) * (u - u0) / (u1 - u0) if u1 > u0 else t1
    (u0, t0), (u1, t1) = pts[-2], pts[-1]
    rate = (t1 - t0) / (u1 - u0) if u1 > u0 else 0.0
    return t1 + rate * (u - u1)


# ----------------------------------------------------------------------------- layout


class _Draft:
    """A run chart's traces and shapes as plain dicts, made into one figure at the end.

    Plotly checks every property of every trace against its schema as the trace is
    built: with 200 runs (some 700 traces) that was most of the compare page's render
    time. The run charts are assembled from the dicts below and built unchecked, once;
    ``tests/ui/test_ui_compare_speed.py`` checks every kind of trace they draw against
    the schema instead, so a misspelt property still fails a test.
    """

    def __init__(self) -> None:
        self.traces: list[dict] = []
        self.shapes: list[dict] = []

    def add_trace(self, **props: Any) -> None:
        self.traces.append({"type": "scatter", **props})

    def add_shape(self, **props: Any) -> None:
        self.shapes.append(props)

    def figure(self, layout: dict[str, Any], *, keys: Sequence[tuple[str, str]] = ()) -> go.Figure:
        """The figure; with ``keys`` (more than ``MANY_RUNS`` runs) bundled, its legend
        reduced to the line styles ``keys`` names (``(label, dash)``)."""
        layout = {**layout, "template": copy.deepcopy(_template())}
        traces = self.traces
        if keys:
            traces = _bundled(traces) + [_legend_key(label, dash) for label, dash in keys]
            layout["hovermode"] = "closest"
        if self.shapes:
            layout["shapes"] = _labels_inside(self.shapes, self.traces)
        return go.Figure(data=traces, layout=layout, _validate=False)


def _labels_inside(shapes: list[dict], traces: list[dict]) -> list[dict]:
    """A vertical line's label reads to the right of the line, or to its left in the
    right half of the chart: next to the plot's right edge it would be cut off."""
    xs = [x for t in traces for x in (t.get("x") or ()) if finite(x)]
    if not xs:
        return shapes
    middle = (min(xs) + max(xs)) / 2
    out = []
    for sh in shapes:
        if "label" in sh and finite(sh.get("x0")) and sh["x0"] > middle:
            sh = {**sh, "label": {**sh["label"], "xanchor": "right"}}
        out.append(sh)
    return out


# Past this many runs a run chart bundles its curves. The browser draws each trace as an
# SVG path with its own legend entry: 200 runs × 30 epochs made some 700 traces and a
# 200-entry legend, about 4 s of drawing in Chromium (``benchmarks/ui_speed.py``) for a
# legend nobody can read. Bundled, every curve of one colour and line style is one trace
# (curves separated by gaps), each point's hover still names its run, and the legend
# keeps only the line styles; the table is the key to the colours.
MANY_RUNS = 20


def _bundle_key(t: dict) -> tuple | None:
    meta = t.get("meta") or {}
    style = (meta.get("series"), bool(meta.get("raw")), bool(meta.get("band")))
    if t.get("fill"):
        return ("fill", t.get("fillcolor"), *style)
    mode = t.get("mode") or ""
    if mode.startswith("lines"):
        line = t.get("line") or {}
        return ("lines", line.get("color"), line.get("dash"), line.get("width"), *style)
    if mode == "markers":
        marker = t.get("marker") or {}
        return ("markers", marker.get("symbol"), marker.get("size"), *style)
    return None


def _hover_text(t: dict) -> str | None:
    """The fixed part of a trace's hover label (``run · train``), for each bundled point."""
    template = t.get("hovertemplate")
    if not template or t.get("hoverinfo") == "skip":
        return None
    text = template.removesuffix("<extra></extra>").split("%{", 1)[0]
    return text.removesuffix(": ").removesuffix(" · ").strip() or None


def _bundled(traces: list[dict]) -> list[dict]:
    """Traces of one kind, colour and line style merged into one (see ``MANY_RUNS``)."""
    bundles: dict[tuple, dict] = {}
    out: list[dict] = []
    for t in traces:
        key = _bundle_key(t)
        if key is None:
            out.append(t)
            continue
        b = bundles.get(key)
        if b is None:
            b = bundles[key] = {
                **{k: v for k, v in t.items() if k not in ("x", "y", "customdata", "name")},
                "x": [],
                "y": [],
                "showlegend": False,
                "meta": {**(t.get("meta") or {}), "runs": [], "bundle": True},
            }
            b["meta"].pop("run_id", None)
            if key[0] == "markers":
                b["marker"] = {**(t.get("marker") or {}), "color": []}
            elif key[0] == "lines":
                b["mode"] = "lines"  # point markers on 200 curves are only ink
                b.pop("marker", None)
            if _hover_text(t) is not None:
                b["customdata"] = []
                y_part = "" if key[0] == "markers" else ": %{y:.4g}"
                b["hovertemplate"] = "%{customdata}" + y_part + "<extra></extra>"
            out.append(b)
        xs, ys = list(t.get("x") or []), list(t.get("y") or [])
        gap = key[0] != "markers"
        b["x"] += xs + ([None] if gap else [])
        b["y"] += ys + ([None] if gap else [])
        if "customdata" in b:
            text = _hover_text(t) or ""
            b["customdata"] += [text] * len(xs) + ([None] if gap else [])
        if key[0] == "markers":
            b["marker"]["color"] += [(t.get("marker") or {}).get("color")] * len(xs)
        meta = t.get("meta") or {}
        for rid in meta.get("runs") or [meta.get("run_id")]:
            if rid is not None and rid not in b["meta"]["runs"]:
                b["meta"]["runs"].append(rid)
    return out


def _legend_key(label: str, dash: str) -> dict:
    """A legend entry for a line style alone (no data): what solid and dashed mean."""
    return {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "lines",
        "line": {"color": "#6b7280", "width": 2, "dash": dash},
        "name": label,
        "hoverinfo": "skip",
        "meta": {"series": "legend_key"},
    }


@functools.cache
def _template() -> dict[str, Any]:
    """The run charts' Plotly template as JSON, resolved once (by name it costs a
    schema-checked copy per figure; unresolved, Plotly.js would not know the name)."""
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def _plot_y(values: Iterable[Any]) -> list[float | None]:
    """Plotly cannot draw inf and shows None as a gap: a diverged stretch is a gap."""
    return [float(v) if finite(v) else None for v in values]


def _layout_props(
    *,
    title: str | None,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    height: int = 360,
    revision: str = "",
) -> dict[str, Any]:
    """Every chart's look: title at the left, legend beneath, light grid, log axis option."""
    return dict(
        **({"title": dict(text=title, x=0, xanchor="left", font=dict(size=15))} if title else {}),
        height=height,
        margin=dict(l=10, r=10, t=46 if title else 16, b=10),
        hovermode="x unified",
        # Under the plot, not above it: Plotly's toolbar appears over the top right
        # corner on hover, and the top is where the title and the line labels sit.
        legend=dict(
            orientation="h", yanchor="top", y=_legend_y(height, title), xanchor="left", x=0
        ),
        uirevision=revision or title or y_title,
        xaxis=dict(title=dict(text=x_title), showgrid=True, zeroline=False),
        yaxis=dict(
            title=dict(text=y_title),
            type="log" if log_y else "linear",
            showgrid=True,
            zeroline=False,
            exponentformat="power" if log_y else "B",
        ),
    )


def _legend_y(height: int, title: str | None) -> float:
    """Where the legend's top goes, in plot heights below the plot: clear of the x axis's
    ticks and title (about 62 px), whatever the chart's height."""
    plot = max(120, height - (46 if title else 16) - 40)
    return -max(0.2, 62 / plot)


def _layout(fig: go.Figure, **props: Any) -> go.Figure:
    """``_layout_props`` applied to a figure built trace by trace (the small charts)."""
    fig.update_layout(template="plotly_white", **_layout_props(**props))
    return fig


def _curve(
    fig: _Draft,
    run: RunCurves,
    x: Sequence[Any],
    values: Sequence[Any],
    *,
    label: str,
    dash: str,
    smoothing: float,
    showlegend: bool,
    series: str,
    color: str | None = None,
) -> list[float | None]:
    """One curve (with its faint raw copy when smoothed); returns the drawn y values."""
    color = color or run.color
    meta = {"run_id": run.run_id, "series": series}
    if smoothing > 0:
        fig.add_trace(
            x=list(x),
            y=_plot_y(values),
            mode="lines",
            line=dict(color=faded(color, RAW_ALPHA), width=1, dash=dash),
            name=f"{_name(run)} · {label} (raw)",
            legendgroup=run.run_id,
            showlegend=False,
            hoverinfo="skip",
            meta={**meta, "raw": True},
        )
        drawn = _plot_y(ema(values, smoothing))
    else:
        drawn = _plot_y(values)
    few = len(drawn) <= 40
    fig.add_trace(
        x=list(x),
        y=drawn,
        mode="lines+markers" if few else "lines",
        marker=dict(size=5, color=color),
        line=dict(color=color, width=2, dash=dash),
        name=_name(run),
        legendgroup=run.run_id,
        showlegend=showlegend,
        hovertemplate=f"{_esc(run.name)} · {label}: %{{y:.4g}}<extra></extra>",
        meta=meta,
    )
    _divergence_marker(fig, run, x, values, drawn, label, color)
    return drawn


def _esc(text: str) -> str:
    """User text inside a hovertemplate: shown as typed, never a field or markup."""
    return literal.plotly_template(text)


def _name(run: RunCurves) -> str:
    """A run's name as a legend entry: shown as typed (Plotly reads HTML in names)."""
    return literal.plotly(run.name)


def _divergence_marker(fig, run, x, values, drawn, label, color) -> None:
    bad = next((i for i, v in enumerate(values) if not finite(v)), None)
    if bad is None or x[bad] is None:
        return
    last = next((drawn[i] for i in range(bad - 1, -1, -1) if drawn[i] is not None), None)
    what = "NaN" if isinstance(values[bad], float) and math.isnan(values[bad]) else "inf"
    fig.add_trace(
        x=[x[bad]],
        y=[last if last is not None else 0.0],
        mode="markers",
        marker=dict(symbol="x-thin", size=14, line=dict(width=3, color=color), color=color),
        name=f"{_name(run)} diverged",
        legendgroup=run.run_id,
        showlegend=False,
        hovertemplate=f"{_esc(run.name)} · {label} became {what} here<extra></extra>",
        meta={"run_id": run.run_id, "series": "diverged"},
    )


def _marker_points(fig, run: RunCurves, key: str, x_of: dict, y_of: dict) -> None:
    for m in run.markers:
        if m.kind != "point" or m.key not in (key, "*") or m.epoch is None:
            continue
        if m.epoch not in x_of or y_of.get(m.epoch) is None:
            continue
        fig.add_trace(
            x=[x_of[m.epoch]],
            y=[y_of[m.epoch]],
            mode="markers",
            marker=dict(
                symbol=m.symbol, size=13, color=run.color, line=dict(width=1, color="white")
            ),
            name=m.label,
            legendgroup=run.run_id,
            showlegend=False,
            hovertemplate=f"{_esc(run.name)} · {_esc(m.label)}<extra></extra>",
            meta={"run_id": run.run_id, "series": "marker", "label": m.label},
        )


def _update_marker_points(fig, run: RunCurves, column: str, x_axis: str) -> None:
    """Update-placed markers (loss spikes) of one run as one trace on its raw values.

    The store may thin a long run's per-update series, so a marked update that was
    thinned away sits on the nearest earlier point that was kept.
    """
    u = run.updates or {}
    ups, values = u.get("update") or [], u.get(column) or []
    marks = [
        m
        for m in run.markers
        if m.kind == "point" and m.update is not None and m.key in (column, "*")
    ]
    pts = []
    for m in marks:
        i = bisect.bisect_right(ups, m.update) - 1
        if 0 <= i < len(values) and finite(values[i]):
            pts.append((m, values[i]))
    if not pts:
        return
    by_symbol: dict[str, list] = {}
    for m, y in pts:
        by_symbol.setdefault(m.symbol, []).append((m, y))
    for symbol, group in by_symbol.items():
        fig.add_trace(
            x=update_x(run, [m.update for m, _ in group], x_axis),
            y=[float(y) for _, y in group],
            mode="markers",
            marker=dict(symbol=symbol, size=10, color=run.color, line=dict(width=1.5)),
            name=f"{_name(run)} · {group[0][0].label}",
            legendgroup=run.run_id,
            showlegend=False,
            customdata=[m.label for m, _ in group],
            hovertemplate=f"{_esc(run.name)} · %{{customdata}}<extra></extra>",
            meta={
                "run_id": run.run_id,
                "series": "update_marker",
                "updates": [m.update for m, _ in group],
            },
        )


def marker_x(run: RunCurves, m: Marker, x_axis: str, *, per_epoch: bool) -> float | None:
    """Where a marker falls on the chosen x axis.

    An update on a per-epoch chart drawn by epoch sits at the epoch containing it
    (that epoch's point is the one it spoiled); everywhere else it sits at the update
    itself, converted like the per-update curves are.
    """
    if m.update is not None:
        if per_epoch and x_axis == "epoch":
            return math.ceil(m.update / (run.updates_per_epoch or 1.0))
        return update_x(run, [m.update], x_axis)[0]
    if m.epoch is not None:
        return epoch_x(run, [m.epoch], x_axis)[0]
    return None


def _marker_lines(fig, run: RunCurves, key: str, x_axis: str, *, per_epoch: bool) -> None:
    for m in run.markers:
        if m.kind != "line" or m.key not in (key, "*"):
            continue
        x = marker_x(run, m, x_axis, per_epoch=per_epoch)
        if x is None:
            continue
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line=dict(color=run.color, width=1.5, dash="dot"),
            name=f"{_name(run)} · {m.label}",
            legendgroup=run.run_id,
            label=dict(
                text=f"✕ {m.label}",
                textposition="end",
                textangle=0,
                xanchor="left",
                yanchor="top",
                font=dict(size=11, color=run.color),
            ),
        )


def _gap_fill(fig, run: RunCurves, train: dict, val: dict) -> None:
    """The train/validation gap of an overfitting run, shaded from the epoch validation
    turned (its best, the one before ``gap_from``) to the end, so the widening is seen.

    ``train``/``val`` map epoch → (x, drawn y); the fill goes beneath the curves.
    """
    start = (run.gap_from or 0) - 1
    epochs = [
        e
        for e in sorted(set(train) & set(val))
        if e >= start
        and train[e][0] is not None
        and train[e][1] is not None
        and val[e][1] is not None
    ]
    if len(epochs) < 2:
        return
    xs = [train[e][0] for e in epochs]
    fig.add_trace(
        x=xs + xs[::-1],
        y=[val[e][1] for e in epochs] + [train[e][1] for e in reversed(epochs)],
        fill="toself",
        fillcolor=faded(run.color, GAP_ALPHA),
        line=dict(width=0),
        mode="lines",
        hoverinfo="skip",
        showlegend=False,
        legendgroup=run.run_id,
        name=f"{_name(run)} · train/validation gap",
        meta={"run_id": run.run_id, "series": "gap", "from_epoch": epochs[0]},
    )
    fig.traces.insert(0, fig.traces.pop())  # beneath the curves


# ----------------------------------------------------------------------------- figures


def metric_figure(
    runs: Sequence[RunCurves],
    key: str,
    *,
    x_axis: str = "epoch",
    smoothing: float = 0.0,
    log_y: bool = False,
    title: str | None = None,
    y_title: str | None = None,
    show_val: bool = True,
    group_seeds: bool = False,
    height: int = 360,
) -> go.Figure:
    """Per-epoch curves of ``key`` (train, solid) and ``val_<key>`` (validation, dashed).

    With ``group_seeds``, runs sharing a ``group`` are drawn as their mean with a
    ±1 std band instead of one line each: seed noise becomes visible as a width,
    and a difference between settings is only real where the bands separate.
    """
    draft = _Draft()
    keys = [(key, "train", TRAIN_DASH)]
    if show_val:
        keys.append((f"val_{key}", "validation", VAL_DASH))
    groups: dict[str, list[RunCurves]] = {}
    singles: list[RunCurves] = []
    for run in runs:
        if group_seeds and run.group:
            groups.setdefault(run.group, []).append(run)
        else:
            singles.append(run)
    for g, members in list(groups.items()):
        if len(members) < 2:
            singles.extend(members)
            del groups[g]
    for run in singles:
        legend_done = False
        drawn_by: dict[str, dict] = {}
        for k, label, dash in keys:
            s = run.epochs.get(k)
            if not s or not s.get("epoch"):
                continue
            x = epoch_x(run, s["epoch"], x_axis)
            drawn = _curve(
                draft,
                run,
                x,
                s["value"],
                label=label,
                dash=dash,
                smoothing=smoothing,
                showlegend=not legend_done,
                series=k,
            )
            legend_done = True
            drawn_by[k] = dict(zip(s["epoch"], zip(x, drawn, strict=False), strict=False))
            _marker_points(
                draft,
                run,
                k,
                dict(zip(s["epoch"], x, strict=False)),
                dict(zip(s["epoch"], drawn, strict=False)),
            )
        if run.gap_from and key == "loss" and show_val and len(drawn_by) == 2:
            _gap_fill(draft, run, drawn_by["loss"], drawn_by["val_loss"])
        if drawn_by:
            _marker_lines(draft, run, key, x_axis, per_epoch=True)
    for members in groups.values():
        _band_traces(draft, members, keys, x_axis, smoothing)
    layout = _layout_props(
        title=title,
        x_title=X_AXES[x_axis],
        y_title=y_title or key,
        log_y=log_y,
        height=height,
        revision=f"{key}:{x_axis}:{log_y}",
    )
    if x_axis == "epoch":
        layout["xaxis"].update(_integer_epochs(runs))
    many = len(runs) > MANY_RUNS
    return draft.figure(layout, keys=[(label, dash) for _, label, dash in keys] if many else ())


def _integer_epochs(runs: Sequence[RunCurves]) -> dict[str, int]:
    """Epochs are whole numbers: no 1.5 ticks on a four-epoch chart."""
    last = max(
        (max(s["epoch"]) for r in runs for s in r.epochs.values() if s.get("epoch")), default=0
    )
    return {"tick0": 0, "dtick": max(1, math.ceil(last / 10))} if last else {}


def _band_traces(fig, members: list[RunCurves], keys, x_axis: str, smoothing: float) -> None:
    lead = members[0]
    label = lead.group_label or lead.name
    legend_done = False
    for k, what, dash in keys:
        curves = []
        for run in members:
            s = run.epochs.get(k)
            if not s or not s.get("epoch"):
                continue
            ys = ema(s["value"], smoothing) if smoothing > 0 else s["value"]
            curves.append((s["epoch"], ys))
        if not curves:
            continue
        band = mean_band(curves)
        # x per epoch: identical across seeds except wall time, where the mean is fair
        xs_by_member = [
            dict(zip(c[0], epoch_x(r, c[0], x_axis), strict=False))
            for r, c in zip(members, curves, strict=False)
        ]
        x = []
        for e in band["x"]:
            vals = [m[e] for m in xs_by_member if m.get(e) is not None]
            x.append(sum(vals) / len(vals) if vals else None)
        fig.add_trace(
            x=x + x[::-1],
            y=band["hi"] + band["lo"][::-1],
            fill="toself",
            fillcolor=faded(lead.color, BAND_ALPHA),
            mode="lines",  # Plotly's default adds a marker per point under 20 points
            line=dict(width=0),
            hoverinfo="skip",
            showlegend=False,
            legendgroup=lead.group,
            name=f"{literal.plotly(label)} ± 1 std",
            meta={"group": lead.group, "series": k, "band": True},
        )
        fig.add_trace(
            x=x,
            y=band["mean"],
            mode="lines",
            line=dict(color=lead.color, width=2, dash=dash),
            name=f"{literal.plotly(label)} (mean of {len(members)} seeds)",
            legendgroup=lead.group,
            showlegend=not legend_done,
            customdata=band["n"],
            hovertemplate=f"{_esc(label)} · {what}: %{{y:.4g}} (n=%{{customdata}})<extra></extra>",
            meta={"group": lead.group, "series": k, "runs": [r.run_id for r in members]},
        )
        legend_done = True


def updates_figure(
    runs: Sequence[RunCurves],
    column: str,
    *,
    x_axis: str = "update",
    smoothing: float = 0.0,
    log_y: bool = False,
    title: str | None = None,
    y_title: str | None = None,
    show_clip: bool = True,
    height: int = 300,
) -> go.Figure:
    """A per-update column (``loss``, ``lr``, ``grad_norm``) of every run.

    For ``grad_norm`` each clipped run also gets its threshold as a dotted line in its
    colour and its clipped updates as open circles: how often, and by how much,
    clipping bites is then visible at a glance.
    """
    draft = _Draft()
    for run in runs:
        u = run.updates or {}
        if not u.get("update"):
            continue
        x = update_x(run, u["update"], x_axis)
        values = u.get(column) or []
        _curve(
            draft,
            run,
            x,
            values,
            label=column,
            dash=TRAIN_DASH,
            smoothing=smoothing,
            showlegend=True,
            series=column,
        )
        if column == "grad_norm" and show_clip:
            _clip_traces(draft, run, x, values, u.get("clipped") or [])
            clip_annotations(draft, run, x)
        _update_marker_points(draft, run, column, x_axis)
        _marker_lines(draft, run, column, x_axis, per_epoch=False)
    layout = _layout_props(
        title=title,
        x_title=X_AXES[x_axis],
        y_title=y_title or column,
        log_y=log_y,
        height=height,
        revision=f"upd:{column}:{x_axis}:{log_y}",
    )
    if column in ("lr", "grad_norm") and not log_y:
        layout["yaxis"].update(_from_zero(draft.traces))
    many = len(runs) > MANY_RUNS
    return draft.figure(layout, keys=[(column, TRAIN_DASH)] if many else ())


def _from_zero(traces: Iterable[Any]) -> dict[str, list[float]]:
    """Rates and norms are positive: start the axis at 0 so a constant 0.001 does not sit
    on an autoscaled ±1 axis that reads as zero."""
    ys = [y for t in traces for y in (t["y"] or ()) if finite(y)]
    return {"range": [0, max(ys) * 1.12]} if ys and max(ys) > 0 else {}


def clip_threshold(clipping: dict[str, float] | None) -> tuple[str, float] | None:
    """The norm a gradient-norm chart can compare against (clipvalue has none)."""
    mode, value = clip_mode(clipping)
    if mode is None or CLIP_MODES.entry(mode).chart is None:
        return None
    return mode, value


def _clip_traces(fig, run: RunCurves, x, values, clipped) -> None:
    thr = clip_threshold(run.clipping)
    xs = [v for v in x if v is not None]
    if thr and xs:
        mode, value = thr
        what = CLIP_MODES.entry(mode).chart
        fig.add_trace(
            x=[min(xs), max(xs)],
            y=[value, value],
            mode="lines",
            line=dict(color=run.color, width=1.5, dash="dot"),
            name=f"{_name(run)} clip threshold",
            legendgroup=run.run_id,
            showlegend=False,
            hovertemplate=f"{_esc(run.name)} · clip threshold ({what}) = {value:g}<extra></extra>",
            meta={"run_id": run.run_id, "series": "clip_threshold", "value": value},
        )
    hits = [i for i, c in enumerate(clipped) if c and i < len(x) and x[i] is not None]
    if hits:
        fig.add_trace(
            x=[x[i] for i in hits],
            y=_plot_y(values[i] for i in hits),
            mode="markers",
            marker=dict(symbol="circle-open", size=6, color=run.color),
            name=f"{_name(run)} clipped",
            legendgroup=run.run_id,
            showlegend=False,
            hovertemplate=f"{_esc(run.name)} · clipped update<extra></extra>",
            meta={"run_id": run.run_id, "series": "clipped"},
        )


def schedule_figure(
    previews: Sequence[tuple[str, str, dict]],
    *,
    per: str = "update",
    log_y: bool = False,
    title: str | None = None,
    max_points: int = 2000,
    height: int = 320,
) -> go.Figure:
    """The learning rate each planned run will apply, per step or per epoch.

    ``previews`` are ``(label, colour, engine.schedule_preview.preview(...))``, whose
    steps are Keras's (step 0 = the first update). Per epoch, x is the updates done by
    that step / updates-per-epoch, so a schedule's shape can be read against the epoch
    axis of the loss chart.
    """
    if per not in ("update", "epoch"):
        raise ValueError(f"per: must be 'update' or 'epoch', got {per!r}")
    fig = go.Figure()
    for label, color, p in previews:
        steps, lrs = p["step"], p["lr"]
        idx = thin(len(steps), max_points)
        per_epoch = p.get("updates_per_epoch") or 1.0
        x = [update_of(steps[i]) / per_epoch if per == "epoch" else steps[i] for i in idx]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_plot_y(lrs[i] for i in idx),
                mode="lines",
                line=dict(color=color, width=2, shape="hv"),
                name=literal.plotly(label),
                customdata=[steps[i] for i in idx],
                hovertemplate=f"{_esc(label)}: %{{y:.3g}} (step %{{customdata}})<extra></extra>",
                meta={"series": "lr_preview"},
            )
        )
    _layout(
        fig,
        title=title,
        x_title=X_AXES[per],
        y_title="learning rate",
        log_y=log_y,
        height=height,
        revision=f"sched:{per}:{log_y}",
    )
    if not log_y:
        fig.update_yaxes(**_from_zero(fig.data))
    return fig


def lr_finder_figure(
    result: dict[str, Any],
    *,
    color: str = LR_FINDER_COLOR,
    title: str | None = None,
    height: int = 340,
) -> go.Figure:
    """Loss against learning rate from an LR range test (``engine.lr_finder.lr_find``).

    The per-update loss is drawn faint beneath its smoothed curve; the suggested rate
    (a star and a dotted line) and the rate of the lowest loss (a circle) sit on the
    smoothed curve. The y axis spans the smoothed curve: the raw loss can shoot up by
    orders of magnitude in the last updates and would flatten everything else.
    """
    lrs = list(result.get("lr") or [])
    raw = list(result.get("loss") or [])
    smooth = list(result.get("smoothed") or [])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=lrs[: len(raw)],
            y=_plot_y(raw),
            mode="lines",
            line=dict(color=faded(color, RAW_ALPHA), width=1),
            name="loss per update",
            hovertemplate="lr %{x:.3g}: loss %{y:.4g}<extra></extra>",
            meta={"series": "raw"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=lrs[: len(smooth)],
            y=_plot_y(smooth),
            mode="lines",
            line=dict(color=color, width=2.5),
            name="smoothed",
            hovertemplate="lr %{x:.3g}: smoothed loss %{y:.4g}<extra></extra>",
            meta={"series": "smoothed"},
        )
    )
    # Labels go where the curve is not: the suggestion sits on the falling slope (free
    # space above right), the lowest loss at the bottom of the valley (free below left).
    spots = (
        ("min_loss", result.get("min_loss_lr"), "lowest loss", "circle", "bottom left"),
        ("suggestion", result.get("suggestion"), "suggested", "star", "top right"),
    )
    for series, lr, what, symbol, where in spots:
        y = _nearest_on_log_x(lrs[: len(smooth)], smooth, lr) if finite(lr) else None
        if y is None:
            continue
        fig.add_trace(
            go.Scatter(
                x=[lr],
                y=[y],
                mode="markers+text",
                marker=dict(symbol=symbol, size=15, color=color, line=dict(width=1, color="white")),
                text=[f"{what} {lr:.2g}"],
                textposition=where,
                cliponaxis=False,
                name=f"{what} learning rate",
                hovertemplate=f"{what}: lr %{{x:.3g}}<extra></extra>",
                meta={"series": series, "lr": lr},
            )
        )
    if finite(result.get("suggestion")):
        fig.add_vline(x=result["suggestion"], line=dict(color=color, width=1.5, dash="dot"))
    _layout(
        fig,
        title=title,
        x_title="learning rate (log scale)",
        y_title="training loss",
        height=height,
        revision="lr_finder",
    )
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_layout(showlegend=False)  # the markers are labelled; the caption says the rest
    ys = [v for v in smooth if finite(v)] + [v for v in raw if finite(v)]
    top = [v for v in smooth if finite(v)]
    if ys and top:
        lo, hi = min(ys), max(top)
        pad = 0.05 * (hi - lo or abs(hi) or 1.0)
        fig.update_yaxes(range=[lo - pad, hi + 4 * pad])
    return fig


def _nearest_on_log_x(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    """The y of the point whose x is nearest ``x`` on a log axis."""
    pts = [(abs(math.log(xi / x)), yi) for xi, yi in zip(xs, ys, strict=False) if xi > 0]
    pts = [(d, yi) for d, yi in pts if finite(yi)]
    return min(pts)[1] if pts and x > 0 else None


DIVERGED = "diverged"
DIVERGED_COLOR = "#d62728"
# Finite results take this share of the colour scale, best (0) to worst; a diverged
# run sits alone at the top, in its own colour.
_RESULT_SHARE = 0.8


def parallel_figure(
    rows: Sequence[dict[str, Any]],
    dims: Sequence[str],
    target: str,
    *,
    higher_is_better: bool = False,
    log_dims: Iterable[str] = (),
    diverged: Sequence[bool] | None = None,
    height: int = 380,
) -> go.Figure:
    """Parallel coordinates: one line per run through its hyperparameters to ``target``.

    Text dimensions (optimizer, schedule) become evenly spaced ticks; ``log_dims``
    (rate-like knobs: the registry's ``log`` flag) sit on a log axis, labelled with the
    values used. Lines are coloured by the result, the best darkest whichever way the
    metric points, so good settings read as one dark bundle. A run that diverged
    (``diverged``, or a result that is not a number) has no result to place: it goes
    to the far end of the result axis, past the worst, labelled "diverged" and drawn
    in its own colour, never at a value.
    """
    flags = list(diverged) if diverged is not None else [False] * len(rows)
    flags = [bool(f) or not finite(r.get(target)) for r, f in zip(rows, flags, strict=True)]
    logs = set(log_dims)
    dimensions = [_parallel_dim(d, [r.get(d) for r in rows], log=d in logs) for d in dims]
    results = [r.get(target) for r in rows]
    dimensions.append(_result_dim(target, results, flags, higher_is_better))
    fig = go.Figure(
        go.Parcoords(
            dimensions=dimensions,
            line=_result_colors(target, results, flags, higher_is_better),
        )
    )
    fig.update_layout(height=height, margin=dict(l=60, r=60, t=40, b=20))
    return fig


def _parallel_dim(label: str, vals: Sequence[Any], *, log: bool) -> dict[str, Any]:
    numeric = all(v is None or finite(v) for v in vals)
    if numeric and log and all(v is not None and v > 0 for v in vals):
        distinct = sorted({float(v) for v in vals})
        lo, hi = math.log10(distinct[0]), math.log10(distinct[-1])
        decades = [10.0**e for e in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
        # the values themselves when few (a sweep's 1e-4, 1e-3, 3e-3), else the decades
        ticks = distinct if len(distinct) <= 8 or len(decades) < 2 else decades
        return dict(
            label=f"{label} (log)",
            values=[math.log10(v) for v in vals],
            tickvals=[math.log10(t) for t in ticks],
            ticktext=[f"{t:g}" for t in ticks],
        )
    if numeric:
        return dict(label=label, values=[float(v) if finite(v) else float("nan") for v in vals])
    cats = sorted({str(v) for v in vals})
    code = {c: i for i, c in enumerate(cats)}
    dim = dict(
        label=label,
        values=[code[str(v)] for v in vals],
        tickvals=list(range(len(cats))),
        ticktext=cats,
    )
    if len(cats) == 1:
        dim["range"] = [-0.5, 0.5]
    return dim


def _result_span(results: Sequence[Any], flags: Sequence[bool]) -> tuple[float, float] | None:
    vals = [float(v) for v, f in zip(results, flags, strict=True) if not f]
    return (min(vals), max(vals)) if vals else None


def _result_dim(target, results, flags, higher_is_better) -> dict[str, Any]:
    span = _result_span(results, flags)
    lo, hi = span or (0.0, 1.0)
    width = (hi - lo) or abs(hi) or 1.0
    ticks = [lo + width * i / 4 for i in range(5)] if hi > lo else [lo]
    # past the worst end: above the highest loss, below the lowest accuracy
    beyond = lo - 0.25 * width if higher_is_better else hi + 0.25 * width
    values = [beyond if f else float(v) for v, f in zip(results, flags, strict=True)]
    tickvals, ticktext = list(ticks), [f"{t:.3g}" for t in ticks]
    if any(flags):
        tickvals.append(beyond)
        ticktext.append(DIVERGED)
    edges = [*values, *tickvals]
    pad = 0.02 * width
    return dict(
        label=target,
        values=values,
        tickvals=tickvals,
        ticktext=ticktext,
        range=[min(edges) - pad, max(edges) + pad],
    )


def _result_colors(target, results, flags, higher_is_better) -> dict[str, Any]:
    """Colour 0 = the best result (darkest), ``_RESULT_SHARE`` = the worst (lightest),
    1 = diverged; the colour bar is labelled with the results themselves."""
    import plotly.colors as pc

    span = _result_span(results, flags)
    lo, hi = span or (0.0, 1.0)
    best, worst = (hi, lo) if higher_is_better else (lo, hi)

    def place(v: float) -> float:
        return 0.0 if best == worst else _RESULT_SHARE * (v - best) / (worst - best)

    color = [1.0 if f else place(float(v)) for v, f in zip(results, flags, strict=True)]
    viridis = pc.get_colorscale("Viridis")
    scale = [[p * _RESULT_SHARE, c] for p, c in viridis]
    scale += [[_RESULT_SHARE + 1e-6, DIVERGED_COLOR], [1.0, DIVERGED_COLOR]]
    marks = [best, (best + worst) / 2, worst] if best != worst else [best]
    tickvals, ticktext = [place(m) for m in marks], [f"{m:.3g}" for m in marks]
    if best != worst:
        ticktext[0] += " (best)"
    if any(flags):
        tickvals.append(1.0)
        ticktext.append(DIVERGED)
    return dict(
        color=color,
        colorscale=scale,
        cmin=0.0,
        cmax=1.0,
        showscale=True,
        colorbar=dict(title=dict(text=target), tickvals=tickvals, ticktext=ticktext),
    )


def regression_figure(
    target: Sequence[float], prediction: Sequence[float], *, color: str, title: str | None = None
) -> go.Figure:
    """Predicted against true values; points on the diagonal are perfect predictions."""
    pts = [(t, p) for t, p in zip(target, prediction, strict=False) if finite(t) and finite(p)]
    fig = go.Figure()
    if pts:
        lo = min(min(t, p) for t, p in pts)
        hi = max(max(t, p) for t, p in pts)
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                line=dict(color="#9aa0b4", dash="dot"),
                name="perfect",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[t for t, _ in pts],
            y=[p for _, p in pts],
            mode="markers",
            marker=dict(color=color, size=7, opacity=0.75),
            name="test examples",
            hovertemplate="true %{x:.3g} → predicted %{y:.3g}<extra></extra>",
        )
    )
    _layout(fig, title=title, x_title="true value", y_title="predicted value", height=380)
    fig.update_layout(hovermode="closest")
    if pts:
        # Both axes span the data (and only the data): one unit is as long on each, so
        # the diagonal is at 45°, and the plot narrows to a square rather than the
        # y axis widening to fill a wide chart (data in -5..6 drawn on -20..20).
        pad = 0.05 * ((hi - lo) or abs(hi) or 1.0)
        span = [lo - pad, hi + pad]
        fig.update_xaxes(range=span, constrain="domain")
        fig.update_yaxes(range=span, scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def confusion_figure(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], *, title: str | None = None
) -> go.Figure:
    """Counts of true class (rows) against predicted class (columns), shaded by row share."""
    rows = [list(r) for r in matrix]
    shares = [[c / (sum(r) or 1) for c in r] for r in rows]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=[str(v) for v in labels],
            y=[str(v) for v in labels],
            text=rows,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.0%} of the row)<extra></extra>",
        )
    )
    _layout(fig, title=title, x_title="predicted class", y_title="true class", height=380)
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


def probability_figure(
    target: Sequence[int], probability: Sequence[float], *, title: str | None = None
) -> go.Figure:
    """Predicted probability of class 1 split by true class: separation is skill."""
    fig = go.Figure()
    for cls, color in ((0, "#4e79a7"), (1, "#f28e2b")):
        vals = [p for t, p in zip(target, probability, strict=False) if t == cls and finite(p)]
        fig.add_trace(
            go.Histogram(
                x=vals,
                name=f"true class {cls}",
                marker_color=color,
                opacity=0.65,
                xbins=dict(start=0, end=1, size=0.05),
            )
        )
    _layout(fig, title=title, x_title="predicted probability of class 1", y_title="examples")
    fig.update_layout(barmode="overlay", hovermode="closest")
    return fig
