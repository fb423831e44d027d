"""Set up runs: one run, one knob compared, or a documented comparison replayed.

The form is generated from the engine's registries; the config it describes is
validated on every change *before* the widgets are drawn, so each problem appears
under its own field and the launch button is only live when every planned run
is valid. Launching queues the runs and opens the comparison at once.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import streamlit as st

from engine.config import shape_of
from engine.spec.tasks import TASKS
from ui import form, lr_finder_view, plan, preview_view, resources
from ui.palette import run_colors
from ui.presets import PRESETS
from ui.runs import differing_keys, ident, loss_label, summary
from ui.shell import require_shell
from ui.widgets import FieldNotes, problem_list

MODES = ("One run", "Compare one knob", "Replay a documented comparison")
require_shell()
state = st.session_state

if state.get("setup_launched"):  # set by the launch button's callback: open the comparison
    launched = state.pop("setup_launched")
    st.switch_page("pages/compare.py", query_params={"sweep": launched["sweep"]})

form.ensure_state(state)


# ----------------------------------------------------------------------------- callbacks


def _on_task_change() -> None:
    form.ensure_state(state, state[form.key("task")])


def _reset_defaults() -> None:
    form.ensure_state(state, state[form.key("task")])
    st.toast("Back to the document's defaults for this task.", icon=":material/restart_alt:")


def _import(data: bytes | str, source: str) -> None:
    raw, problems = plan.parse_config_text(data)
    if raw is not None:
        try:
            form.load_raw(state, raw)
        except Exception as e:  # ConfigError: show every field; anything else: one line
            problems = getattr(e, "problems", [("config", str(e))])
    state["setup_import_problems"] = problems
    state["setup_import_source"] = source
    if not problems:
        state["setup_mode"] = MODES[0]
        st.toast(f"Loaded the config from {source}.", icon=":material/upload_file:")


def _on_upload() -> None:
    f = state.get("setup_import_file")
    if f is None:
        return
    if f.size > plan.MAX_IMPORT_BYTES:
        state["setup_import_problems"] = [("file", f"larger than {plan.MAX_IMPORT_BYTES:,} bytes")]
        return
    _import(f.getvalue(), f.name)


def _on_paste() -> None:
    _import(state.get("setup_import_text", ""), "the pasted JSON")


def _open_preset_in_form(preset_id: str) -> None:
    p = PRESETS[preset_id]
    form.load_raw(state, p.configs[0])
    state["setup_mode"] = MODES[0]
    st.toast(f"Loaded “{p.names[0]}” into the form.", icon=":material/edit:")


# ----------------------------------------------------------------------------- header

st.title("Set up runs")
st.caption(
    "Pick one of the documents' tasks, set any knob (every default is the document's), "
    "then launch a single run, a comparison of one knob, or a documented experiment. "
    "Each launch is validated as a whole, queued to the worker pool, and opened live "
    "in **Watch & compare**."
)

task_ids = list(TASKS)
top = st.columns([3, 1, 1], vertical_alignment="bottom")
with top[0]:
    task_id = st.selectbox(
        "Task",
        task_ids,
        key=form.key("task"),
        format_func=lambda t: f"{TASKS[t].title}  ·  {t}",
        on_change=_on_task_change,
        help="The synthetic datasets and models of the source documents. Switching task "
        "loads that document's settings into every field.",
        persist_state=form.PERSIST,
    )
with top[1]:
    st.button(
        "Document defaults",
        icon=":material/restart_alt:",
        on_click=_reset_defaults,
        width="stretch",
        help="Put every field back to this task's document settings.",
    )
with top[2], st.popover("Import config", icon=":material/upload_file:", width="stretch"):
    st.caption(
        "A JSON config (or an HP Lab export); it is parsed as JSON only, never run, "
        f"capped at {plan.MAX_IMPORT_BYTES // 1_000_000} MB, and validated field by field."
    )
    st.file_uploader(
        "Config file",
        type=["json"],
        key="setup_import_file",
        on_change=_on_upload,
        max_upload_size=1,
    )
    st.text_area("…or paste JSON", key="setup_import_text", height=120)
    st.button("Load pasted JSON", on_click=_on_paste, key="setup_import_paste")

if state.get("setup_import_problems"):
    st.error(
        f"Could not load the config from {state.get('setup_import_source', 'the import')}:",
        icon=":material/error:",
    )
    problem_list(state["setup_import_problems"])

task = TASKS[task_id]
with st.container(border=True):
    c1, c2 = st.columns([3, 2])
    with c1:
        st.markdown(f"**{task.title}**")
        st.caption(f"Source: {task.source}")
        st.write(task.description)
    with c2:
        d = task.defaults
        opt = ident(d["optimizer"])
        loss = loss_label(d["loss"])
        st.markdown(
            f"**Document defaults** · {opt} at lr {d['learning_rate']:g} · batch "
            f"{d['batch_size']} · {d['epochs']} epochs  \n"
            f"loss `{loss}` · {task.data['n_train']} training examples"
            + (f" + {task.data['n_val']} validation" if task.has_own_validation else "")
        )
        badges = []
        if task.random_targets_by_default:
            badges.append(":orange-badge[random targets: an overfitting demo]")
        if task.has_own_validation:
            badges.append(":blue-badge[own validation set]")
        if task.multi_output:
            badges.append(":violet-badge[multi-output]")
        if badges:
            st.markdown(" ".join(badges))

# ----------------------------------------------------------------------------- plan mode

st.markdown("#### What to launch")
mc1, mc2 = st.columns([3, 1], vertical_alignment="bottom")
with mc1:
    mode = st.segmented_control(
        "Launch",
        MODES,
        key="setup_mode",
        default=MODES[0],
        required=True,
        label_visibility="collapsed",
        persist_state=form.PERSIST,
    )
with mc2:
    state.setdefault("setup_repeats", 1)
    repeats = st.number_input(
        "Seed repeats",
        min_value=1,
        max_value=10,
        step=1,
        key="setup_repeats",
        help="Run each configuration with n seeds (seed, seed+1, …). The comparison then "
        "draws their mean with a ±1 std band: a difference smaller than the band is noise.",
        persist_state=form.PERSIST,
    )

raw = form.config_from_state(state)
base_cfg, base_problems = form.check(raw)
gpu = resources.has_gpu()
advice = plan.advice(base_cfg, gpu=gpu) if base_cfg else []
notes = FieldNotes(base_problems, advice)

planned: list[plan.PlannedRun] = []
plan_problems: list[tuple[str, str]] = []
tags: list[str] = []
preset = None

if mode == MODES[1]:
    with st.container(border=True):
        knob_ids = [k for k in plan.KNOBS if not (k == "loss" and task.multi_output)]
        kc1, kc2 = st.columns([1, 3])
        with kc1:
            state.setdefault("setup_knob", "optimizer")
            knob_id = st.selectbox(
                "Knob",
                knob_ids,
                key="setup_knob",
                format_func=lambda k: plan.KNOBS[k].title,
                help="One run per value; every other setting — the seed included — is equal, "
                "so any difference in the curves comes from this knob (or from noise: add "
                "seed repeats to see how much).",
                persist_state=form.PERSIST,
            )
        knob = plan.KNOBS[knob_id]
        vkey = f"setup_values_{knob_id.replace('.', '_')}"
        with kc2:
            if knob.kind == "choice":
                options = list(plan.choice_options(knob_id, raw)) if raw else []
                if vkey not in state:
                    state[vkey] = plan.default_choices(knob_id, raw)
                state[vkey] = [v for v in state[vkey] if v in options]
                values = st.multiselect(
                    "Values",
                    options,
                    key=vkey,
                    help=knob.help,
                    persist_state=form.PERSIST,
                )
            else:
                suggestions = [plan.fmt_value(v) for v in knob.suggest(raw)]
                if vkey not in state:
                    state[vkey] = suggestions[:3]
                options = list(dict.fromkeys([*suggestions, *state[vkey]]))
                values = st.multiselect(
                    "Values",
                    options,
                    key=vkey,
                    accept_new_options=True,
                    help=knob.help + " Type any value and press Enter to add it.",
                    persist_state=form.PERSIST,
                )
        st.caption(knob.help)
        parsed = []
        for v in values:
            if knob.kind == "choice":
                parsed.append(v)
                continue
            try:
                parsed.append(plan.parse_value(v, knob.kind))
            except ValueError as e:
                plan_problems.append((f"values · {knob.title}", str(e)))
        parsed = list(dict.fromkeys(parsed))
        if len(parsed) < 2:
            st.info("Give at least two values to compare.", icon=":material/info:")
        if raw and not plan_problems:
            planned = plan.expand_knob(raw, knob_id, parsed)
        tags = [f"knob:{knob_id}"]
elif mode == MODES[2]:
    with st.container(border=True):
        preset_ids = list(PRESETS)
        state.setdefault("setup_preset", preset_ids[0])
        preset_id = st.radio(
            "Documented comparison",
            preset_ids,
            key="setup_preset",
            format_func=lambda p: PRESETS[p].title,
            horizontal=True,
            persist_state=form.PERSIST,
        )
        preset = PRESETS[preset_id]
        st.caption(f"Source: {preset.source}")
        st.info(f"**What to look for.** {preset.look_for}", icon=":material/visibility:")
        st.button(
            "Open the first run in the form to edit it",
            icon=":material/edit:",
            on_click=_open_preset_in_form,
            args=(preset_id,),
            key="setup_preset_edit",
        )
        planned = [
            plan.PlannedRun(n, dict(c), n)
            for n, c in zip(preset.names, preset.configs, strict=True)
        ]
        tags = [f"preset:{preset_id}"]
else:
    if raw:
        opt = ident(raw.get("optimizer"))
        planned = [plan.PlannedRun(f"{task.id} · {opt} · lr {raw.get('learning_rate'):g}", raw)]

# ----------------------------------------------------------------------------- the form

TABS = {
    "Optimizer & schedule": (
        "optimizer",
        "learning_rate",
        "schedule",
        "batch_size",
        "grad_accum_steps",
        "epochs",
        "clipping",
    ),
    "Data & model": ("data", "model", "validation_split", "seed"),
    "Loss & metrics": ("loss", "metrics", "loss_weights"),
    "Callbacks": ("callbacks",),
    "Precision & compile": ("precision", "jit_compile", "run_eagerly"),
}


def _tab_label(name: str, prefixes) -> str:
    """A tab that hides a problem or a warning says so in its label."""
    errors = notes.count(prefixes)
    warnings = notes.count_advice(prefixes)
    if errors:
        return f"{name} · {errors} ✖"
    return f"{name} · {warnings} ⚠" if warnings else name


if mode != MODES[2]:
    st.markdown("#### Settings")
    if mode == MODES[1]:
        st.caption(
            "The base config: every run uses these settings except "
            f"**{plan.KNOBS[knob_id].title}**."
        )
    tabs = st.tabs([_tab_label(n, p) for n, p in TABS.items()], key="setup_tabs")
    with tabs[0]:
        form.section_optimizer(task, notes, lambda: lr_finder_view.lr_note(base_cfg, base_problems))
    with tabs[1]:
        c1, c2 = st.columns(2, gap="large")
        with c1:
            form.section_data(task, notes)
        with c2:
            form.section_model(task, notes)
    with tabs[2]:
        form.section_loss(task, notes)
    with tabs[3]:
        st.caption(
            "Callbacks act between epochs. Early stopping ends a run when the monitored value "
            "stops improving; reduce-LR-on-plateau multiplies the learning rate down."
        )
        form.section_callbacks(notes)
    with tabs[4]:
        form.section_precision(notes)

# ----------------------------------------------------------------------------- review

st.markdown("#### Review and launch")
planned = (
    plan.with_seeds(planned, int(repeats), int((raw or {}).get("seed") or 42)) if planned else []
)
configs, run_problems = plan.validate_plan(planned) if planned else ([], [])
if mode == MODES[2]:
    all_problems = plan_problems + run_problems
else:
    all_problems = notes.rest() + plan_problems + (run_problems if not base_problems else [])
if base_problems and mode != MODES[2]:
    # Repeat every problem here: its field may sit on a tab that is not open.
    st.error(
        f"{len(base_problems)} setting(s) need fixing before launch (each is also marked under "
        "its field):",
        icon=":material/error:",
    )
    problem_list([p for p in base_problems if p not in all_problems])
problem_list(all_problems)

# Every warning once more before the button, for the same reason; knob values and
# presets can add their own (a learning rate of 1.0 in a learning-rate comparison).
review_advice = list(advice) if mode != MODES[2] else []
seen = {a.message for a in review_advice}
if mode != MODES[0]:
    for p, cfg in zip(planned, configs, strict=False):
        for a in plan.advice(cfg, gpu=gpu):
            if a.message not in seen:
                seen.add(a.message)
                review_advice.append(plan.Advice(f"{p.name} → {a.field}", a.level, a.message))
for a in sorted(review_advice, key=lambda a: a.level != "warning"):
    (st.warning if a.level == "warning" else st.info)(
        f"**{a.field}** — {a.message}",
        icon=":material/warning:" if a.level == "warning" else ":material/lightbulb:",
    )

ok = bool(configs) and not all_problems and (not base_problems or mode == MODES[2])
if mode == MODES[1]:
    ok = ok and len({p.label for p in planned}) >= 2

colors = run_colors(p.name.split(" · seed ")[0] for p in planned)
if configs:
    # One column per top-level setting that differs; objects are summarised by name
    # (the Run column already says "sgd · momentum 0.9").
    top = list(dict.fromkeys(k.split(".")[0] for k in differing_keys(configs)))
    rows = []
    shapes = [shape_of(c) for c in configs]
    for p, cfg, shape in zip(planned, configs, shapes, strict=False):
        row = {"Run": p.name}
        for k in top[:6]:
            row[k] = summary(cfg[k])
        row["Epochs"] = cfg["epochs"]
        row["Updates/epoch"] = round(shape.updates_per_epoch, 2)
        row["Updates"] = shape.total_updates
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="setup_plan_table")
    totals = sorted({s.total_updates for s in shapes})
    each = (
        f"{totals[0]:,} updates each"
        if len(totals) == 1
        else f"{totals[0]:,}–{totals[-1]:,} updates per run"
    )
    st.caption(
        f"{len(configs)} run{'s' if len(configs) != 1 else ''} · {each} · task "
        f"{configs[0]['task']}" + (f" · differing in: {', '.join(top)}" if top else "")
    )

# ----------------------------------------------------------------------------- LR preview

if configs:
    preview_view.render(planned, configs, colors)

# ----------------------------------------------------------------------------- launch


def _launch() -> None:
    sweep_id = "sw-" + uuid.uuid4().hex[:10]
    names = [p.name for p in planned]
    run_tags = tags + (["seeds"] if repeats > 1 else [])
    try:
        ids = resources.submit(configs, names=names, sweep_id=sweep_id, tags=run_tags)
    except Exception as e:  # ConfigError from the pool's own validation, store errors
        state["setup_launch_error"] = getattr(e, "problems", None) or [("launch", str(e))]
        return
    state["setup_launch_error"] = None
    state["compare_ids"] = ids
    state["compare_sweep"] = sweep_id
    state["compare_tabs"] = preset.tab if preset else "Loss"  # open the lesson's chart
    state["setup_launched"] = {"ids": ids, "sweep": sweep_id}


lc1, lc2, lc3 = st.columns([2, 1, 1], vertical_alignment="center")
with lc1:
    n = len(configs)
    clicked = st.button(
        f"Launch {n} run{'s' if n != 1 else ''}" if n else "Launch",
        type="primary",
        icon=":material/rocket_launch:",
        disabled=not ok,
        key="setup_launch",
        on_click=_launch,
        width="stretch",
    )
if configs:
    first = configs[0]
    with lc2:
        st.download_button(
            "Config JSON",
            data=json.dumps(first, indent=2),
            file_name=f"hplab-{first['task']}.json",
            mime="application/json",
            icon=":material/data_object:",
            key="setup_export_json",
            width="stretch",
            on_click="ignore",
        )
    with lc3:
        script = resources.export_script_for(first)
        st.download_button(
            "Keras script",
            data=script or "",
            file_name=f"hplab_{first['task'].replace('-', '_')}.py",
            mime="text/x-python",
            icon=":material/code:",
            key="setup_export_script",
            disabled=script is None,
            width="stretch",
            on_click="ignore",
            help="A standalone Keras script that reproduces the first planned run.",
        )

if state.get("setup_launch_error"):
    st.error("The launch was refused; nothing was queued.", icon=":material/error:")
    problem_list(state["setup_launch_error"])
