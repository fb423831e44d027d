"""Run detail: one run's results, curves, config, and the edits that keep it tidy.

Everything here reads the store; a running run's curves refresh in a fragment
that polls only while the run is active. Exports (config JSON, standalone Keras
script) come from the stored canonical config, so they reproduce the run.
"""

from __future__ import annotations

import time

import streamlit as st

from engine.store import TERMINAL
from ui import literal, navigation, presentation, resources, run_actions
from ui.charts import metric_figure, updates_figure
from ui.diagnosis_view import badges, diagnosis_of, render_explanation
from ui.palette import RUN_COLORS
from ui.predictions_view import render_predictions
from ui.run_config_view import render_config_tab
from ui.runs import (
    ACTIVE,
    clip_label,
    curves_for,
    fmt_duration,
    fmt_num,
    ident,
    loss_label,
    metric_keys,
    pick,
    primary_metric,
    progress,
    task_title,
)
from ui.shell import require_shell
from ui.widgets import choice, status_badge

require_shell()
state = st.session_state
store = resources.store()

navigation.follow(state)  # "Edit in Set up runs" asked for the form

navigation.header("Run detail")

runs = store.list_runs()
if not runs:
    st.info("No runs yet: launch one from Set up runs.", icon=":material/info:")
    navigation.link_setup()
    st.stop()

by_id = {r["id"]: r for r in runs}
ids = [r["id"] for r in reversed(runs)]
navigation.run_selection(state, runs)  # ?run= wins once

# Presenting, the curves follow the run's name at once: the picker, the errors and the
# numbers go beneath the tabs.
top, tabs_box, below = st.container(), st.container(), st.container()
lower = below if presentation.on() else top
run_id = choice(
    lower,
    "Run",
    ids,
    key="detail_run",
    format_func=lambda i: f"{by_id[i]['name']}  ·  {by_id[i]['status']}  ·  {i}",
)
run = by_id[run_id]
cfg = run["config"]
result = run.get("result") or {}
info = run.get("info") or {}
color = RUN_COLORS[0]

# ----------------------------------------------------------------------------- header

h1, h2 = top.columns([3, 2], vertical_alignment="center")
with h1:
    st.subheader(literal.md(run["name"]))
    with st.container(horizontal=True, gap="small"):
        status_badge(run["status"])
        diag = diagnosis_of(run)
        st.markdown(badges(diag), help=diag.get("summary") if diag else None)
    started, finished = run.get("started"), run.get("finished")
    took = (finished or time.time()) - started if started else None
    st.caption(
        f"{task_title(cfg.get('task'))} · created "
        f"{time.strftime('%d %b %Y %H:%M:%S', time.localtime(run['created']))}"
        + (f" · ran {fmt_duration(took)}" if took else "")
        + (f" · on {info['device']}" if info.get("device") else "")
        + f" · id `{run_id}`"
    )


with h2, st.container(horizontal=True, horizontal_alignment="right"):
    if run.get("sweep_id"):
        navigation.link_compare(
            "Compare its launch", sweep=run["sweep_id"], icon=":material/monitoring:"
        )
    else:
        navigation.link_compare("Watch & compare", runs=[run_id], icon=":material/monitoring:")
    st.button(
        "Edit in Set up runs",
        icon=":material/edit:",
        on_click=navigation.edit_in_setup,
        args=(state, cfg),
        key="detail_edit",
        help="Load this run's config into the form to change a knob and launch again.",
    )

with lower:
    if run["status"] in ("failed", "interrupted") and run.get("error"):
        st.error(
            f"**This run {run['status']}.** {run['error'].splitlines()[0]}", icon=":material/error:"
        )
        if result.get("traceback"):
            with st.expander("Traceback"):
                st.code(result["traceback"], language="python")
        elif len(run["error"].splitlines()) > 1:
            with st.expander("Full error"):
                st.code(run["error"], language=None)
    if run["status"] == "diverged":
        at = result.get("diverged_at")
        st.error(
            "**The loss became NaN/inf**"
            + (f" at update {at}" if at else "")
            + ": training stopped. The usual fix is a lower learning rate or gradient clipping "
            "(global_clipnorm 1.0).",
            icon=":material/trending_up:",
        )
    if run["status"] == "cancelled":
        st.info("Cancelled: the curves up to the cancel are kept.", icon=":material/cancel:")

    # ----------------------------------------------------------------------------- numbers

    test = store.test_metrics(run_id) if run["status"] in TERMINAL else {}
    best, last = run.get("best") or {}, run.get("last") or {}
    loss_key, best_loss = pick(best, "val_loss", "loss")
    metric = primary_metric(cfg)
    m_key, m_best = pick(best, f"val_{metric}", metric) if metric else (None, None)
    cols = st.columns(5)
    cols[0].metric(
        f"Best {loss_key or 'loss'}",
        fmt_num(best_loss),
        help=f"At epoch {run['best_epoch'].get(loss_key)}" if loss_key else None,
    )
    cols[1].metric("Last training loss", fmt_num(last.get("loss")))
    cols[2].metric("Test loss", fmt_num(test.get("loss")))
    if m_key:
        cols[3].metric(f"Best {m_key}", fmt_num(m_best))
        tkey = next((k for k in test if k != "loss" and k.endswith(metric or "")), None)
        cols[4].metric(f"Test {tkey or metric}", fmt_num(test.get(tkey) if tkey else None))
    else:
        cols[3].metric("Epochs", f"{run.get('epochs_done') or 0}/{cfg.get('epochs')}")
        cols[4].metric("Updates", run.get("updates_done") or 0)

    def _accum_text(cfg: dict) -> str:
        k = cfg.get("grad_accum_steps") or 1
        return f" × {k} accumulated" if k > 1 else ""

    st.caption(
        f"{ident(cfg.get('optimizer'))} · lr {cfg.get('learning_rate'):g} · schedule "
        f"{ident(cfg.get('schedule')) or 'constant'} · batch {cfg.get('batch_size')}"
        f"{_accum_text(cfg)}"
        f" · clipping {clip_label(cfg.get('clipping'))} · {cfg.get('precision')} · loss "
        f"{loss_label(cfg.get('loss'))} · seed {cfg.get('seed')}"
    )

with top:  # ?run= and ?tab= follow the view
    navigation.show_notices(navigation.detail_view(state))
tab_curves, tab_pred, tab_config, tab_keep = tabs_box.tabs(
    list(navigation.DETAIL_TABS), key="detail_tabs", on_change="rerun"
)

# ----------------------------------------------------------------------------- curves


@st.fragment(run_every=1.0 if run["status"] in ACTIVE else None)
def curves_panel() -> None:
    fresh = store.list_runs()
    r = next((x for x in fresh if x["id"] == run_id), None)
    if r is None:
        st.rerun()
    if r["status"] in ACTIVE:
        p = progress(r)
        st.progress(p["fraction"], text=p["text"])
    diag = diagnosis_of(r)
    if diag:
        with st.expander(
            f"What the curves say: {diag.get('summary') or diag['label']}",
            icon=":material/lightbulb:",
        ):
            render_explanation(diag, run=r)
    epochs, updates = resources.run_series(r)
    curves = [curves_for(r, epochs, updates, color)]
    log_y = st.toggle(
        "log y",
        key="detail_log",
        help="A loss that falls by orders of magnitude reads better on a log axis.",
    )
    c1, c2 = st.columns(2)
    presentation.plotly_chart(
        c1,
        metric_figure(curves, "loss", title="Loss (train solid, validation dashed)", log_y=log_y),
        key="detail_chart_loss",
        width="stretch",
    )
    keys = metric_keys([r])
    if keys:
        with c2:
            m = st.selectbox("Metric", keys, key="detail_metric", label_visibility="collapsed")
            presentation.plotly_chart(
                st,
                metric_figure(curves, m, title=m, height=320, log_y=log_y),
                key="detail_chart_metric",
                width="stretch",
            )
    c3, c4 = st.columns(2)
    presentation.plotly_chart(
        c3,
        updates_figure(
            curves, "lr", title="Learning rate applied per update", y_title="learning rate"
        ),
        key="detail_chart_lr",
        width="stretch",
    )
    presentation.plotly_chart(
        c4,
        updates_figure(curves, "grad_norm", title="Gradient norm per update", y_title="‖g‖₂"),
        key="detail_chart_grad",
        width="stretch",
    )
    if run["status"] in ACTIVE and r["status"] not in ACTIVE:
        st.rerun()  # finished: redraw the page once with results, and stop polling


# Only the open tab is drawn (its ``.open``): a widget drawn in a hidden tab never mounts
# in the browser, so a value the page gives it there is lost and the browser later sends
# the widget's default back (the Name box came back empty, and a click saved it so).
if tab_curves.open is not False:
    with tab_curves:
        curves_panel()

# ----------------------------------------------------------------------------- predictions

if tab_pred.open is not False:
    with tab_pred:
        render_predictions(run, test, color)

# ----------------------------------------------------------------------------- config

if tab_config.open is not False:
    with tab_config:
        render_config_tab(run)

# ----------------------------------------------------------------------------- keep

if tab_keep.open is not False:
    with tab_keep:
        run_actions.edit_panel(run, runs)
