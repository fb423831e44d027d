"""Study: one search's history, which parameters mattered, and what pruning stopped.

The study is rebuilt from the run store on every run of the page (the store is its
only storage) and drawn with Optuna's own figures (``ui.study_view``). A click on a
trial's point opens its run's curves in Watch & compare; the trial picker opens one
run's curves or its detail page. While trials are queued or training, a small
fragment re-reads the store and redraws the page when one reports.
"""

from __future__ import annotations

import streamlit as st

from ui import (
    edge_view,
    isolation_view,
    literal,
    navigation,
    presentation,
    replay_view,
    resources,
    study_view,
)
from ui.shell import require_shell
from ui.widgets import choice

require_shell()
state = st.session_state
store = resources.store()

navigation.follow(state)  # a click on a trial's point asked for its curves

navigation.header("Study")

studies = study_view.list_studies(store)
if not studies:
    st.info(
        "No studies yet. A study is a search instead of a grid: a sweep file with a "
        "`space` and a `search` block, run with `python -m engine sweep search.json "
        "--workers 2`. Its trials appear here as they train.",
        icon=":material/info:",
    )
    navigation.link_setup()
    st.stop()

labels = dict(studies)
asked = navigation.study_selection(state, list(labels))  # ?study= wins once
if asked:  # a stale or mistyped link: say so, not just show another study
    st.warning(
        f"**study**: no study “{literal.md(asked[:80])}” in this store; showing "
        f"{literal.md(labels[state['study_pick']])} instead.",
        icon=":material/warning:",
    )
navigation.study_address(state)  # the address follows the study shown
study_id = choice(st, "Study", list(labels), key="study_pick", format_func=labels.get)
data = study_view.load_study(store, study_id)

study_view.render_header(data)
if data.running:
    study_view.poll_for_changes(store, data)
if not data.trials:
    st.info("No trial has been asked yet: the study's first trials are queued by `engine sweep`.")
    st.stop()

# ----------------------------------------------------------------------------- summary

study_view.render_summary(data)
edge_view.render_edges(data.report)

# ----------------------------------------------------------------------------- history

h1, h2 = st.columns([3, 2])
with h1:
    study_view.chart(study_view.history_figure(data), f"study_history_{study_id}", state)
with h2:
    fig, note = study_view.importance_figure(data)
    if fig is None:
        st.markdown("**Parameter importances**")
        st.info(note, icon=":material/info:")
    else:
        presentation.plotly_chart(
            st, fig, key=f"study_importance_{study_id}", config=study_view.PLOT_CONFIG
        )

st.caption(
    "Click a trial's point (or draw a box around several) to open its curves in Watch & "
    "compare. Pruned and diverged trials have no value: they are marked, never plotted as one."
)

# ----------------------------------------------------------------------------- per epoch

fig, undrawn = study_view.intermediate_figure(data)
if fig is None:
    st.info("No trial has reported an epoch yet.", icon=":material/info:")
else:
    study_view.chart(fig, f"study_intermediate_{study_id}", state)
if undrawn:
    st.caption(
        "Not drawn (no finite value at any epoch): "
        + ", ".join(f"trial {t.number} ({t.status})" for t in undrawn)
    )

# ----------------------------------------------------------------------------- slice, contour

fig = study_view.slice_figure(data)
if fig is None:
    st.info("The slice plot needs a finished trial with a value.", icon=":material/info:")
else:
    study_view.chart(fig, f"study_slice_{study_id}", state)

s1, s2 = st.columns([3, 2])
with s1:
    usable = study_view.contour_params(data)
    if len(usable) < 2:
        st.markdown("**Contour**")
        st.info(
            "A contour needs two parameters that each took at least two values among "
            f"finished trials; this study has {len(usable)}"
            + (f" ({', '.join(usable)})." if usable else "."),
            icon=":material/info:",
        )
    else:
        with st.container(horizontal=True):
            x = st.selectbox("Contour x", usable, index=0, key=f"study_cx_{study_id}")
            y = st.selectbox(
                "Contour y", [p for p in usable if p != x], index=0, key=f"study_cy_{study_id}"
            )
        fig, note = study_view.contour_figure(data, x, y)
        if fig is None:
            st.info(note, icon=":material/info:")
        else:
            presentation.plotly_chart(
                st, fig, key=f"study_contour_{study_id}", config=study_view.PLOT_CONFIG
            )
with s2, st.container(border=True):
    st.markdown("**Open a trial**")
    study_view.render_trial_picker(data, state)
    navigation.link_compare(
        "Compare every trial", sweep=study_id, icon=":material/stacked_line_chart:"
    )

st.markdown("**Trials**")
st.dataframe(study_view.trials_table(data), hide_index=True)

# ----------------------------------------------------------------------------- what no peer shows

with st.container(border=True):
    st.markdown("**Isolation**: the best result per value of one knob, over every other knob")
    isolation_view.render_isolation(store, study_id, data.params, f"study_iso_{study_id}")
with st.container(border=True):
    st.markdown("**Pruner replay**: which trials a pruner would have stopped, and when")
    replay_view.render_replay(
        store, study_id, f"study_replay_{study_id}", own=data.pruner_spec, runs=len(data.trials)
    )
