"""Watch & compare: live progress and overlaid curves of the selected runs.

The curves come first: a one-line selection bar, then the charts, then each run's
progress and diagnosis. The run table that picks what is compared folds away
beneath the bar. The address bar follows the selection (``?sweep=`` for one whole
launch, ``?runs=`` otherwise), so a link shows what the page shows. The live panel
(charts, progress) is a fragment that re-reads the store *only while a selected run
is queued or running*: every 0.3 s until a just-launched run has drawn its first
epoch, then every 1.5 s, both slower while a class watches (``ui.runs.poll_seconds``,
``ui.watchers``); nothing else on the page reruns,
so the table, filters and zoom stay put. When a run changes state or the pace
should change, the page refreshes once; when the last run finishes it stops polling.
In presentation mode (``ui.presentation``) the charts come before the selection.
"""

from __future__ import annotations

import streamlit as st

from ui import navigation, presentation, resources, run_actions, selection_view
from ui.compare_panel import Panel
from ui.grid_extras import render_grid_extras
from ui.paired_view import render_comparison_summary
from ui.parallel_view import render_parallel
from ui.runs import config_diff, runs_table
from ui.seed_stats import render_seed_stats
from ui.shell import require_shell

require_shell()
state = st.session_state
store = resources.store()

navigation.header("Watch & compare")

all_runs = store.list_runs()
if not all_runs:
    st.info(
        "No runs yet. Set some up and launch them: they appear here at once and draw their "
        "curves live.",
        icon=":material/info:",
    )
    navigation.link_setup()
    st.stop()

by_id = {r["id"]: r for r in all_runs}
# The address (a launch or a shared link) wins once, then the person; the address
# bar follows what is shown.
sel_ids = navigation.compare_selection(state, all_runs)
selected = [by_id[i] for i in sel_ids]

# ----------------------------------------------------------------------------- selection

# Presenting, the curves come first and the selection (a control) beneath them.
charts_box, selection_box = presentation.placed(None)  # the table folds itself
with selection_box:
    table = runs_table(selection_view.shown_runs(all_runs))
    selection_view.selection_bar(all_runs, selected, table["id"].tolist())
    run_actions.confirm_delete_selected(by_id)
    selection_view.runs_table(all_runs, table)

if not selected:
    selection_box.info(
        "Select one or more runs in the table to see their curves.", icon=":material/info:"
    )
    st.stop()

# ----------------------------------------------------------------------------- live panel

panel = Panel.of(all_runs, selected)


@st.fragment(run_every=panel.interval)
def live_panel() -> None:
    panel.draw()


with charts_box:
    live_panel()

# ----------------------------------------------------------------------------- analysis

st.markdown("#### How the selected runs differ")
if len(selected) < 2:
    st.caption("Select two or more runs to see which settings differ.")
else:
    diff = config_diff(selected)
    if diff.empty:
        st.caption("The selected runs share one config.")
    else:
        st.dataframe(diff, width="stretch", key="compare_diff")
        st.caption("Only settings that differ are listed; — means the setting is absent.")
render_seed_stats(panel.groups, by_id, selected)
render_comparison_summary(selected, all_runs)
render_parallel(selected, by_id, table["id"].tolist(), panel.interval)
render_grid_extras(store, selected, all_runs)
