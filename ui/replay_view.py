"""Pruner replay: what a pruner would have done to a finished study or grid
(``engine.search.replay``): which runs it would have stopped and at which epoch, the
epochs that would have saved, and whether the eventual winner survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from engine.errors import ConfigError
from engine.search import pruners
from engine.search import replay as replay_mod
from ui import literal, search_form
from ui.palette import RUN_COLORS
from ui.runs import fmt_num
from ui.widgets import say

STOP_COLOR = RUN_COLORS[6]
KEPT_COLOR = RUN_COLORS[0]


def pruner_label(name: str) -> str:
    return pruners.PRUNERS.entry(name).title


def verdict(rep: Mapping[str, Any]) -> str:
    """The sentence about the eventual winner."""
    w = rep["winner"]
    if w is None:
        return "No run finished with a value, so there is no winner to keep."
    who = f"The eventual winner ({w['name']}, {rep['metric']} {fmt_num(w['value'])})"
    if w["survives"]:
        return f"{who} survives — {rep['pruner']['name']} would not have stopped it."
    kept = rep["best_surviving"]
    rest = (
        f" The best run left would be {kept['name']} ({rep['metric']} {fmt_num(kept['value'])})."
        if kept
        else " No run would have finished."
    )
    return f"{who} would have been stopped at epoch {w['stopped_at']}.{rest}"


def saved_text(rep: Mapping[str, Any]) -> str:
    return (
        f"{rep['stopped']} of {len(rep['runs'])} runs stopped · {rep['epochs_saved']} of "
        f"{rep['epochs_trained']} epochs saved ({100 * rep['saved_fraction']:.0f}%)"
    )


def replay_table(rep: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "run": x["name"],
            "stopped at": "—" if x["stopped_at"] is None else f"epoch {x['stopped_at']}",
            "saved": x["epochs_saved"],
            rep["metric"]: x["value"],
            "trained": x["epochs_done"],
            "status": x["status"],
        }
        for x in rep["runs"]
    ]


def replay_figure(store, rep: Mapping[str, Any]) -> go.Figure:
    """Every run's metric per epoch; a run the pruner stops is drawn solid up to its stop
    epoch (✕ there) and faint after it (what it trained that the pruner would have saved)."""
    metric = rep["metric"]
    ids = [x["run_id"] for x in rep["runs"]]
    series = store.epoch_series(ids, keys=[metric], max_points=None)
    fig = go.Figure()
    for x in rep["runs"]:
        s = series.get(x["run_id"], {}).get(metric)
        if s is None:
            continue
        pts = [(e, v) for e, v in zip(s.epoch, s.value, strict=True) if v is not None]
        if not pts:
            continue
        stop = x["stopped_at"]
        name = literal.plotly(x["name"])
        before = [(e, v) for e, v in pts if stop is None or e <= stop]
        after = [(e, v) for e, v in pts if stop is not None and e >= stop]
        color = KEPT_COLOR if stop is None else STOP_COLOR
        fig.add_trace(
            go.Scatter(
                x=[e for e, _ in before],
                y=[v for _, v in before],
                mode="lines+markers",
                line={"color": color, "width": 1.6},
                marker={"size": 4},
                customdata=[x["run_id"]] * len(before),
                hovertext=[f"{name} · epoch {e}: {fmt_num(v)}" for e, v in before],
                hoverinfo="text",
                showlegend=False,
            )
        )
        if stop is None:
            continue
        if len(after) > 1:
            fig.add_trace(
                go.Scatter(
                    x=[e for e, _ in after],
                    y=[v for _, v in after],
                    mode="lines",
                    line={"color": STOP_COLOR, "width": 1, "dash": "dot"},
                    opacity=0.45,
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        sv = dict(pts).get(stop)
        fig.add_trace(
            go.Scatter(
                x=[stop],
                y=[sv],
                mode="markers",
                marker={"symbol": "x", "size": 13, "color": STOP_COLOR},
                customdata=[x["run_id"]],
                hovertext=[f"{name} · would stop at epoch {stop} · saves {x['epochs_saved']}"],
                hoverinfo="text",
                name="would stop here",
                showlegend=False,
            )
        )
    last = max((max(t.x) for t in fig.data if t.x is not None and len(t.x)), default=0)
    fig.update_layout(
        template="plotly_white",
        height=340,
        title={
            "text": f"Pruner replay · {literal.plotly(rep['pruner']['name'])} on "
            f"{literal.plotly(metric)} per epoch",
            "x": 0,
            "xanchor": "left",
            "font": {"size": 15},
        },
        margin={"l": 10, "r": 10, "t": 46, "b": 10},
        clickmode="event+select",
    )
    fig.update_xaxes(title_text="epoch", dtick=1 if last <= 20 else None)
    fig.update_yaxes(title_text=metric)
    # A diverged run's last finite value would flatten the rest: fit the kept values.
    ys = [v for t in fig.data if t.mode == "lines+markers" for v in t.y if abs(v) < 1e6]
    if ys and len(ys) < sum(len(t.y) for t in fig.data if t.mode == "lines+markers"):
        lo, hi = min(ys), max(ys)
        pad = (hi - lo) * 0.08 or 1.0
        fig.update_yaxes(range=[lo - pad, hi + pad])
    return fig


def pruner_arg(name: str, own: Mapping[str, Any] | None, startup: int | None) -> dict:
    """The pruner a replay runs: the study's own arguments when it is the study's
    pruner, with the startup count the person chose."""
    out: dict[str, Any] = {"name": name}
    if own and own.get("name") == name:
        out |= {k: v for k, v in own.items() if k != "name"}
    if startup is not None:
        out["n_startup_trials"] = startup
    return out


def render_replay(
    store, sweep_id: str, key: str, own: Mapping[str, Any] | None = None, runs: int = 0
) -> None:
    """A pruner picker and its replay: a sentence, a number, the curves, a table.
    ``own``: the study's own pruner (``{"name", **args}``), chosen first."""
    from ui import study_view  # the clickable chart

    names = list(replay_mod.PRUNER_NAMES)
    first = (own or {}).get("name")
    index = names.index(first) if first in names else 0
    left, right = st.columns([1, 3])
    with left:
        name = st.selectbox(
            "Replay with pruner", names, index=index, key=f"{key}_pruner", format_func=pruner_label
        )
        st.caption(literal.md(pruners.PRUNERS.entry(name).help))
        startup = None
        param = pruners.PRUNERS.entry(name).params.get("n_startup_trials")
        if param is not None:
            given = (own or {}).get("n_startup_trials") if first == name else None
            default = given if given is not None else min(param.default, max(0, runs // 3))
            typed = st.text_input(
                "Runs never stopped (startup)",
                value=str(int(default)),
                key=f"{key}_startup_{name}",
                help="n_startup_trials: the first runs always train to the end; the"
                " rule compares the later ones with them",
            )
            startup = search_form.whole(typed)
            if startup is None:  # emptied: say so, never fall back silently
                right.error("**n_startup_trials**: is empty: type a value", icon=":material/error:")
                return
    try:
        rep = replay_mod.replay(store, sweep_id, pruner_arg(name, own, startup))
    except ConfigError as e:  # what was typed, named by the pruner's registry entry
        for f, m in e.problems:
            right.error(f"**{f}**: {say(m)}", icon=":material/error:")
        return
    except (KeyError, ValueError) as e:
        right.info(str(e), icon=":material/info:")
        return
    if not rep["runs"]:
        right.info("No run has finished yet: a replay needs finished runs.", icon=":material/info:")
        return
    with left:
        st.metric(
            "Epochs saved",
            f"{rep['epochs_saved']} ({100 * rep['saved_fraction']:.0f}%)",
            help=saved_text(rep),
        )
        st.caption(literal.md(saved_text(rep)))
    with right:
        (st.success if rep["winner"] and rep["winner"]["survives"] else st.warning)(
            literal.md(verdict(rep))
        )
        study_view.chart(replay_figure(store, rep), f"{key}_fig_{name}", st.session_state)
        st.dataframe(replay_table(rep), hide_index=True, key=f"{key}_table_{name}")
