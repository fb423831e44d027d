"""The study view: what a search tried, what it found, and which trials it stopped.

Everything is read from the run store: the Optuna study is rebuilt in memory from the
study's runs (``engine.search.study.rebuild``) and drawn with Optuna's own figures
(``optuna.visualization``: optimization history, parameter importances, slice, contour,
intermediate values), each a Plotly figure this module only annotates:

- every point that stands for a trial carries its run id (``customdata``), so a click on
  it (or a box / lasso around several) opens those runs' curves in Watch & compare;
- pruned, diverged and failed trials are never drawn as values. The history gets a lane
  beneath it with a mark per such trial at its number; on the intermediate values a
  pruned trial's line is dotted and ends in ✕ at the epoch it was stopped, a diverged
  one is red and ends in ✕ at its last finite value.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from engine.search import report as report_mod
from engine.search import study as study_mod
from ui import literal, navigation, presentation
from ui.palette import RUN_COLORS
from ui.runs import fmt_num
from ui.widgets import choice

PRUNED_COLOR = RUN_COLORS[6]  # violet, as the pruned badge
DIVERGED_COLOR = RUN_COLORS[3]  # red
OTHER_COLOR = "#9e9e9e"
RUNNING_COLOR = RUN_COLORS[0]
# The lane under the history: one row per kind of trial that has no value.
LANES = (
    ("pruned", PRUNED_COLOR, "x"),
    ("diverged", DIVERGED_COLOR, "x"),
    ("failed", OTHER_COLOR, "x-open"),
    ("cancelled", OTHER_COLOR, "x-open"),
    ("interrupted", OTHER_COLOR, "x-open"),
    ("running", RUNNING_COLOR, "circle-open"),
    ("queued", OTHER_COLOR, "circle-open"),
)
PLOT_CONFIG = {"displaylogo": False}
SELECT_MODES = ("points", "box", "lasso")
POLL_SECONDS = 2.0


def _optuna_vis():
    import optuna.visualization as vis

    return vis


@dataclass(frozen=True)
class Trial:
    number: int
    run_id: str
    name: str
    status: str
    value: float | None  # a completed trial's value; None for every other state
    params: dict[str, Any]
    epochs_done: int
    epochs: int
    stopped: str | None  # why it has no value: the pruner's sentence, the error

    @property
    def running(self) -> bool:
        return self.status in study_mod.IN_FLIGHT


@dataclass
class StudyData:
    study_id: str
    name: str | None
    metric: str
    direction: str
    sampler: str
    pruner: str | None
    pruner_spec: dict[str, Any] | None  # {"name", **its Optuna arguments}
    budget: int
    params: tuple[str, ...]
    study: Any  # the rebuilt optuna.Study
    trials: list[Trial]  # by number
    report: dict[str, Any]
    progress: Any  # engine.search.study.Progress: asked, in flight, to retry, stopped

    @property
    def run_of(self) -> dict[int, str]:
        return {t.number: t.run_id for t in self.trials}

    @property
    def finished(self) -> list[Trial]:
        return [t for t in self.trials if t.value is not None]

    @property
    def running(self) -> bool:
        """Trials in flight, to retry, or budget left and nobody stopped it."""
        return any(t.running for t in self.trials) or not self.progress.finished

    def fingerprint(self) -> tuple:
        return tuple((t.run_id, t.status, t.epochs_done) for t in self.trials)


# ----------------------------------------------------------------------------- reading


def list_studies(store) -> list[tuple[str, str]]:
    """``(study id, label)`` of every study in the store, newest first."""
    out = []
    for sid in study_mod.study_ids(store):
        try:
            rec = study_mod.load(store, sid)
        except (KeyError, ValueError):  # a meta row this version cannot read
            continue
        s = rec.plan.search
        head = f"{rec.plan.name} · " if rec.plan.name else ""
        label = f"{head}{s.sampler} · {len(rec.trials)}/{s.trials} trials · {sid}"
        out.append((rec.created, sid, label))
    return [(sid, label) for _created, sid, label in sorted(out, reverse=True)]


def _stopped(run: Mapping[str, Any]) -> str | None:
    result = run.get("result") or {}
    if run["status"] == "pruned":
        return (result.get("pruned") or {}).get("reason") or "pruned"
    if run["status"] == "diverged":
        return "diverged: the loss became NaN or infinite"
    if run["status"] in ("failed", "cancelled", "interrupted"):
        return (run.get("error") or run["status"]).splitlines()[0][:200]
    return None


def load_study(store, study_id: str) -> StudyData:
    rec = study_mod.load(store, study_id)
    study = study_mod.rebuild(store, study_id)
    by_id = {r["id"]: r for r in store.list_runs(sweep_id=study_id)}
    frozen = {t.number: t for t in study.trials}
    trials = []
    for run_id, t in sorted(rec.trials.items(), key=lambda kv: kv[1].number):
        run = by_id.get(run_id)
        if run is None:  # deleted from the store: nothing to show or open
            continue
        ft = frozen.get(t.number)
        done = ft is not None and ft.state.name == "COMPLETE"
        trials.append(
            Trial(
                number=t.number,
                run_id=run_id,
                name=run["name"],
                status=run["status"],
                value=ft.value if done else None,
                params=dict(t.params),
                epochs_done=run.get("epochs_done") or 0,
                epochs=run["config"].get("epochs") or 0,
                stopped=_stopped(run),
            )
        )
    s = rec.plan.search
    return StudyData(
        study_id=study_id,
        name=rec.plan.name,
        metric=s.metric,
        direction=s.direction,
        sampler=s.sampler,
        pruner=None if s.pruner is None else s.pruner.name,
        pruner_spec=None if s.pruner is None else {"name": s.pruner.name, **s.pruner.args},
        budget=s.trials,
        params=tuple(p.path for p in rec.plan.params),
        study=study,
        trials=trials,
        report=report_mod.report(store, study_id),
        progress=study_mod.progress(store, study_id),
    )


# ----------------------------------------------------------------------------- figures


def _style(fig: go.Figure, height: int, title: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        margin={"l": 10, "r": 10, "t": 46, "b": 10},
        clickmode="event+select",
    )
    return fig


def _trial_text(t: Trial, metric: str) -> str:
    if t.value is not None:
        return f"trial {t.number} · {metric} {fmt_num(t.value)}"
    why = t.stopped or t.status
    return f"trial {t.number} · {literal.plotly(why)}"


def history_figure(data: StudyData) -> go.Figure:
    """Optuna's optimization history above a lane with every trial that has no value
    (pruned, diverged, failed, still running) at its trial number."""
    vis = _optuna_vis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = vis.plot_optimization_history(data.study, target_name=data.metric)
    no_value = [t for t in data.trials if t.value is None]
    lanes = [(k, c, s) for k, c, s in LANES if any(_lane(t) == k for t in no_value)]
    rows = 2 if lanes else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.78, 0.22] if lanes else [1.0],
    )
    run_of = data.run_of
    by_number = {t.number: t for t in data.trials}
    for tr in base.data:
        if tr.mode == "markers" and tr.x is not None:
            tr.customdata = [run_of.get(int(n)) for n in tr.x]
            tr.hovertext = [_trial_text(by_number[int(n)], data.metric) for n in tr.x]
            tr.hoverinfo = "text"
            tr.marker.size = 9
        elif tr.mode == "lines":  # best so far: not a trial of its own, so not a target
            tr.hoverinfo = "skip"
        fig.add_trace(tr, row=1, col=1)
    for kind, color, symbol in lanes:
        ts = [t for t in no_value if _lane(t) == kind]
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in ts],
                y=[kind] * len(ts),
                mode="markers",
                name=kind,
                marker={
                    "color": color,
                    "symbol": symbol,
                    "size": 11,
                    "line": {"width": 1.5, "color": color},
                },
                customdata=[t.run_id for t in ts],
                hovertext=[_trial_text(t, data.metric) for t in ts],
                hoverinfo="text",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text=data.metric, row=1, col=1)
    if lanes:
        fig.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=[k for k, _c, _s in reversed(lanes)],
            fixedrange=True,
            row=2,
            col=1,
        )
    fig.update_xaxes(
        title_text="trial", row=rows, col=1, dtick=1 if len(data.trials) <= 20 else None
    )
    fig.update_layout(
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"}
    )
    return _style(fig, 380, f"Optimization history · {data.metric} ({data.direction})")


def _lane(t: Trial) -> str:
    return t.status if t.status != "completed" else "failed"  # completed without its metric


def importance_figure(data: StudyData) -> tuple[go.Figure | None, str | None]:
    """Optuna's parameter importances, or the sentence saying why there are none."""
    if not data.report.get("importances"):
        return None, data.report.get("importances_note") or "no parameter importances yet"
    vis = _optuna_vis()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = vis.plot_param_importances(data.study, target_name=data.metric)
    except (ValueError, RuntimeError) as e:
        return None, f"parameter importances cannot be computed here: {e}"
    fig.update_traces(marker_color=RUN_COLORS[0], textposition="outside", cliponaxis=False)
    fig.update_xaxes(title_text="importance (PED-ANOVA, Optuna's default)")
    fig.update_yaxes(title_text=None)
    fig = _style(fig, 380, "Parameter importances")
    fig.update_layout(margin={"r": 40})
    return fig, None


def slice_figure(data: StudyData) -> go.Figure | None:
    """Optuna's slice plot: each finished trial's value against each parameter."""
    if not data.finished:
        return None
    vis = _optuna_vis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = vis.plot_slice(data.study, target_name=data.metric)
    run_of = data.run_of
    by_number = {t.number: t for t in data.trials}
    for tr in fig.data:
        numbers = getattr(tr.marker, "color", None)
        if tr.name == "Feasible Trial" and numbers is not None and not isinstance(numbers, str):
            tr.customdata = [run_of.get(int(n)) for n in numbers]
            tr.hovertext = [_trial_text(by_number[int(n)], data.metric) for n in numbers]
            tr.hoverinfo = "x+text"
            tr.marker.colorscale = [[0, "#9ecae1"], [1, "#08306b"]]  # Optuna's starts white
    fig.update_xaxes(nticks=6)  # a narrow log range otherwise crowds its labels
    return _style(fig, 340, f"Slice · {data.metric} against each parameter")


def contour_params(data: StudyData) -> list[str]:
    """Parameters a contour can use: at least two distinct values among finished trials."""
    out = []
    for p in data.params:
        values = {repr(t.params[p]) for t in data.finished if p in t.params}
        if len(values) >= 2:
            out.append(p)
    return out


def contour_figure(data: StudyData, x: str, y: str) -> tuple[go.Figure | None, str | None]:
    both = [t for t in data.finished if x in t.params and y in t.params]
    if len(both) < 2:
        return None, f"a contour of {x} and {y} needs two finished trials that have both"
    vis = _optuna_vis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = vis.plot_contour(data.study, params=[x, y], target_name=data.metric)
    return _style(fig, 380, f"Contour · {data.metric} over {x} and {y}"), None


def intermediate_figure(data: StudyData) -> tuple[go.Figure | None, list[Trial]]:
    """Every trial's ``metric`` per epoch (Optuna's intermediate values), pruned trials
    dotted and ended with ✕ where they were stopped, diverged ones red and ended with
    ✕ at their last finite value. Returns the figure and the trials it could not draw
    (no finite value at all)."""
    vis = _optuna_vis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = vis.plot_intermediate_values(data.study)
    by_number = {t.number: t for t in data.trials}
    fig = go.Figure(layout=base.layout)
    for tr in base.data:
        number = int(str(tr.name).removeprefix("Trial"))
        t = by_number.get(number)
        if t is None:
            continue
        fig.add_trace(_intermediate_trace(t, list(tr.x), list(tr.y), data.metric))
    frozen = {ft.number: ft for ft in data.study.trials}
    undrawn = []
    for t in data.trials:  # Optuna leaves failed trials out: drawn here, never as values
        if t.status in ("completed", "pruned") or t.running:
            continue
        inter = sorted(frozen[t.number].intermediate_values.items()) if t.number in frozen else []
        if not inter:
            undrawn.append(t)
            continue
        fig.add_trace(
            _intermediate_trace(t, [e for e, _ in inter], [v for _, v in inter], data.metric)
        )
    if not fig.data:
        return None, undrawn
    for t in data.trials:  # the end marks, above the lines
        if t.status == "completed" or t.running:
            continue
        tr = next((d for d in fig.data if d.customdata and d.customdata[0] == t.run_id), None)
        if tr is None or not tr.x:
            continue
        color = (
            PRUNED_COLOR
            if t.status == "pruned"
            else DIVERGED_COLOR
            if t.status == "diverged"
            else OTHER_COLOR
        )
        fig.add_trace(
            go.Scatter(
                x=[tr.x[-1]],
                y=[tr.y[-1]],
                mode="markers",
                marker={
                    "symbol": "x",
                    "size": 12,
                    "color": color,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=[t.run_id],
                hovertext=[f"{_trial_text(t, data.metric)} · last {fmt_num(tr.y[-1])}"],
                hoverinfo="text",
                name=f"{t.status} here",
                showlegend=False,
            )
        )
    _fit_y(fig, data)
    last = max((max(tr.x) for tr in fig.data if tr.x), default=0)
    fig.update_xaxes(title_text="epoch", dtick=1 if last <= 20 else None)
    fig.update_yaxes(title_text=data.metric)
    fig.update_layout(showlegend=False)
    return _style(fig, 380, f"Intermediate values · {data.metric} per epoch"), undrawn


def _fit_y(fig: go.Figure, data: StudyData) -> None:
    """The y range of the trials that did not blow up: a diverged trial's last finite
    value (1e34) would flatten every other line. Its ✕ then sits at the top edge and
    its hover gives the real value."""
    failed = {t.run_id for t in data.trials if t.status not in ("completed", "pruned")}
    failed -= {t.run_id for t in data.trials if t.running}
    ys = [
        y
        for tr in fig.data
        if tr.mode == "lines+markers" and tr.customdata[0] not in failed
        for y in tr.y
    ]
    if not ys:
        return
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    beyond = any(not lo <= y <= hi for tr in fig.data if tr.mode == "lines+markers" for y in tr.y)
    if not beyond:
        return
    fig.update_yaxes(range=[lo, hi])
    for tr in fig.data:
        if tr.mode == "markers":  # the end marks: at the edge, never off the chart
            tr.y = [min(max(y, lo), hi) for y in tr.y]
            tr.cliponaxis = False


def _intermediate_trace(t: Trial, x: list, y: list, metric: str) -> go.Scatter:
    style: dict[str, Any] = {"width": 1.6}
    opacity = 0.9
    if t.status == "pruned":
        style |= {"dash": "dot", "color": PRUNED_COLOR}
        opacity = 0.75
    elif t.status == "diverged":
        style |= {"color": DIVERGED_COLOR}
    elif t.value is None and not t.running:
        style |= {"color": OTHER_COLOR, "dash": "dot"}
    elif t.running:
        style |= {"dash": "dash"}
    text = _trial_text(t, metric)
    return go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        line=style,
        marker={"size": 4},
        opacity=opacity,
        name=f"Trial{t.number}",
        customdata=[t.run_id] * len(x),
        hovertext=[f"{text} · epoch {e}: {fmt_num(v)}" for e, v in zip(x, y, strict=True)],
        hoverinfo="text",
    )


# ----------------------------------------------------------------------------- drawing


def picked_runs(selection: Mapping[str, Any] | None) -> list[str]:
    """The run ids of the points a chart's selection holds (clicked, boxed, lassoed)."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    out = []
    for p in points:
        c = p.get("customdata")
        if isinstance(c, list | tuple):
            c = c[0] if c else None
        if isinstance(c, str) and c:
            out.append(c)
    return list(dict.fromkeys(out))


def chart(fig: go.Figure, key: str, state: MutableMapping) -> None:
    """A figure whose trial points open their runs' curves when clicked."""

    def opened() -> None:
        ids = picked_runs(state.get(key))
        if ids:
            navigation.open_runs(state, ids)

    presentation.plotly_chart(
        st,
        fig,
        key=key,
        width="stretch",
        config=PLOT_CONFIG,
        on_select=opened,
        selection_mode=SELECT_MODES,
    )


def render_header(data: StudyData) -> None:
    counts = data.report["trials"]
    parts = [
        f"{counts.get(s, 0)} {s}"
        for s in ("completed", "pruned", "diverged", "failed", "running", "queued")
        if counts.get(s)
    ]
    st.caption(
        f"**{data.sampler}** sampler · {data.metric} ({data.direction}) · "
        f"{len(data.trials)} of {data.budget} trials asked"
        + (f": {', '.join(parts)}" if parts else "")
        + f" · {pruning_text(data)}"
    )


def pruning_text(data: StudyData) -> str:
    p = data.report["pruning"]
    if data.pruner is None:
        return "no pruner: every trial trains all its epochs"
    at = ", ".join(f"{n} at epoch {e}" for e, n in p["at_epochs"].items())
    return (
        f"pruning (**{data.pruner}**): **{p['pruned']}** pruned"
        + (f" ({at})" if at else "")
        + f", **{p['epochs_saved']}** epochs saved of {p['epochs_trained'] + p['epochs_saved']}"
    )


def render_summary(data: StudyData) -> None:
    """One bordered line: the best trial (value, values, links), short enough that the
    figures start on the first screen."""
    best = data.report.get("best")
    with st.container(border=True, horizontal=True, vertical_alignment="center", gap="small"):
        if best:
            values = " · ".join(
                f"{literal.md(k)} = **{literal.md(_value(v))}**" for k, v in best["params"].items()
            )
            st.markdown(
                f"**Best trial #{best['number']}** · {data.metric} **{fmt_num(best['value'])}**"
                f" · {values}",
                width="content",
            )
            navigation.link_compare(
                "Curves", runs=[best["run_id"]], icon=":material/monitoring:", width="content"
            )
            navigation.link_run(
                best["run_id"], "Run detail", icon=":material/insights:", width="content"
            )
        else:
            st.markdown(
                "**Best trial**: none yet — no trial has finished with a value"
                + (" (pruned and diverged trials have none)" if data.trials else ""),
                width="content",
            )


def _value(v: Any) -> str:
    return fmt_num(v) if isinstance(v, float) else str(v)


def trial_label(t: Trial, metric: str) -> str:
    value = f"{metric} {fmt_num(t.value)}" if t.value is not None else t.status
    params = " ".join(f"{k}={_value(v)}" for k, v in t.params.items())
    return f"#{t.number} · {value} · {params}"


def render_trial_picker(data: StudyData, state: MutableMapping) -> None:
    """Choose one trial: its summary and links to its curves and its detail page."""
    by_id = {t.run_id: t for t in data.trials}
    key = f"study_trial_{data.study_id}"
    best = data.report.get("best")
    default = best["run_id"] if best and best["run_id"] in by_id else data.trials[-1].run_id
    # The best trial until the person picks another; a new best (the study still runs)
    # takes over again.
    if state.get(key) not in by_id or state.get(f"{key}_default") != default:
        state[key] = default
    state[f"{key}_default"] = default
    run_id = choice(
        st,
        "Trial",
        list(by_id),
        key=key,
        format_func=lambda i: trial_label(by_id[i], data.metric),
    )
    t = by_id[run_id]
    st.caption(
        f"{t.status} · {t.epochs_done} of {t.epochs} epochs"
        + (f" · {literal.md(t.stopped)}" if t.stopped else "")
    )
    with st.container(horizontal=True, gap="small"):
        navigation.link_compare("Open its curves", runs=[run_id], icon=":material/monitoring:")
        navigation.link_run(run_id, "Run detail", icon=":material/insights:")


def trials_table(data: StudyData) -> list[dict[str, Any]]:
    """One row per trial; a trial without a value shows none (and says why)."""
    rows = []
    for t in data.trials:
        rows.append(
            {
                "trial": t.number,
                "status": t.status,
                data.metric: t.value if t.value is not None else None,
                "epochs": f"{t.epochs_done}/{t.epochs}",
                **{p: t.params.get(p) for p in data.params},
                "why no value": t.stopped or ("" if t.value is not None else t.status),
            }
        )
    return rows


def poll_for_changes(store, data: StudyData) -> None:
    """While the study runs: re-read it every few seconds and redraw the page when a
    trial reports (a new epoch, a new state, a new trial asked)."""
    seen = data.fingerprint()

    @st.fragment(run_every=POLL_SECONDS)
    def _poll() -> None:
        now = load_fingerprint(store, data.study_id)
        done = sum(1 for t in data.trials if not t.running)
        st.caption(
            f":material/autorenew: Study still running: {done} of {data.budget} trials done"
            " · this page refreshes as trials report."
        )
        if now != seen:
            st.rerun()

    _poll()


def load_fingerprint(store, study_id: str) -> tuple:
    rec = study_mod.load(store, study_id)
    by_id = {r["id"]: r for r in store.list_runs(sweep_id=study_id)}
    out = []
    for run_id, _t in sorted(rec.trials.items(), key=lambda kv: kv[1].number):
        r = by_id.get(run_id)
        if r is not None:
            out.append((run_id, r["status"], r.get("epochs_done") or 0))
    return tuple(out)
