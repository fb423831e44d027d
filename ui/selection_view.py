"""What Watch & compare compares: the selection bar above the curves and the run table
folded beneath it.

The table's filters are read from their widgets' state before the widgets are drawn
(``shown_runs``): the selection bar, drawn first, needs the count of runs they show.
Ticking rows sets the selection (``compare_ids``); the bar's quick picks set it from
code through ``ui.navigation.select``, which gives the table a new key so it shows it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from engine.store.schema import STATUSES
from ui import downloads, navigation, run_actions
from ui.runs import filter_runs, ident

state = st.session_state


def shown_runs(all_runs: Sequence[Mapping]) -> list[Mapping]:
    """The runs the table's filters let through, newest first."""
    return filter_runs(
        list(reversed(all_runs)),
        tasks=state.get("compare_f_task") or [],
        statuses=state.get("compare_f_status") or [],
        optimizers=state.get("compare_f_opt") or [],
        tags=state.get("compare_f_tags") or [],
        text=state.get("compare_f_text") or "",
    )


def selection_bar(
    all_runs: Sequence[Mapping], selected: Sequence[Mapping], shown_ids: list[str]
) -> None:
    """What is shown, the quick picks, and what to do with the selection."""
    sel_ids = [r["id"] for r in selected]
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="compare_bar"):
        st.markdown(f"**{len(sel_ids)} of {len(all_runs)}** runs selected")
        st.button(
            "Latest launch",
            on_click=navigation.select,
            args=(state, navigation.latest_launch(all_runs)),
            key="compare_pick_latest",
            icon=":material/history:",
        )
        st.button(
            f"All {len(shown_ids)} shown",
            on_click=navigation.select,
            args=(state, shown_ids),
            key="compare_pick_all",
            icon=":material/select_all:",
            help="Every run the table shows (its filters apply).",
        )
        st.button(
            "Clear",
            on_click=navigation.select,
            args=(state, []),
            key="compare_pick_none",
            icon=":material/deselect:",
        )
        if sel_ids:
            downloads.curves_csv(
                sel_ids,
                key="compare_export_csv",
                file_name=f"hplab-{len(sel_ids)}-runs.csv",
                label="Export CSV",
                width="content",
                help=f"The {len(sel_ids)} selected runs: every epoch point and about 1,000 "
                "per-update points per run, long format: run_id, run_name, series, x_kind, x, "
                "value, then each run's config as dotted-path columns (config.optimizer.name, "
                "...). For every update: `engine export --updates full`.",
            )
            if len(sel_ids) == 1:
                navigation.link_run(sel_ids[0], "Open run detail", icon=":material/insights:")
            with st.popover("Tag or delete", icon=":material/sell:", key="compare_more"):
                st.text_input(
                    "Tag to add to the selected runs", key="compare_new_tag", max_chars=50
                )
                st.button(
                    "Add tag", on_click=run_actions.add_tag, args=(sel_ids,), key="compare_add_tag"
                )
                st.divider()
                run_actions.ask_delete_selected(selected)


def _on_table_select(tkey: str, ids: list[str]) -> None:
    rows = state[tkey]["selection"]["rows"]
    state["compare_ids"] = [ids[i] for i in sorted(rows)]


def runs_table(all_runs: Sequence[Mapping], table: pd.DataFrame) -> None:
    """The filterable run table whose ticked rows are the selection, folded away once
    something is selected: the curves come first."""
    shown_ids = table["id"].tolist()
    with st.expander(
        "Runs table: filter, sort and tick the runs to compare",
        expanded=not state["compare_ids"],
        icon=":material/table_rows:",
        key="compare_runs",
    ):
        fc = st.columns([3, 2, 2, 2, 2])
        tasks = sorted({r.get("task") or "" for r in all_runs} - {""})
        statuses = [s for s in STATUSES if any(r["status"] == s for r in all_runs)]
        optimizers = sorted({ident(r["config"].get("optimizer")) or "?" for r in all_runs})
        all_tags = sorted({t for r in all_runs for t in (r.get("tags") or [])})
        fc[0].text_input("Search", key="compare_f_text", placeholder="name, id or note")
        fc[1].multiselect("Task", tasks, key="compare_f_task", placeholder="all tasks")
        fc[2].multiselect("Status", statuses, key="compare_f_status", placeholder="any")
        fc[3].multiselect("Optimizer", optimizers, key="compare_f_opt", placeholder="any")
        fc[4].multiselect("Tags", all_tags, key="compare_f_tags", placeholder="any")
        # A line of text between the filters and the table: the table's hover toolbar
        # (search, download, full screen) floats above its top right corner.
        st.caption(
            f"{len(shown_ids)} of {len(all_runs)} runs shown. Tick rows (the checkbox column) "
            "to choose what the charts overlay; click a header to sort."
        )
        digest = hashlib.sha1(",".join(shown_ids).encode()).hexdigest()[:10]
        table_key = f"compare_table_{digest}_{state.get('compare_sel_version', 0)}"
        visible_selected = [i for i in state["compare_ids"] if i in shown_ids]

        st.dataframe(
            table,
            key=table_key,
            on_select=functools.partial(_on_table_select, table_key, shown_ids),
            selection_mode="multi-row",
            placeholder="—",
            selection_default={
                "selection": {"rows": sorted(shown_ids.index(i) for i in visible_selected)}
            },
            hide_index=True,
            width="stretch",
            height=min(420, 38 + 35 * max(1, len(table))),
            column_order=[c for c in table.columns if c not in ("id", "Best loss is")],
            column_config={
                "Run": st.column_config.TextColumn("Run", width="large", pinned=True),
                "Status": st.column_config.TextColumn("Status", width=95),
                "Diagnosis": st.column_config.TextColumn(
                    "Diagnosis",
                    width=130,
                    help="What the curves say, main finding first (refreshed every epoch while a "
                    "run trains). Select the run and open Explain for the evidence and advice.",
                ),
                "Epochs": st.column_config.TextColumn("Epochs", width=75),
                "Metric": st.column_config.TextColumn("Metric", width=110),
                "LR": st.column_config.NumberColumn("LR", format="%g"),
                "Best loss": st.column_config.NumberColumn(
                    "Best loss",
                    format="%.4g",
                    width=95,
                    help="Best validation loss (training loss when the run has no validation "
                    "data).",
                ),
                "Last loss": st.column_config.NumberColumn("Last loss", format="%.4g", width=95),
                "Last val loss": st.column_config.NumberColumn(
                    "Last val loss", format="%.4g", width=95
                ),
                "Best metric": st.column_config.NumberColumn(
                    "Best metric",
                    format="%.4g",
                    width=95,
                    help="Best value of the run's first metric.",
                ),
                "Created": st.column_config.DatetimeColumn("Created", format="D MMM, HH:mm:ss"),
                "Duration (s)": st.column_config.NumberColumn("Duration", format="%.0f s"),
            },
        )
