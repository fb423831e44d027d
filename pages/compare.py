"""Watch & compare: live progress and overlaid curves of the selected runs.

The curves come first: a one-line selection bar, then the charts, then each run's
progress and diagnosis. The run table that picks what is compared folds away
beneath the bar. The address bar follows the selection (``?sweep=`` for one whole
launch, ``?runs=`` otherwise), so a link shows what the page shows. The live panel
(charts, progress) is a fragment that re-reads the store *only while a selected run
is queued or running*: every 0.3 s until a just-launched run has drawn its first
epoch, then every 1.5 s (``ui.runs.poll_seconds``); nothing else on the page reruns,
so the table, filters and zoom stay put. When a run changes state or the pace
should change, the page refreshes once; when the last run finishes it stops polling.
"""

from __future__ import annotations

import functools
import hashlib
import time

import streamlit as st

from engine.errors import StoreError
from engine.store import TERMINAL, higher_is_better
from ui import literal, resources
from ui.charts import MANY_RUNS, X_AXES, finite, metric_figure, parallel_figure, updates_figure
from ui.diagnosis_view import badges, diagnosis_of, label_counts, render_explanation
from ui.paired_view import render_comparison_summary
from ui.palette import run_colors
from ui.runs import (
    ACTIVE,
    FAST_POLL_SECONDS,
    config_diff,
    curves_for,
    display_names,
    filter_runs,
    fmt_num,
    group_label,
    hyperparameters,
    ident,
    log_dims,
    metric_keys,
    parallel_rows,
    poll_seconds,
    progress,
    result_keys,
    runs_table,
    seed_groups,
    with_result,
)
from ui.shell import require_shell
from ui.widgets import color_dot, status_text

TABS = ("Loss", "Metrics", "Learning rate", "Gradients", "Speed")
require_shell()
state = st.session_state
store = resources.store()

st.title("Watch & compare")

all_runs = store.list_runs()
if not all_runs:
    st.info(
        "No runs yet. Set some up and launch them: they appear here at once and draw their "
        "curves live.",
        icon=":material/info:",
    )
    st.page_link("pages/setup.py", label="Set up runs", icon=":material/tune:")
    st.stop()

by_id = {r["id"]: r for r in all_runs}


def _latest_launch() -> list[str]:
    last = all_runs[-1]
    if last.get("sweep_id"):
        return [r["id"] for r in all_runs if r.get("sweep_id") == last["sweep_id"]]
    return [last["id"]]


def _select(ids: list[str]) -> None:
    """Set the selection from code; a new table key makes the table show it."""
    state["compare_ids"] = list(dict.fromkeys(ids))
    state["compare_sel_version"] = state.get("compare_sel_version", 0) + 1


def _url_query(ids: list[str]) -> tuple[str | None, str | None]:
    """The address of a selection: one whole launch by its sweep, else the run ids."""
    sweeps = {by_id[i].get("sweep_id") for i in ids}
    if len(sweeps) == 1 and None not in sweeps:
        (sweep,) = sweeps
        if {r["id"] for r in all_runs if r.get("sweep_id") == sweep} == set(ids):
            return sweep, None
    return None, ",".join(ids) or None


# --- the selection: the URL (a launch or a shared link) wins once, then the person does
query = (st.query_params.get("sweep"), st.query_params.get("runs"))
if any(query) and state.get("compare_query_applied") != query:
    sweep, listed = query
    if sweep:
        ids = [r["id"] for r in all_runs if r.get("sweep_id") == sweep]
    else:
        ids = [i for i in (listed or "").split(",") if i in by_id]
    if ids:
        _select(ids)
    if st.query_params.get("tab") in TABS:  # a lesson opens on the chart it is about
        state["compare_tabs"] = st.query_params["tab"]
    state["compare_query_applied"] = query
if "compare_ids" not in state:
    _select(_latest_launch())
state["compare_ids"] = [i for i in state["compare_ids"] if i in by_id]
# ... and the address bar follows what is shown
shown_query = _url_query(state["compare_ids"])
if shown_query != query or "tab" in st.query_params:
    st.query_params.from_dict(
        {k: v for k, v in zip(("sweep", "runs"), shown_query, strict=True) if v}
    )
state["compare_query_applied"] = shown_query

# ----------------------------------------------------------------------------- table

STATUSES = ("queued", "running", "completed", "diverged", "failed", "cancelled", "interrupted")
# The filters are read from their widgets' state before the widgets are drawn (in the
# folded table below): the selection bar above needs the count of runs they show.
shown = filter_runs(
    list(reversed(all_runs)),
    tasks=state.get("compare_f_task") or [],
    statuses=state.get("compare_f_status") or [],
    optimizers=state.get("compare_f_opt") or [],
    tags=state.get("compare_f_tags") or [],
    text=state.get("compare_f_text") or "",
)
table = runs_table(shown)
shown_ids = table["id"].tolist()
selected = [by_id[i] for i in state["compare_ids"]]
sel_ids = [r["id"] for r in selected]


# Cancel buttons live in the live fragment: their callbacks must not draw anything
# (a toast from a fragment callback lands at the top of the page and shifts it), so
# they leave a note that the fragment shows on its next draw.
def _cancel_runs(ids: list[str]) -> None:
    try:
        n = sum(resources.cancel(i) for i in ids)
    except StoreError as e:  # read-only, locked, disk full: the store's own sentence
        state["compare_notice"] = f"Not cancelled: {literal.md(e)}"
        return
    state["compare_notice"] = (
        f"Cancel requested for {n} run(s): a running run stops at the end of its epoch and "
        "keeps its curves."
        if n
        else "Nothing left to cancel."
    )


def _cancel_sweep(sweep_id: str) -> None:
    try:
        n = resources.cancel(sweep_id=sweep_id)
    except StoreError as e:
        state["compare_notice"] = f"Not cancelled: {literal.md(e)}"
        return
    state["compare_notice"] = f"Cancel requested for {n} run(s) of this comparison."


def _add_tag(ids: list[str]) -> None:
    tag = (state.get("compare_new_tag") or "").strip()
    if not tag:
        return
    try:
        for i in ids:
            run = store.get_run(i)
            store.set_tags(i, list(dict.fromkeys([*(run.get("tags") or []), tag])))
    except (ValueError, StoreError) as e:
        st.toast(f"Tag refused: {literal.md(e)}", icon=":material/error:")
        return
    state["compare_new_tag"] = ""
    st.toast(f"Tagged {len(ids)} run(s) “{literal.md(tag)}”.", icon=":material/sell:")


def _delete(ids: list[str]) -> None:
    try:
        n = store.delete_runs(ids)
    except Exception as e:  # a run started meanwhile: the store refuses, we say why
        st.toast(f"Not deleted: {literal.md(e)}", icon=":material/error:")
        return
    state["compare_confirm_delete"] = None
    state["compare_ids"] = [i for i in state.get("compare_ids", []) if i in by_id and i not in ids]
    st.toast(f"Deleted {n} run(s).", icon=":material/delete:")


# --- the selection bar: what is shown, the quick picks, and what to do with it
with st.container(horizontal=True, vertical_alignment="center", gap="small", key="compare_bar"):
    st.markdown(f"**{len(sel_ids)} of {len(all_runs)}** runs selected")
    st.button(
        "Latest launch",
        on_click=_select,
        args=(_latest_launch(),),
        key="compare_pick_latest",
        icon=":material/history:",
    )
    st.button(
        f"All {len(shown_ids)} shown",
        on_click=_select,
        args=(shown_ids,),
        key="compare_pick_all",
        icon=":material/select_all:",
        help="Every run the table shows (its filters apply).",
    )
    st.button(
        "Clear", on_click=_select, args=([],), key="compare_pick_none", icon=":material/deselect:"
    )
    if sel_ids:
        st.download_button(
            "Export CSV",
            data=lambda ids=tuple(sel_ids): store.export_csv(list(ids)),
            file_name=f"hplab-{len(sel_ids)}-runs.csv",
            mime="text/csv",
            icon=":material/download:",
            key="compare_export_csv",
            on_click="ignore",
            help=f"The {len(sel_ids)} selected runs: every epoch point and about 1,000 "
            "per-update points per run, long format: run_id, run_name, series, x_kind, x, "
            "value, then each run's config as dotted-path columns (config.optimizer.name, "
            "...). For every update: `engine export --updates full`.",
        )
        if len(sel_ids) == 1:
            st.page_link(
                "pages/run.py",
                label="Open run detail",
                icon=":material/insights:",
                query_params={"run": sel_ids[0]},
            )
        with st.popover("Tag or delete", icon=":material/sell:", key="compare_more"):
            st.text_input("Tag to add to the selected runs", key="compare_new_tag", max_chars=50)
            st.button("Add tag", on_click=_add_tag, args=(sel_ids,), key="compare_add_tag")
            st.divider()
            deletable = [r["id"] for r in selected if r["status"] not in ("running",)]
            if st.button(
                f"Delete {len(deletable)} run(s)…",
                icon=":material/delete:",
                key="compare_delete",
                disabled=not deletable,
                help="Runs that are running must be cancelled first.",
            ):
                state["compare_confirm_delete"] = deletable

pending = state.get("compare_confirm_delete")
if pending:
    with st.container(border=True):
        st.warning(
            f"Delete {len(pending)} run(s) and all their curves for good? "
            + ", ".join(literal.md(by_id[i]["name"]) for i in pending if i in by_id),
            icon=":material/delete_forever:",
        )
        with st.container(horizontal=True):
            st.button(
                "Yes, delete",
                type="primary",
                on_click=_delete,
                args=(pending,),
                key="compare_delete_confirm",
            )
            st.button(
                "Keep them",
                on_click=lambda: state.update(compare_confirm_delete=None),
                key="compare_delete_cancel",
            )

# --- the run table, folded away once something is selected: the curves come first
with st.expander(
    "Runs table: filter, sort and tick the runs to compare",
    expanded=not sel_ids,
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

    def _on_table_select(tkey: str, ids: list[str]) -> None:
        rows = state[tkey]["selection"]["rows"]
        state["compare_ids"] = [ids[i] for i in sorted(rows)]

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
                help="Best validation loss (training loss when the run has no validation data).",
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

if not selected:
    st.info("Select one or more runs in the table to see their curves.", icon=":material/info:")
    st.stop()

# ----------------------------------------------------------------------------- live panel

# Launch order (the store's order) decides colours, so a comparison always draws its
# first run blue, its second orange, … on every chart and in the progress list.
groups = seed_groups(selected)
group_of = {rid: g for g, ids in groups.items() for rid in ids}
colors: dict[str, str] = {}


def _assign_colors(grouped: bool) -> None:
    """One colour per run, or per seed group when groups are drawn as bands (the group's
    runs then share the band's colour in the progress list too)."""
    order = [r["id"] for r in all_runs if r["id"] in set(sel_ids)]
    by_key = run_colors(group_of.get(i, i) if grouped else i for i in order)
    colors.clear()
    colors.update({i: by_key[group_of.get(i, i) if grouped else i] for i in order})


_assign_colors(bool(groups) and state.get("compare_group", True))
names = dict(zip(sel_ids, display_names(selected), strict=True))  # unique, as typed
active_at_load = any(r["status"] in ACTIVE for r in selected)
interval = poll_seconds(selected, time.time())


def _progress_panel(runs: list[dict]) -> None:
    active = [r for r in runs if r["status"] in ACTIVE]
    sweeps = {r.get("sweep_id") for r in runs}
    head = st.columns([4, 1], vertical_alignment="center")
    n_done = sum(1 for r in runs if r["status"] in TERMINAL)
    head[0].markdown(f"**Progress** · {n_done}/{len(runs)} finished")
    if state.get("compare_notice"):
        st.caption(f":material/cancel: {state.pop('compare_notice')}")
    if active:
        if len(sweeps) == 1 and None not in sweeps:
            head[1].button(
                "Cancel all",
                icon=":material/cancel:",
                key="compare_cancel_all",
                on_click=_cancel_sweep,
                args=(next(iter(sweeps)),),
                width="stretch",
                help="Cancel every queued or running run of this comparison.",
            )
        else:
            head[1].button(
                "Cancel all",
                icon=":material/cancel:",
                key="compare_cancel_all",
                on_click=_cancel_runs,
                args=([r["id"] for r in active],),
                width="stretch",
                help="Cancel every selected run still active.",
            )
    now = time.time()
    for r in runs:
        p = progress(r, now)
        diag = diagnosis_of(r)
        name = literal.md(names[r["id"]])
        c = st.columns([2.5, 1.7, 3.8, 2.6], vertical_alignment="center")
        c[0].markdown(
            f"{color_dot(colors[r['id']])}**{name}** {status_text(r['status'])}",
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
                    on_click=_cancel_runs,
                    args=([r["id"]],),
                )
            elif r.get("error") and r["status"] in ("failed", "interrupted"):
                st.page_link("pages/run.py", label="Why?", query_params={"run": r["id"]})
            else:
                st.page_link(
                    "pages/run.py",
                    label="Details",
                    icon=":material/insights:",
                    query_params={"run": r["id"]},
                )


def _controls(has_groups: bool) -> dict:
    # One row of content-wide controls: columns would cut "wall time" and the toggle's
    # label at a projector's 1280 px.
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    x_axis = bar.segmented_control(
        "x axis",
        list(X_AXES),
        key="compare_x",
        default="epoch",
        format_func=lambda k: {
            "epoch": "epoch",
            "update": "update",
            "examples": "examples",
            "wall": "wall time",
        }[k],
        required=True,
        help="Per epoch; per optimizer update; examples seen (update × batch × accumulation); "
        "or seconds since the run started. Examples seen compares runs with different batch "
        "sizes fairly.",
    )
    state.setdefault("compare_smooth", 0.0)
    smoothing = bar.slider(
        "Smoothing",
        0.0,
        0.99,
        key="compare_smooth",
        step=0.01,
        width=170,
        help="Exponential moving average (TensorBoard's debiased EMA). The raw curve stays "
        "faint beneath. 0.6-0.9 for noisy per-update curves.",
    )
    log_y = bar.toggle("log y", key="compare_log")
    group = False
    if has_groups:
        group = bar.toggle(
            "Seeds: mean ± std",
            value=True,
            key="compare_group",
            help="Runs identical but for the seed are drawn as their mean with "
            "a ±1 standard deviation band.",
        )
    return {"x_axis": x_axis, "smoothing": smoothing or 0.0, "log_y": log_y, "group": group}


def _charts(runs: list[dict], ctl: dict) -> None:
    # Only the open tab is drawn: a live redraw builds one or two figures, not ten.
    tabs = st.tabs(TABS, key="compare_tabs", on_change="rerun")
    need_updates = tabs[2].open or tabs[3].open
    series = resources.series_for(runs, updates=need_updates)
    curves = [
        curves_for(
            r, *series[r["id"]], colors[r["id"]], group=group_of.get(r["id"]), name=names[r["id"]]
        )
        for r in runs
    ]
    if len(runs) > MANY_RUNS:
        st.caption(
            f"{len(runs)} runs: each chart's legend keeps only the line styles, and pointing "
            "at a curve names its run. Colours repeat every ten runs; the table is the key."
        )
    opts = {"x_axis": ctl["x_axis"], "smoothing": ctl["smoothing"], "log_y": ctl["log_y"]}
    if tabs[0].open:
        with tabs[0]:
            _chart(
                metric_figure(
                    curves, "loss", **opts, group_seeds=ctl["group"], title="Loss", height=420
                ),
                "compare_chart_loss",
                "Solid = training loss (averaged over the epoch), dashed = validation loss (end "
                "of epoch). ★ marks each run's best epoch, ▲ where it starts to overfit, and the "
                "shaded band its widening train/validation gap; a dotted line marks the update "
                "where the loss became NaN. Both high and flat means underfitting; spikes or a ✕ "
                "(NaN) mean the learning rate is too high. Explain (below) gives each run's "
                "evidence and what to try.",
            )
    if tabs[1].open:
        with tabs[1]:
            keys = metric_keys(runs)
            if not keys:
                st.info("These runs log no metric besides the loss.", icon=":material/info:")
            else:
                metric = st.selectbox("Metric", keys, key="compare_metric")
                _chart(
                    metric_figure(
                        curves, metric, **opts, group_seeds=ctl["group"], title=metric, height=400
                    ),
                    "compare_chart_metric",
                    "Train solid, validation dashed; the best epoch of each run is starred "
                    "on the loss chart.",
                )
    if tabs[2].open:
        with tabs[2]:
            _chart(
                updates_figure(
                    curves,
                    "lr",
                    x_axis=opts["x_axis"],
                    log_y=opts["log_y"],
                    title="Learning rate applied at each update",
                    y_title="learning rate",
                ),
                "compare_chart_lr",
                "Read from the optimizer at every update during training: the schedule times "
                "any reduce-LR-on-plateau cuts. Compare it with the preview on the setup page.",
            )
    if tabs[3].open:
        with tabs[3]:
            _chart(
                updates_figure(
                    curves,
                    "grad_norm",
                    **opts,
                    title="Global gradient norm per update (before clipping)",
                    y_title="‖g‖₂",
                ),
                "compare_chart_grad",
                "The dotted line is each run's clip threshold (global_clipnorm, or clipnorm "
                "per weight tensor); open circles mark updates that were clipped. Norms far "
                "above the threshold for long stretches mean the learning rate fights the "
                "clipping.",
            )
            _chart(
                updates_figure(
                    curves, "loss", **opts, title="Training loss per update", y_title="loss"
                ),
                "compare_chart_update_loss",
                "Every update's mini-batch loss: noisier than the epoch average; smoothing "
                "helps here. ▼ marks the spikes the diagnosis counted (a loss far above the "
                "recent median): many of them mean the learning rate is too high.",
            )
    if tabs[4].open:
        with tabs[4]:
            c1, c2 = st.columns(2)
            with c1:
                _chart(
                    metric_figure(
                        curves,
                        "epoch_time",
                        x_axis=opts["x_axis"],
                        show_val=False,
                        title="Seconds per epoch",
                        y_title="s",
                    ),
                    "compare_chart_epoch_time",
                )
            with c2:
                _chart(
                    metric_figure(
                        curves,
                        "examples_per_sec",
                        x_axis=opts["x_axis"],
                        show_val=False,
                        title="Training throughput",
                        y_title="examples / s",
                    ),
                    "compare_chart_throughput",
                )
            st.caption(
                "The first epoch includes tracing the training step. mixed_float16 on a CPU "
                "and run_eagerly show up here as many times slower epochs."
            )


def _chart(fig, key: str, caption: str | None = None) -> None:
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})
    if caption:
        st.caption(caption)


# The page's own run draws the panel from the runs it has just read; only the
# fragment's later reruns (the function object keeps this run's globals) read again.
_draws = {"n": 0}


@st.fragment(run_every=interval)
def live_panel() -> None:
    _assign_colors(bool(groups) and state.get("compare_group", True))
    rerun = _draws["n"] > 0
    _draws["n"] += 1
    if rerun:
        wanted = set(sel_ids)
        fresh = {r["id"]: r for r in store.list_runs() if r["id"] in wanted}
        runs = [fresh[i] for i in sel_ids if i in fresh]
        if not runs:
            st.rerun()
    else:
        runs = selected
    ctl = _controls(bool(groups))
    _charts(runs, ctl)
    with st.container(border=True):
        if any(r["status"] in ACTIVE for r in runs) or len(runs) <= 6:
            _progress_panel(runs)
        else:
            found = label_counts(diagnosis_of(r) for r in runs)
            # Drawn only when opened: 200 finished runs are 200 rows and popovers.
            box = st.expander(
                f"Progress & diagnosis · {len(runs)} runs, all finished: {found}",
                key="compare_progress",
                on_change="rerun",
            )
            if box.open:
                with box:
                    _progress_panel(runs)
    # A run changed state (started, finished, was cancelled) or the polling pace should
    # change (a first epoch arrived): redraw the whole page once so the table, the
    # actions and the polling follow; later epochs alone do not.
    if rerun and active_at_load:
        changed = any(r["status"] != by_id[r["id"]]["status"] for r in runs)
        if changed or poll_seconds(runs, time.time()) != interval:
            st.rerun()


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
if groups:
    result = "val_loss" if any("val_loss" in (r.get("best") or {}) for r in selected) else "loss"
    lines = []
    for ids in groups.values():
        vals = [v for i in ids if finite(v := (by_id[i].get("best") or {}).get(result))]
        if len(vals) < 2:
            continue
        mean = sum(vals) / len(vals)
        sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
        name = literal.md(group_label(by_id[ids[0]]["name"]))
        lines.append(
            f"- **{name}**: best {result} {fmt_num(mean)} ± {fmt_num(sd, 2)} over {len(vals)} seeds"
        )
    if lines:
        st.markdown("**Seed repeats** (identical runs but for the seed)\n" + "\n".join(lines))
render_comparison_summary(selected, all_runs)

# Parallel coordinates are drawn with WebGL: without a GPU (a classroom laptop, this CI)
# the browser spends 10-20 s on them, blocking every other chart and the live panel's
# polling. So they are drawn when asked for, and stay open once opened.
pc_box = st.expander(
    "Hyperparameters against the result (parallel coordinates)",
    icon=":material/ssid_chart:",
    key="compare_pc_open",
    on_change="rerun",
)
# One task at a time: the selection's task, among the runs the table shows.
pc_task = selected[0]["config"].get("task")
pc_runs = [by_id[i] for i in shown_ids if by_id[i]["config"].get("task") == pc_task]
dims = hyperparameters(pc_runs)
results = result_keys(pc_runs)
if not pc_box.open:
    pass
elif len(pc_runs) < 2 or not dims or not results:
    pc_box.caption(
        "Parallel coordinates need two or more runs in the table that differ in some setting "
        "and have results."
    )
else:
    with pc_box:
        pc = st.columns([2, 1, 3])
        target = pc[0].selectbox("Result", results, key="compare_pc_target")
        which = pc[1].segmented_control(
            "Value", ["best", "last"], key="compare_pc_which", default="best", required=True
        )
        if interval == FAST_POLL_SECONDS:
            # A just-launched run is about to show its first point: WebGL would hold the
            # browser, and the polling with it, right then. The page redraws once it is in.
            st.caption(
                f"Parallel coordinates of the {len(pc_runs)} {pc_task} runs in the table "
                "follow once the new run(s) report their first epoch."
            )
        else:
            placed = with_result(pc_runs, target, which or "best")
            st.plotly_chart(
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
