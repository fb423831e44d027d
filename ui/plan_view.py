"""Set up runs › what to launch besides one run: one knob compared over values, or a
documented comparison replayed.

The knob's values are widgets of their own (``setup_values_<knob>``): choices are
labelled config values built around the form (so the current optimizer keeps its
settings), numbers are chips a person types, parsed by ``ui.launch`` with a named
error. Comparing optimizers runs each at its usual learning rate unless turned off.
"""

from __future__ import annotations

import streamlit as st

from engine.spec.optimizers import OPTIMIZERS
from engine.spec.sources import cite
from engine.spec.tasks import Task
from ui import form, launch, plan
from ui.launch import MODES
from ui.presets import PRESETS

state = st.session_state


def knob_panel(task: Task, raw: dict) -> None:
    """The setting to compare and its values, in a bordered box."""
    with st.container(border=True):
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


def open_preset_in_form(preset_id: str) -> None:
    p = PRESETS[preset_id]
    form.load_raw(state, p.configs[0])
    state["setup_mode"] = MODES[0]
    st.toast(f"Loaded “{p.names[0]}” into the form.", icon=":material/edit:")


def preset_panel() -> None:
    """A documented comparison: which one, its source, what to look for."""
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
        st.caption(f"From {cite(PRESETS[preset_id].source)}")
        st.info(
            f"**What to look for.** {PRESETS[preset_id].look_for}", icon=":material/visibility:"
        )
        st.button(
            "Open the first run in the form to edit it",
            icon=":material/edit:",
            on_click=open_preset_in_form,
            args=(preset_id,),
            key="setup_preset_edit",
        )
