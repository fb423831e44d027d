"""Set up runs: one run, one knob compared, or a documented comparison replayed.

The form is generated from the engine's registries; the launch it describes is built
from session state (``ui.launch``) *before* the widgets are drawn, so the launch bar
near the top already knows every run and every problem, each problem also appears
under its own field, and the Launch button is only live when every planned run is
valid. Clicking builds the launch again from the state at that moment and queues
exactly that, then opens the comparison.
"""

from __future__ import annotations

import uuid

import streamlit as st

from engine.spec.optimizers import OPTIMIZERS
from engine.spec.sources import cite
from engine.spec.tasks import TASKS
from ui import form, launch, launch_view, lr_finder_view, plan, preview_view, resources
from ui.launch import MODES
from ui.palette import run_colors
from ui.presets import PRESETS
from ui.runs import ident, loss_label
from ui.shell import require_shell
from ui.widgets import FieldNotes, problem_list, say

require_shell()
state = st.session_state

if state.get("setup_launched"):  # set by the launch button's callback: open the comparison
    launched = state.pop("setup_launched")
    st.switch_page("pages/compare.py", query_params={"sweep": launched["sweep"]})

form.ensure_state(state)
state.setdefault("setup_import_gen", 0)


# ----------------------------------------------------------------------------- callbacks


def _on_task_change() -> None:
    form.ensure_state(state, state[form.key("task")])


def _reset_defaults() -> None:
    form.ensure_state(state, state[form.key("task")])
    st.toast("Back to the article's defaults for this task.", icon=":material/restart_alt:")


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
    f = state.get(f"setup_import_file_{state['setup_import_gen']}")
    # A new uploader next run: the file (taken or refused) is not left listed.
    state["setup_import_gen"] += 1
    if f is None:
        return
    if f.size > plan.MAX_IMPORT_BYTES:
        state["setup_import_problems"] = [
            (
                "file",
                f"{f.name} is {f.size / 1e6:.1f} MB; a config import is at most "
                f"{plan.MAX_IMPORT_BYTES / 1e6:g} MB. Nothing was loaded.",
            )
        ]
        state["setup_import_source"] = f.name
        return
    _import(f.getvalue(), f.name)


def _on_paste() -> None:
    _import(state.get("setup_import_text", ""), "the pasted JSON")


def _open_preset_in_form(preset_id: str) -> None:
    p = PRESETS[preset_id]
    form.load_raw(state, p.configs[0])
    state["setup_mode"] = MODES[0]
    st.toast(f"Loaded “{p.names[0]}” into the form.", icon=":material/edit:")


def _launch() -> None:
    # Built again from the widgets' state as it is at the click: exactly what is shown.
    now = launch.build(state, gpu=resources.has_gpu())
    if not now.ok:
        state["setup_launch_error"] = now.all_problems or [("launch", now.hint)]
        return
    sweep_id = "sw-" + uuid.uuid4().hex[:10]
    run_tags = now.tags + (["seeds"] if now.repeats > 1 else [])
    try:
        taken = [r["name"] for r in resources.store().list_runs()]
        names = plan.unique_names([r.name for r in now.runs], taken)
        ids = resources.submit(now.configs, names=names, sweep_id=sweep_id, tags=run_tags)
    except Exception as e:  # ConfigError from the pool's own validation, store errors
        state["setup_launch_error"] = getattr(e, "problems", None) or [("launch", str(e))]
        return
    state["setup_launch_error"] = None
    state["compare_ids"] = ids
    state["compare_sweep"] = sweep_id
    state["compare_tabs"] = now.preset.tab if now.preset else "Loss"  # the lesson's chart
    state["setup_launched"] = {"ids": ids, "sweep": sweep_id}


# ----------------------------------------------------------------------------- header

st.title("Set up runs")
st.caption(
    "Pick a task, change any setting (each starts at the source article's), then launch: "
    "runs open live in **Watch & compare**."
)

task_ids = list(TASKS)
top = st.columns([3, 1.3, 1.2], vertical_alignment="bottom")
with top[0]:
    task_id = st.selectbox(
        "Task",
        task_ids,
        key=form.key("task"),
        format_func=lambda t: f"{TASKS[t].title}  ·  {t}",
        on_change=_on_task_change,
        help="The synthetic datasets and models of the source articles. Switching task "
        "loads that article's settings into every field.",
        persist_state=form.PERSIST,
    )
with top[1]:
    st.button(
        "Article defaults",
        icon=":material/restart_alt:",
        on_click=_reset_defaults,
        width="stretch",
        help="Put every field back to this task's settings in the source article.",
    )
with top[2], st.popover("Import config", icon=":material/upload_file:", width="stretch"):
    st.caption(
        "A JSON config (or an HP Lab export); it is parsed as JSON only, never run, "
        f"capped at {plan.MAX_IMPORT_BYTES // 1_000_000} MB, and validated field by field."
    )
    st.file_uploader(
        "Config file",
        type=["json"],
        key=f"setup_import_file_{state['setup_import_gen']}",
        on_change=_on_upload,
        max_upload_size=plan.UPLOAD_LIMIT_MB,
    )
    st.text_area("…or paste JSON", key="setup_import_text", height=120)
    st.button("Load pasted JSON", on_click=_on_paste, key="setup_import_paste")

# Containers that are always drawn, empty or not: whatever follows keeps its place in
# the page when they fill, so Streamlit never shows a stale copy of the launch bar.
import_box = st.container()
if state.get("setup_import_problems"):
    import_box.error(
        f"Could not load the config from {state.get('setup_import_source', 'the import')}:",
        icon=":material/error:",
    )
    with import_box:
        problem_list(state["setup_import_problems"])

task = TASKS[task_id]
d = task.defaults
badges = []
if task.random_targets_by_default:
    badges.append(":orange-badge[random targets: an overfitting demo]")
if task.has_own_validation:
    badges.append(":blue-badge[own validation set]")
if task.multi_output:
    badges.append(":violet-badge[multi-output]")
tc1, tc2 = st.columns([5, 1], vertical_alignment="center")
with tc1:
    st.caption(
        f"From {cite(task.source)}: {ident(d['optimizer'])}, lr {d['learning_rate']:g}, "
        f"batch {d['batch_size']}, {d['epochs']} epochs, `{loss_label(d['loss'])}` loss, "
        f"{task.data['n_train']} examples"
        + (f" + {task.data['n_val']} validation" if task.has_own_validation else "")
        + ("  " + " ".join(badges) if badges else "")
    )
with tc2, st.popover("About the task", width="stretch"):
    st.write(task.description)

# ----------------------------------------------------------------------------- plan mode

gpu = resources.has_gpu()
L = launch.build(state, gpu=gpu)  # reads state only: the widgets below show the same values
mc1, mc2 = st.columns([3, 1], vertical_alignment="bottom")
with mc1:
    mode = st.segmented_control(
        "What to launch",
        MODES,
        key="setup_mode",
        default=MODES[0],
        required=True,
        persist_state=form.PERSIST,
    )
with mc2:
    state.setdefault("setup_repeats", 1)
    st.number_input(
        launch.REPEATS.label,
        **form.number_args(launch.REPEATS, state.get("setup_repeats")),
        key="setup_repeats",
        help=launch.REPEATS.help + f" Allowed: {launch.REPEATS.describe_range()}.",
        persist_state=form.PERSIST,
    )
    for f, m in L.problems:
        if f == launch.REPEATS_FIELD:
            st.error(f"**{f}**: {say(m)}", icon=":material/error:")

raw = L.raw
mode_box = st.container()
if mode == MODES[1]:
    with mode_box, st.container(border=True):
        kc1, kc2 = st.columns([1, 3])
        with kc1:
            state.setdefault("setup_knob", "optimizer")
            knob_id = st.selectbox(
                "Setting to compare",
                launch.knob_ids(task.id),
                key="setup_knob",
                format_func=lambda k: plan.KNOBS[k].title,
                help="One run per value; every other setting — the seed included — is equal, "
                "so any difference in the curves comes from this setting (or from noise: add "
                "seed repeats to see how much).",
                persist_state=form.PERSIST,
            )
        knob = plan.KNOBS[knob_id]
        vkey = launch.values_key(knob_id)
        with kc2:
            if knob.kind == "choice":
                options = list(plan.choice_options(knob_id, raw))
                state[vkey] = launch.knob_values(state, raw, knob_id)
                st.multiselect(
                    "Values", options, key=vkey, help=knob.help, persist_state=form.PERSIST
                )
            else:
                suggestions = [plan.fmt_value(v) for v in knob.suggest(raw)]
                state.setdefault(vkey, suggestions[:3])
                st.multiselect(
                    "Values",
                    list(dict.fromkeys([*suggestions, *state[vkey]])),
                    key=vkey,
                    accept_new_options=True,
                    help=knob.help + " Type any value and press Enter to add it.",
                    persist_state=form.PERSIST,
                )
        if knob_id == "optimizer":
            oc1, oc2 = st.columns([2, 3], vertical_alignment="center")
            with oc1:
                usual = st.toggle(
                    "Each at its usual learning rate",
                    value=True,
                    key="setup_usual_lr",
                    help="Off: every optimizer uses the form's learning rate, so SGD runs at "
                    "Adam's 0.001 and crawls, which says nothing about SGD. " + knob.help,
                    persist_state=form.PERSIST,
                )
            with oc2:
                rates = ", ".join(
                    f"{e.title} {e.fixed['usual_lr']:g}"
                    for e in OPTIMIZERS
                    if "usual_lr" in e.fixed
                )
                st.caption(
                    f"Usual rates: {rates}."
                    if usual
                    else f"All at the form's learning rate, {raw.get('learning_rate')}."
                )
        else:
            st.caption(knob.help)
elif mode == MODES[2]:
    with mode_box, st.container(border=True):
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
        st.caption(f"From {cite(PRESETS[preset_id].source)}")
        st.info(
            f"**What to look for.** {PRESETS[preset_id].look_for}", icon=":material/visibility:"
        )
        st.button(
            "Open the first run in the form to edit it",
            icon=":material/edit:",
            on_click=_open_preset_in_form,
            args=(preset_id,),
            key="setup_preset_edit",
        )

notes = FieldNotes(L.base_problems if L.uses_form else [], L.advice if L.uses_form else [])

# ----------------------------------------------------------------------------- launch bar

launch_view.launch_bar(L, gpu=gpu, on_launch=_launch)

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

if L.uses_form:
    st.markdown("#### Settings")
    # Tab labels never change (a changed label is a new tab to Streamlit, which would
    # jump back to the first one): what each tab holds that needs a look is said here.
    flags = []
    for name, prefixes in TABS.items():
        errors, warns = notes.count(prefixes), notes.count_advice(prefixes)
        if errors or warns:
            bits = [f"{errors} to fix"] if errors else []
            bits += [f"{warns} warning{'s' if warns > 1 else ''}"] if warns else []
            flags.append(f"**{name}**: {', '.join(bits)}")
    if mode == MODES[1]:
        look = "  \nLook at " + "; ".join(flags) if flags else ""
        st.caption(
            "The base config: every run uses these settings except "
            f"**{plan.KNOBS[L.knob_id].title}**." + look
        )
    elif flags:
        st.caption("Look at " + "; ".join(flags))
    tabs = st.tabs(list(TABS), key="setup_tabs")
    with tabs[0]:
        form.section_optimizer(
            task,
            notes,
            lr_finder_view.lr_note,
            lambda: lr_finder_view.lr_finder(L.base_cfg, L.base_problems),
        )
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

launch_view.review(L, gpu=gpu)

# ----------------------------------------------------------------------------- LR preview

if L.valid:
    planned, configs = [p for p, _ in L.valid], [c for _, c in L.valid]
    colors = run_colors(p.name.split(" · seed ")[0] for p in planned)
    preview_view.render(planned, configs, colors)
