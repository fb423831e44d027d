"""Watch & compare: live progress and overlaid curves of the selected runs.

The run table picks what is compared. The live panel (progress, charts) is a
fragment that re-reads the store *only while a selected run is queued or running*:
every 0.3 s until a just-launched run has drawn its first epoch, then every 1.5 s
(``ui.runs.poll_seconds``); nothing else on the page reruns, so the table, filters
and zoom stay put. When a run changes state or the pace should change, the page
refreshes once; when the last run finishes it stops polling.
"""

from __future__ import annotations

import functools
import hashlib
import html
import time

import streamlit as st

from engine.errors import StoreError
from engine.store import TERMINAL, higher_is_better
from ui import resources
from ui.charts import X_AXES, metric_figure, parallel_figure, updates_figure
from ui.diagnosis_view import badges, diagnosis_of, label_counts, render_explanation
from ui.palette import run_colors
from ui.runs import (
    ACTIVE,
    FAST_POLL_SECONDS,
    config_diff,
    curves_for,
    filter_runs,
    fmt_num,
    hyperparameters,
    ident,
    metric_keys,
    parallel_rows,
    poll_seconds,
    progress,
    result_keys,
    runs_table,
    seed_groups,
)
from ui.shell import require_shell
from ui.widgets import color_dot, status_text

TABS = ("Loss", "Metrics", "Learning rate", "Gradients", "Speed")
require_shell()
state = st.session_state
store = resources.store()

st.title("Watch & compare")
st.caption(
    "Select runs in the table to overlay them. Training curves are solid, validation "
    "curves dashed, and each run keeps one colour on every chart. The panel updates live "
    "while runs train; cancelling keeps a run's partial curves."
)

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
    state["compare_query_applied"] = query
if "compare_ids" not in state:
    _select(_latest_launch())
state["compare_ids"] = [i for i in state["compare_ids"] if i in by_id]

# ----------------------------------------------------------------------------- table

with st.container(border=True):
    fc = st.columns([2, 2, 2, 2, 3])
    tasks = sorted({r.get("task") or "" for r in all_runs} - {""})
    statuses = [
        s
        for s in (
            "queued",
            "running",
            "completed",
            "diverged",
            "failed",
            "cancelled",
            "interrupted",
        )
        if any(r["status"] == s for r in all_runs)
    ]
    optimizers = sorted({ident(r["config"].get("optimizer")) or "?" for r in all_runs})
    all_tags = sorted({t for r in all_runs for t in (r.get("tags") or [])})
    f_task = fc[0].multiselect("Task", tasks, key="compare_f_task", placeholder="all tasks")
    f_status = fc[1].multiselect("Status", statuses, key="compare_f_status", placeholder="any")
    f_opt = fc[2].multiselect("Optimizer", optimizers, key="compare_f_opt", placeholder="any")
    f_tags = fc[3].multiselect("Tags", all_tags, key="compare_f_tags", placeholder="any")
    f_text = fc[4].text_input("Search", key="compare_f_text", placeholder="name, id or note")

    shown = filter_runs(
        list(reversed(all_runs)),
        tasks=f_task,
        statuses=f_status,
        optimizers=f_opt,
        tags=f_tags,
        text=f_text,
    )
    table = runs_table(shown)
    shown_ids = table["id"].tolist()
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
        selection_default={"selection": {"rows": [shown_ids.index(i) for i in visible_selected]}},
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * max(1, len(table))),
        column_order=[c for c in table.columns if c not in ("id", "Best loss is")],
        column_config={
            "Run": st.column_config.TextColumn("Run", width="medium"),
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
    bc = st.columns([1, 1, 1, 4])
    bc[0].button(
        "Latest launch",
        on_click=_select,
        args=(_latest_launch(),),
        key="compare_pick_latest",
        icon=":material/history:",
        width="stretch",
    )
    bc[1].button(
        f"All {len(shown_ids)} shown",
        on_click=_select,
        args=(shown_ids,),
        key="compare_pick_all",
        icon=":material/select_all:",
        width="stretch",
    )
    bc[2].button(
        "Clear",
        on_click=_select,
        args=([],),
        key="compare_pick_none",
        icon=":material/deselect:",
        width="stretch",
    )
    bc[3].caption(
        f"{len(state['compare_ids'])} of {len(all_runs)} runs selected. Click rows (the "
        "checkbox column) to choose what the charts overlay; click a header to sort."
    )

selected = [by_id[i] for i in state["compare_ids"]]
if not selected:
    st.info("Select one or more runs in the table to see their curves.", icon=":material/info:")
    st.stop()

# ----------------------------------------------------------------------------- actions


# Cancel buttons live in the live fragment: their callbacks must not draw anything
# (a toast from a fragment callback lands at the top of the page and shifts it), so
# they leave a note that the fragment shows on its next draw.
def _cancel_runs(ids: list[str]) -> None:
    try:
        n = sum(resources.cancel(i) for i in ids)
    except StoreError as e:  # read-only, locked, disk full: the store's own sentence
        state["compare_notice"] = f"Not cancelled: {e}"
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
        state["compare_notice"] = f"Not cancelled: {e}"
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
        st.toast(f"Tag refused: {e}", icon=":material/error:")
        return
    state["compare_new_tag"] = ""
    st.toast(f"Tagged {len(ids)} run(s) “{tag}”.", icon=":material/sell:")


def _delete(ids: list[str]) -> None:
    try:
        n = store.delete_runs(ids)
    except Exception as e:  # a run started meanwhile: the store refuses, we say why
        st.toast(f"Not deleted: {e}", icon=":material/error:")
        return
    state["compare_confirm_delete"] = None
    state["compare_ids"] = [i for i in state.get("compare_ids", []) if i not in ids]
    st.toast(f"Deleted {n} run(s).", icon=":material/delete:")


sel_ids = [r["id"] for r in selected]
with st.container(horizontal=True, vertical_alignment="center"):
    st.download_button(
        f"Export {len(sel_ids)} run(s) as CSV",
        data=lambda ids=tuple(sel_ids): store.export_csv(list(ids)),
        file_name=f"hplab-{len(sel_ids)}-runs.csv",
        mime="text/csv",
        icon=":material/download:",
        key="compare_export_csv",
        on_click="ignore",
        help="Every epoch point and about 1,000 per-update points per run, long format: "
        "run_id, run_name, series, x_kind, x, value, then each run's config as dotted-path "
        "columns (config.optimizer.name, ...). For every update: `engine export --updates full`.",
    )
    if len(sel_ids) == 1:
        st.page_link(
            "pages/run.py",
            label="Open run detail",
            icon=":material/insights:",
            query_params={"run": sel_ids[0]},
        )
    with st.popover("Tag", icon=":material/sell:"):
        st.text_input("Tag to add to the selected runs", key="compare_new_tag", max_chars=50)
        st.button("Add tag", on_click=_add_tag, args=(sel_ids,), key="compare_add_tag")
    deletable = [r["id"] for r in selected if r["status"] not in ("running",)]
    if st.button(
        "Delete…",
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
            + ", ".join(by_id[i]["name"] for i in pending if i in by_id),
            icon=":material/delete_forever:",
        )
        dc = st.columns([1, 1, 5])
        dc[0].button(
            "Yes, delete",
            type="primary",
            on_click=_delete,
            args=(pending,),
            key="compare_delete_confirm",
        )
        dc[1].button(
            "Keep them",
            on_click=lambda: state.update(compare_confirm_delete=None),
            key="compare_delete_cancel",
        )

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
        c = st.columns([2.6, 1.9, 3.9, 1.3, 1.3], vertical_alignment="center")
        c[0].markdown(
            f"{color_dot(colors[r['id']])}**{html.escape(r['name'])}** {status_text(r['status'])}",
            unsafe_allow_html=True,
        )
        c[1].markdown(badges(diag), help=diag.get("summary") if diag else None)
        c[2].progress(p["fraction"], text=p["text"])
        if diag:
            with c[3].popover(
                "Explain",
                key=f"compare_explain_{r['id']}",
                width="stretch",
                help="Why this label: the evidence in numbers and what to try.",
            ):
                st.markdown(f"{badges(diag)} · **{html.escape(r['name'])}**")
                render_explanation(diag)
        if r["status"] in ACTIVE:
            c[4].button(
                "Cancel",
                key=f"compare_cancel_{r['id']}",
                on_click=_cancel_runs,
                args=([r["id"]],),
                width="stretch",
            )
        elif r.get("error") and r["status"] in ("failed", "interrupted"):
            c[4].page_link("pages/run.py", label="Why?", query_params={"run": r["id"]})
        else:
            c[4].page_link(
                "pages/run.py",
                label="Details",
                icon=":material/insights:",
                query_params={"run": r["id"]},
            )


def _controls(has_groups: bool) -> dict:
    c = st.columns([4, 3, 1, 2], vertical_alignment="bottom")
    x_axis = c[0].segmented_control(
        "x axis",
        list(X_AXES),
        key="compare_x",
        default="epoch",
        format_func=lambda k: {
            "epoch": "epoch",
            "update": "update",
            "examples": "examples seen",
            "wall": "wall time",
        }[k],
        required=True,
        help="Per epoch; per optimizer update; examples seen (update × batch × accumulation); "
        "or seconds since the run started. Examples seen compares runs with different batch "
        "sizes fairly.",
    )
    state.setdefault("compare_smooth", 0.0)
    smoothing = c[1].slider(
        "Smoothing",
        0.0,
        0.99,
        key="compare_smooth",
        step=0.01,
        help="Exponential moving average (TensorBoard's debiased EMA). The raw curve stays "
        "faint beneath. 0.6-0.9 for noisy per-update curves.",
    )
    log_y = c[2].toggle("log y", key="compare_log")
    group = False
    if has_groups:
        group = c[3].toggle(
            "Seeds as mean ± std",
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
        curves_for(r, *series[r["id"]], colors[r["id"]], group=group_of.get(r["id"])) for r in runs
    ]
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
                "(NaN) mean the learning rate is too high. Explain (above) gives each run's "
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
    ctl = _controls(bool(groups))
    _charts(runs, ctl)
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
        vals = [by_id[i]["best"].get(result) for i in ids if by_id[i]["best"].get(result)]
        if not vals:
            continue
        mean = sum(vals) / len(vals)
        sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0
        name = by_id[ids[0]]["name"].rpartition(" · seed ")[0] or by_id[ids[0]]["name"]
        lines.append(
            f"- **{name}**: best {result} {fmt_num(mean)} ± {fmt_num(sd, 2)} over {len(vals)} seeds"
        )
    if lines:
        st.markdown("**Seed repeats** (identical runs but for the seed)\n" + "\n".join(lines))

st.markdown("#### Hyperparameters against the result")
# One task at a time: the selection's task, among the runs the table shows.
pc_task = selected[0]["config"].get("task")
pc_runs = [by_id[i] for i in shown_ids if by_id[i]["config"].get("task") == pc_task]
dims = hyperparameters(pc_runs)
results = result_keys(pc_runs)
if len(pc_runs) < 2 or not dims or not results:
    st.caption(
        "Parallel coordinates need two or more runs in the table that differ in some setting "
        "and have results."
    )
else:
    pc = st.columns([2, 1, 3])
    target = pc[0].selectbox("Result", results, key="compare_pc_target")
    which = pc[1].segmented_control(
        "Value", ["best", "last"], key="compare_pc_which", default="best", required=True
    )
    if interval == FAST_POLL_SECONDS:
        # Plotly draws parallel coordinates with WebGL: without a GPU that holds the
        # browser for seconds, and with it the live panel's polling, just when a new run
        # is about to show its first point. The page redraws once that point is in.
        st.caption(
            f"Parallel coordinates of the {len(pc_runs)} {pc_task} runs in the table follow "
            "once the new run(s) report their first epoch."
        )
    else:
        st.plotly_chart(
            parallel_figure(
                parallel_rows(pc_runs, dims, target, which or "best"),
                dims,
                target,
                higher_is_better=higher_is_better(target),
            ),
            key="compare_parallel",
            width="stretch",
        )
        st.caption(
            f"One line per {pc_task} run shown in the table ({len(pc_runs)}), through the "
            "settings that vary to the result; the best results are drawn darkest. Drag "
            "along an axis to highlight a range."
        )
