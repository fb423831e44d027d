"""Run detail: one run's results, curves, config, and the edits that keep it tidy.

Everything here reads the store; a running run's curves refresh in a fragment
that polls only while the run is active. Exports (config JSON, standalone Keras
script) come from the stored canonical config, so they reproduce the run.
"""

from __future__ import annotations

import json
import time

import streamlit as st

from engine.errors import StoreError
from engine.store import TERMINAL
from ui import form, literal, resources
from ui.charts import (
    confusion_figure,
    metric_figure,
    probability_figure,
    regression_figure,
    updates_figure,
)
from ui.diagnosis_view import badges, diagnosis_of, render_explanation
from ui.palette import RUN_COLORS
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
    plateau_text,
    primary_metric,
    progress,
    task_title,
)
from ui.shell import require_shell
from ui.widgets import status_badge

require_shell()
state = st.session_state
store = resources.store()

if state.pop("detail_open_setup", False):
    st.switch_page("pages/setup.py")

st.title("Run detail")

runs = store.list_runs()
if not runs:
    st.info("No runs yet: launch one from Set up runs.", icon=":material/info:")
    st.page_link("pages/setup.py", label="Set up runs", icon=":material/tune:")
    st.stop()

by_id = {r["id"]: r for r in runs}
ids = [r["id"] for r in reversed(runs)]
wanted = st.query_params.get("run")
if wanted and state.get("detail_query_applied") != wanted:
    if wanted in by_id:
        state["detail_run"] = wanted
    state["detail_query_applied"] = wanted
if state.get("detail_run") not in by_id:
    chosen = [i for i in state.get("compare_ids", []) if i in by_id]
    state["detail_run"] = chosen[0] if chosen else ids[0]

run_id = st.selectbox(
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

h1, h2 = st.columns([3, 2], vertical_alignment="center")
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


def _edit_in_setup() -> None:
    form.load_raw(state, cfg)
    state["setup_mode"] = "One run"
    state["detail_open_setup"] = True


with h2, st.container(horizontal=True, horizontal_alignment="right"):
    if run.get("sweep_id"):
        st.page_link(
            "pages/compare.py",
            label="Compare its launch",
            icon=":material/monitoring:",
            query_params={"sweep": run["sweep_id"]},
        )
    else:
        st.page_link(
            "pages/compare.py",
            label="Watch & compare",
            icon=":material/monitoring:",
            query_params={"runs": run_id},
        )
    st.button(
        "Edit in Set up runs",
        icon=":material/edit:",
        on_click=_edit_in_setup,
        key="detail_edit",
        help="Load this run's config into the form to change a knob and launch again.",
    )

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

tab_curves, tab_pred, tab_config, tab_keep = st.tabs(
    ["Curves", "Predictions", "Config & export", "Name, tags, notes"], key="detail_tabs"
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
    c1.plotly_chart(
        metric_figure(curves, "loss", title="Loss (train solid, validation dashed)", log_y=log_y),
        key="detail_chart_loss",
        width="stretch",
    )
    keys = metric_keys([r])
    if keys:
        with c2:
            m = st.selectbox("Metric", keys, key="detail_metric", label_visibility="collapsed")
            st.plotly_chart(
                metric_figure(curves, m, title=m, height=320, log_y=log_y),
                key="detail_chart_metric",
                width="stretch",
            )
    c3, c4 = st.columns(2)
    c3.plotly_chart(
        updates_figure(
            curves, "lr", title="Learning rate applied per update", y_title="learning rate"
        ),
        key="detail_chart_lr",
        width="stretch",
    )
    c4.plotly_chart(
        updates_figure(curves, "grad_norm", title="Gradient norm per update", y_title="‖g‖₂"),
        key="detail_chart_grad",
        width="stretch",
    )
    if run["status"] in ACTIVE and r["status"] not in ACTIVE:
        st.rerun()  # finished: redraw the page once with results, and stop polling


with tab_curves:
    curves_panel()

# ----------------------------------------------------------------------------- predictions

with tab_pred:
    preds = store.predictions(run_id) if run["status"] in TERMINAL else None
    if test:
        st.markdown("**Test set** (evaluated once, after training)")
        st.dataframe(
            [{"metric": k, "value": v} for k, v in test.items()],
            hide_index=True,
            width="content",
            key="detail_test_table",
        )
    if not preds:
        st.info(
            "Predictions appear when the run completes (or is cancelled): a sample of the "
            "test set against its targets.",
            icon=":material/info:",
        )
    else:
        for head, p in preds.items():
            title = head if len(preds) > 1 else None
            if title:
                st.markdown(f"**Output · {head}**")
            if p.get("kind") == "regression":
                st.plotly_chart(
                    regression_figure(
                        p["target"],
                        p["prediction"],
                        color=color,
                        title="Predicted vs true (test sample)",
                    ),
                    key=f"detail_pred_{head}",
                    width="stretch",
                )
            else:
                c1, c2 = st.columns(2)
                if p.get("confusion"):
                    c1.plotly_chart(
                        confusion_figure(
                            p["confusion"],
                            p.get("labels") or [],
                            title="Confusion matrix (whole test set)",
                        ),
                        key=f"detail_confusion_{head}",
                        width="stretch",
                    )
                if p.get("kind") == "binary":
                    c2.plotly_chart(
                        probability_figure(
                            p["target"],
                            p["prediction"],
                            title="Predicted probability by true class",
                        ),
                        key=f"detail_proba_{head}",
                        width="stretch",
                    )
                else:
                    c2.caption(
                        "Rows are true classes, columns predicted ones; a strong diagonal is "
                        "skill. On random labels expect an even spread (chance)."
                    )

# ----------------------------------------------------------------------------- config

with tab_config:
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Config JSON",
        data=json.dumps(cfg, indent=2),
        file_name=f"hplab-{run_id}.json",
        mime="application/json",
        icon=":material/data_object:",
        key="detail_export_json",
        on_click="ignore",
        width="stretch",
    )
    script = resources.export_script_for(cfg)
    c2.download_button(
        "Standalone Keras script",
        data=script or "",
        file_name=f"hplab_{run_id}.py",
        mime="text/x-python",
        icon=":material/code:",
        key="detail_export_script",
        disabled=script is None,
        on_click="ignore",
        width="stretch",
        help="Plain Keras + NumPy that reproduces this run's data, model and training.",
    )
    c3.download_button(
        "Curves CSV",
        data=lambda: store.export_csv([run_id]),
        file_name=f"hplab-{run_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="detail_export_csv",
        on_click="ignore",
        width="stretch",
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Config** (canonical: every default filled in)")
        st.json(cfg, expanded=2)
    with right:
        st.markdown("**Run facts**")
        facts = {
            "status": run["status"],
            "worker": run.get("worker_id") or "—",
            "device": info.get("device", "—"),
            "parameters": f"{info['params']:,}" if info.get("params") else "—",
            "training examples": info.get("n_train", "—"),
            "validation examples": info.get("n_val", "—"),
            "batches per epoch": info.get("steps_per_epoch", "—"),
            "updates per epoch": info.get("updates_per_epoch", "—"),
            "total updates": info.get("total_updates", "—"),
            "epochs run": f"{run.get('epochs_done') or 0} of {cfg.get('epochs')}",
            "sweep": run.get("sweep_id") or "—",
        }
        if result.get("plateau_cuts"):
            facts["learning rate cut by reduce-LR-on-plateau"] = plateau_text(
                result["plateau_cuts"]
            )
        st.markdown("\n".join(f"- **{k}**: {v}" for k, v in facts.items()))

# ----------------------------------------------------------------------------- keep


def _save_name() -> None:
    try:
        store.rename(run_id, state["detail_name"])
        st.toast("Renamed.", icon=":material/edit:")
    except (ValueError, StoreError) as e:
        st.toast(f"Not renamed: {literal.md(e)}", icon=":material/error:")


def _save_tags() -> None:
    try:
        store.set_tags(run_id, [t.strip() for t in state["detail_tags"] if str(t).strip()])
        st.toast("Tags saved.", icon=":material/sell:")
    except (ValueError, StoreError) as e:
        st.toast(f"Tags not saved: {literal.md(e)}", icon=":material/error:")


def _save_notes() -> None:
    try:
        store.set_notes(run_id, state["detail_notes"])
        st.toast("Notes saved.", icon=":material/edit_note:")
    except (ValueError, StoreError) as e:
        st.toast(f"Notes not saved: {literal.md(e)}", icon=":material/error:")


def _delete() -> None:
    try:
        store.delete_runs([run_id])
    except Exception as e:  # running meanwhile: the store refuses
        st.toast(f"Not deleted: {literal.md(e)}", icon=":material/error:")
        return
    state["detail_confirm_delete"] = False
    state.pop("detail_run", None)
    st.toast("Run deleted.", icon=":material/delete:")


with tab_keep:
    # Widgets are keyed by the run so switching runs shows that run's values.
    if state.get("detail_loaded") != run_id:
        state["detail_name"] = run["name"]
        state["detail_tags"] = list(run.get("tags") or [])
        state["detail_notes"] = run.get("notes") or ""
        state["detail_loaded"] = run_id
        state["detail_confirm_delete"] = False
    c1, c2 = st.columns(2)
    with c1:
        st.text_input("Name", key="detail_name", max_chars=200)
        st.button("Save name", key="detail_save_name", on_click=_save_name)
        all_tags = sorted({t for r in runs for t in (r.get("tags") or [])})
        st.multiselect(
            "Tags",
            list(dict.fromkeys([*all_tags, *state["detail_tags"]])),
            key="detail_tags",
            accept_new_options=True,
            help="Type a new tag and press Enter. Filter by tag on Watch & compare.",
        )
        st.button("Save tags", key="detail_save_tags", on_click=_save_tags)
    with c2:
        st.text_area(
            "Notes",
            key="detail_notes",
            height=150,
            placeholder="What did this run show? What would you try next?",
        )
        st.button("Save notes", key="detail_save_notes", on_click=_save_notes)
    st.divider()
    if run["status"] == "running":
        st.caption("A running run cannot be deleted: cancel it first (Watch & compare).")
    elif not state.get("detail_confirm_delete"):
        st.button(
            "Delete this run…",
            icon=":material/delete:",
            key="detail_delete",
            on_click=lambda: state.update(detail_confirm_delete=True),
        )
    else:
        st.warning(
            f"Delete “{literal.md(run['name'])}” and all its curves for good?",
            icon=":material/delete_forever:",
        )
        d1, d2, _ = st.columns([1, 1, 5])
        d1.button("Yes, delete", type="primary", key="detail_delete_confirm", on_click=_delete)
        d2.button(
            "Keep it",
            key="detail_delete_cancel",
            on_click=lambda: state.update(detail_confirm_delete=False),
        )
