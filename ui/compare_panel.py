"""Watch & compare's live panel: the curves, then each run's progress and diagnosis.

``Panel`` holds what one page run decided about the selection — a colour and a unique
name per run, the seed groups, the polling pace — so the fragment that redraws the
panel while runs train draws with the same colours and names as the rest of the page.
Launch order (the store's order) decides colours, so a comparison always draws its
first run blue, its second orange, … on every chart and in the progress list.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import streamlit as st

from engine.store import TERMINAL
from ui import curve_tabs, literal, navigation, presentation, resources, run_actions
from ui.diagnosis_view import badges, diagnosis_of, label_counts, render_explanation
from ui.palette import run_colors
from ui.runs import ACTIVE, display_names, poll_seconds, progress, seed_groups
from ui.widgets import color_dot, status_text

state = st.session_state


@dataclass
class Panel:
    all_runs: Sequence[Mapping]
    selected: Sequence[Mapping]
    groups: dict[str, list[str]]  # seed group -> its runs' ids
    names: dict[str, str]  # unique, as typed
    interval: float | None  # seconds between redraws; None once nothing is active
    active_at_load: bool
    colors: dict[str, str] = field(default_factory=dict)
    draws: int = 0  # the page's own run draws from the runs it read; later ones re-read

    @classmethod
    def of(cls, all_runs: Sequence[Mapping], selected: Sequence[Mapping]) -> Panel:
        active = any(r["status"] in ACTIVE for r in selected)
        panel = cls(
            all_runs,
            selected,
            seed_groups(selected),
            dict(zip([r["id"] for r in selected], display_names(selected), strict=True)),
            poll_seconds(selected, time.time(), resources.watching(active)),
            active,
        )
        panel.assign_colors()
        return panel

    @property
    def group_of(self) -> dict[str, str]:
        return {rid: g for g, ids in self.groups.items() for rid in ids}

    def assign_colors(self) -> None:
        """One colour per run, or per seed group when groups are drawn as bands (the
        group's runs then share the band's colour in the progress list too)."""
        grouped = bool(self.groups) and state.get("compare_group", True)
        group_of = self.group_of
        wanted = {r["id"] for r in self.selected}
        order = [r["id"] for r in self.all_runs if r["id"] in wanted]
        by_key = run_colors(group_of.get(i, i) if grouped else i for i in order)
        self.colors.clear()
        self.colors.update({i: by_key[group_of.get(i, i) if grouped else i] for i in order})

    def draw(self) -> None:
        """The panel's body (the page wraps it in a fragment polling at ``interval``)."""
        self.assign_colors()
        rerun = self.draws > 0
        self.draws += 1
        runs: Sequence[Mapping] = self.selected
        if rerun:
            sel_ids = [r["id"] for r in self.selected]
            # Shared with every session polling meanwhile: a class is one read, not 30.
            fresh = {r["id"]: r for r in resources.shared_list_runs() if r["id"] in set(sel_ids)}
            runs = [fresh[i] for i in sel_ids if i in fresh]
            if not runs:
                st.rerun()
        plots, settings = presentation.placed("Chart settings: x axis, smoothing, log y")
        with settings:
            ctl = curve_tabs.controls(bool(self.groups))
        with plots:
            curve_tabs.charts(runs, ctl, self.colors, self.names, self.group_of, live=rerun)
        active = any(r["status"] in ACTIVE for r in runs)
        with st.container(border=True):
            if not presentation.on() and (active or len(runs) <= 6):
                progress_panel(self, runs)
            else:
                if active:
                    n_done = sum(1 for r in runs if r["status"] in TERMINAL)
                    head = f"{n_done}/{len(runs)} finished"
                else:
                    head = f"all finished: {label_counts(diagnosis_of(r) for r in runs)}"
                # Drawn only when opened: 200 finished runs are 200 rows and popovers.
                box = st.expander(
                    f"Progress & diagnosis · {len(runs)} runs, {head}",
                    key="compare_progress",
                    on_change="rerun",
                )
                if box.open:
                    with box:
                        progress_panel(self, runs)
        # A run changed state (started, finished, was cancelled) or the polling pace
        # should change (a first epoch arrived, the class watching grew or shrank past
        # a step): redraw the whole page once so the table, the actions and the
        # polling follow; later epochs alone do not.
        if rerun and self.active_at_load:
            before = {r["id"]: r["status"] for r in self.selected}
            changed = any(r["status"] != before[r["id"]] for r in runs)
            pace = poll_seconds(runs, time.time(), resources.watching(active))
            if changed or pace != self.interval:
                st.rerun()


def progress_panel(panel: Panel, runs: Sequence[Mapping]) -> None:
    """Each run's progress, diagnosis badge, Explain popover and cancel or details."""
    active = [r for r in runs if r["status"] in ACTIVE]
    sweeps = {r.get("sweep_id") for r in runs}
    head = st.columns([4, 1], vertical_alignment="center")
    n_done = sum(1 for r in runs if r["status"] in TERMINAL)
    head[0].markdown(f"**Progress** · {n_done}/{len(runs)} finished")
    if notice := run_actions.take_notice():
        st.caption(f":material/cancel: {notice}")
    if active:
        if len(sweeps) == 1 and None not in sweeps:
            head[1].button(
                "Cancel all",
                icon=":material/cancel:",
                key="compare_cancel_all",
                on_click=run_actions.cancel_sweep,
                args=(next(iter(sweeps)),),
                width="stretch",
                help="Cancel every queued or running run of this comparison.",
            )
        else:
            head[1].button(
                "Cancel all",
                icon=":material/cancel:",
                key="compare_cancel_all",
                on_click=run_actions.cancel_runs,
                args=([r["id"] for r in active],),
                width="stretch",
                help="Cancel every selected run still active.",
            )
    now = time.time()
    for r in runs:
        p = progress(r, now)
        diag = diagnosis_of(r)
        name = literal.md(panel.names[r["id"]])
        c = st.columns([2.5, 1.7, 3.8, 2.6], vertical_alignment="center")
        c[0].markdown(
            f"{color_dot(panel.colors[r['id']])}**{name}** {status_text(r['status'])}",
            unsafe_allow_html=True,
        )
        c[1].markdown(badges(diag), help=diag.get("summary") if diag else None)
        c[2].progress(p["fraction"], text=p["text"])
        with c[3].container(horizontal=True, gap="small", vertical_alignment="center"):
            if diag:
                with st.popover(
                    "Explain",
                    key=f"compare_explain_{r['id']}",
                    help="Why this label: the evidence in numbers and what to try.",
                ):
                    st.markdown(f"{badges(diag)} · **{name}**")
                    render_explanation(diag, run=r)
            if r["status"] in ACTIVE:
                st.button(
                    "Cancel",
                    key=f"compare_cancel_{r['id']}",
                    on_click=run_actions.cancel_runs,
                    args=([r["id"]],),
                )
            elif r.get("error") and r["status"] in ("failed", "interrupted"):
                navigation.link_run(r["id"], "Why?")
            else:
                navigation.link_run(r["id"], icon=":material/insights:")
