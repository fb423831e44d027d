"""Set up runs › Settings: the form, generated from the registries, in five tabs.

Only the open tab's widgets are drawn (``st.tabs(on_change="rerun")``: switching tabs
reruns the page, and each tab's ``.open`` says which one to draw): a first page load
sends one tab's widgets, not every setting's. Nothing is lost by not drawing a tab:
every field keeps its value in session state (the form's keys are filled from the
task's defaults up front, and every widget is ``persist_state="session"``), and the
launch is built from that state (``ui.launch.build``), never from drawn widgets.

Tab labels never change (a changed label is a new tab to Streamlit, which would jump
back to the first one), so what each tab holds that needs a look — errors to fix,
warnings — is said in a caption above them, and each problem is drawn under its own
field (``ui.widgets.FieldNotes``).
"""

from __future__ import annotations

import streamlit as st

from engine.spec.tasks import Task
from ui import form, lr_finder_view, plan
from ui.launch import MODES, Launch
from ui.widgets import FieldNotes

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
TABS_KEY = "setup_tabs"  # session state holds the open tab's label


def settings(task: Task, notes: FieldNotes, L: Launch) -> None:
    """The base config's form (a documented comparison brings its own configs)."""
    if not L.uses_form:
        return
    st.markdown("#### Settings")
    flags = []
    for name, prefixes in TABS.items():
        errors, warns = notes.count(prefixes), notes.count_advice(prefixes)
        if errors or warns:
            bits = [f"{errors} to fix"] if errors else []
            bits += [f"{warns} warning{'s' if warns > 1 else ''}"] if warns else []
            flags.append(f"**{name}**: {', '.join(bits)}")
    if L.mode == MODES[1]:
        look = "  \nLook at " + "; ".join(flags) if flags else ""
        st.caption(
            "The base config: every run uses these settings except "
            f"**{plan.KNOBS[L.knob_id].title}**." + look
        )
    elif flags:
        st.caption("Look at " + "; ".join(flags))
    tabs = st.tabs(list(TABS), key=TABS_KEY, on_change="rerun")
    for tab, draw in zip(tabs, _SECTIONS, strict=True):
        if tab.open is not False:  # (None: a Streamlit that draws every tab)
            with tab:
                draw(task, notes, L)


def _optimizer(task: Task, notes: FieldNotes, L: Launch) -> None:  # noqa: ARG001
    form.section_optimizer(
        notes,
        lr_finder_view.lr_note,
        lambda: lr_finder_view.lr_finder(L.base_cfg, L.base_problems),
    )


def _data_model(task: Task, notes: FieldNotes, L: Launch) -> None:  # noqa: ARG001
    c1, c2 = st.columns(2, gap="large")
    with c1:
        form.section_data(task, notes)
    with c2:
        form.section_model(task, notes)


def _loss(task: Task, notes: FieldNotes, L: Launch) -> None:  # noqa: ARG001
    form.section_loss(task, notes)


def _callbacks(task: Task, notes: FieldNotes, L: Launch) -> None:  # noqa: ARG001
    st.caption(
        "Callbacks act between epochs. Early stopping ends a run when the monitored value "
        "stops improving; reduce-LR-on-plateau multiplies the learning rate down."
    )
    form.section_callbacks(notes)


def _precision(task: Task, notes: FieldNotes, L: Launch) -> None:  # noqa: ARG001
    form.section_precision(notes)


_SECTIONS = (_optimizer, _data_model, _loss, _callbacks, _precision)  # in TABS' order
