"""Watch & compare's fold for one whole finished grid sweep: its isolation plot and a
pruner replay (what the Study page shows for a search, ``ui.isolation_view`` and
``ui.replay_view``). A study's runs get a link to the Study page instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from engine.search import replay as replay_mod
from engine.search import study as study_mod
from ui import isolation_view, navigation, replay_view


def render_grid_extras(store, selected: Sequence[Mapping], all_runs: Sequence[Mapping]) -> None:
    sweep = navigation._sweep_of([r["id"] for r in selected], all_runs)
    if sweep is None or len(selected) < 2:
        return
    if sweep in study_mod.study_ids(store):
        navigation.link_study(sweep, "Its study: history, isolation, pruner replay")
        return
    if any(r["status"] not in replay_mod.FINISHED for r in selected):
        return  # still training: the replay and isolation are about a finished grid
    with st.expander("Isolation and pruner replay of this grid", icon=":material/content_cut:"):
        st.markdown("**Isolation**: the best result per value of one knob, over every other knob")
        isolation_view.render_isolation(
            store, sweep, isolation_view.varying_knobs(selected), f"grid_iso_{sweep}"
        )
        st.markdown("**Pruner replay**: which runs a pruner would have stopped, and when")
        replay_view.render_replay(store, sweep, f"grid_replay_{sweep}", runs=len(selected))
