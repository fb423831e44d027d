"""Hyperparameters against the result: parallel coordinates of the table's runs.

They are drawn with WebGL: without a GPU (a classroom laptop, this CI) the browser
spends 10-20 s on them, blocking every other chart and the live panel's polling. So
they are drawn when asked for, stay open once opened, and wait while a just-launched
run is about to show its first point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from engine.store import higher_is_better
from ui import presentation
from ui.charts import parallel_figure
from ui.runs import (
    POLL_SECONDS,
    hyperparameters,
    log_dims,
    parallel_rows,
    result_keys,
    with_result,
)


def render_parallel(
    selected: Sequence[Mapping],
    by_id: Mapping[str, Mapping],
    shown_ids: Sequence[str],
    interval: float | None,
) -> None:
    """One task at a time: the selection's task, among the runs the table shows."""
    pc_box = st.expander(
        "Hyperparameters against the result (parallel coordinates)",
        icon=":material/ssid_chart:",
        key="compare_pc_open",
        on_change="rerun",
    )
    pc_task = selected[0]["config"].get("task")
    pc_runs = [by_id[i] for i in shown_ids if by_id[i]["config"].get("task") == pc_task]
    dims = hyperparameters(pc_runs)
    results = result_keys(pc_runs)
    if not pc_box.open:
        return
    if len(pc_runs) < 2 or not dims or not results:
        pc_box.caption(
            "Parallel coordinates need two or more runs in the table that differ in some setting "
            "and have results."
        )
        return
    with pc_box:
        pc = st.columns([2, 1, 3])
        target = pc[0].selectbox("Result", results, key="compare_pc_target")
        which = pc[1].segmented_control(
            "Value", ["best", "last"], key="compare_pc_which", default="best", required=True
        )
        if interval is not None and interval < POLL_SECONDS:  # the fast pace, however paced
            # A just-launched run is about to show its first point: WebGL would hold the
            # browser, and the polling with it, right then. The page redraws once it is in.
            st.caption(
                f"Parallel coordinates of the {len(pc_runs)} {pc_task} runs in the table "
                "follow once the new run(s) report their first epoch."
            )
        else:
            placed = with_result(pc_runs, target, which or "best")
            presentation.plotly_chart(
                st,
                parallel_figure(
                    parallel_rows(placed, dims, target, which or "best"),
                    dims,
                    target,
                    higher_is_better=higher_is_better(target),
                    log_dims=log_dims(placed, dims),
                    diverged=[r["status"] == "diverged" for r in placed],
                ),
                key="compare_parallel",
                width="stretch",
            )
            better = "highest" if higher_is_better(target) else "lowest"
            st.caption(
                f"One line per {pc_task} run shown in the table ({len(placed)}), through the "
                f"settings that vary to its {which or 'best'} {target}: the best result "
                f"({better}) is drawn darkest, the worst lightest, and a run that diverged "
                "sits past the worst end, in red. Learning rates are on a log axis. Drag "
                "along an axis to highlight a range."
            )
