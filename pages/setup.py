"""Set up runs: one run, one knob compared, or a documented comparison replayed.

The form is generated from the engine's registries; the launch it describes is built
from session state (``ui.launch``) *before* the widgets are drawn, so the launch bar
near the top already knows every run and every problem, each problem also appears
under its own field, and the Launch button is only live when every planned run is
valid. Clicking builds the launch again from the state at that moment and queues
exactly that, then opens the comparison.

The first load is quick because little is drawn and nothing heavy is imported before
the Launch button: only the open settings tab's widgets are drawn
(``ui.settings_view``), the review's table (pandas) comes after the launch bar, once
the server's warm-up has imported it (``ui.resources.warm_up``), and the Keras script
is built on demand.
"""

from __future__ import annotations

import streamlit as st

from engine.spec.sources import cite
from engine.spec.tasks import TASKS
from ui import (
    config_import,
    form,
    launch,
    launch_view,
    navigation,
    plan_view,
    resources,
    search_form,
    settings_view,
)
from ui.launch import MODES
from ui.shell import require_shell
from ui.widgets import FieldNotes, say

require_shell()
state = st.session_state
navigation.follow(state)  # Launch's callback queued the runs: open the comparison

form.ensure_state(state)
address_notices = navigation.setup_address(state)  # the address wins once, then the form


def _on_task_change() -> None:
    form.ensure_state(state, state[form.key("task")])


def _reset_defaults() -> None:
    form.ensure_state(state, state[form.key("task")])
    st.toast("Back to the article's defaults for this task.", icon=":material/restart_alt:")


# ----------------------------------------------------------------------------- header

navigation.header("Set up runs")
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
    config_import.import_popover()
config_import.import_problems()
navigation.show_notices(address_notices)

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
task_caption = tc1.empty()  # filled after the launch bar (ui.runs imports pandas)
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

# Each mode's own panel, under the selector (a new mode in ui.launch.MODES adds its
# panel here; "One run" has none: the settings below are the run). A search has its own
# plan and Launch; the settings below give its base.
MODE_PANELS = {
    MODES[1]: lambda: plan_view.knob_panel(task, L.raw),
    MODES[2]: plan_view.preset_panel,
    search_form.MODE: lambda: search_form.panel(state, L.raw, L.repeats),
}
if mode in MODE_PANELS:
    with st.container():
        MODE_PANELS[mode]()

notes = FieldNotes(L.base_problems if L.uses_form else [], L.advice if L.uses_form else [])

# ----------------------------------------------------------------------------- launch bar

if mode != search_form.MODE:
    launch_view.launch_bar(L, gpu=gpu)

# ----------------------------------------------------------------------------- the form

settings_view.settings(task, notes, L)

# ----------------------------------------------------------------------------- review

launch_view.review(L, gpu=gpu)

# ----------------------------------------------------------------------------- header, late

from ui.setting_text import ident, loss_label  # noqa: E402

task_caption.caption(
    f"From {cite(task.source)}: {ident(d['optimizer'])}, lr {d['learning_rate']:g}, "
    f"batch {d['batch_size']}, {d['epochs']} epochs, `{loss_label(d['loss'])}` loss, "
    f"{task.data['n_train']} examples"
    + (f" + {task.data['n_val']} validation" if task.has_own_validation else "")
    + ("  " + " ".join(badges) if badges else "")
)

# ----------------------------------------------------------------------------- LR preview

launch_view.preview(L)
