"""Guided demos › a lesson's controls and its import: what students may change, drawn.

The controls (``ui.lesson_controls``) are drawn with the widgets the setup form uses
for the same ``Param``s (``ui.form.number_args``: what is typed reaches the validator
as typed). A ``locked`` control is drawn disabled with a lock note, a ``hidden`` one
not at all, until the teacher turns on "Unlock controls". Each problem is shown under
the field it belongs to, and Launch stays disabled while there is one.

A lesson file can also be imported here (or in Set up runs › Import config): it is
read like a shipped one and opened for this session.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import streamlit as st

from engine.errors import ConfigError
from engine.spec.params import Param
from ui import form, lesson_controls, lessons, literal, plan, presentation
from ui.lesson_controls import Control, Edited
from ui.lessons import Lesson
from ui.widgets import problem_list, say

state = st.session_state

UNLOCK = "demos_unlock"
UPLOADED = "demos_uploaded"  # {lesson id: Lesson} imported this session
LOCK_NOTE = ":material/lock: Locked by the lesson"


def key(lesson: Lesson, c: Control, run: int | None = None) -> str:
    base = f"lesson_{lesson.id}_{c.path.replace('.', '__')}"  # a dot would break CSS
    return base if run is None else f"{base}_{run}"


def _keys(lesson: Lesson, c: Control) -> list[tuple[str, int | None]]:
    if c.per_run:
        return [(key(lesson, c, i), i) for i in range(len(c.values))]
    return [(key(lesson, c), None)]


def current(lesson: Lesson, canonical: list[dict]) -> tuple[list[Control], Edited]:
    """The lesson's controls and the runs their values describe now (from the session;
    a control never drawn holds the lesson's value)."""
    ctrls = lesson_controls.controls(lesson, canonical)
    values = {}
    for c in ctrls:
        got = [state.get(k, c.values[i or 0]) for k, i in _keys(lesson, c)]
        values[c.path] = got if c.per_run else got * len(c.values)
    return ctrls, lesson_controls.edited(lesson, ctrls, values)


def reset(lesson: Lesson, canonical: list[dict]) -> None:
    """Every control back to the lesson's value."""
    for c in lesson_controls.controls(lesson, canonical):
        for k, i in _keys(lesson, c):
            state[k] = c.values[i or 0]


def _widget(p: Param, k: str, label: str, value: Any, disabled: bool) -> None:
    """A lesson control: the setup form's widget for its Param, starting at the
    lesson's value, labelled as the lesson names it."""
    if k not in state:
        state[k] = value
    form.param_widget(p, k, label, disabled=disabled, as_written=True, persist=False)


def _problems_here(problems: list[tuple[str, str]]) -> None:
    for f, m in problems:
        st.error(f"**{literal.md(f)}**: {say(m)}", icon=":material/error:")


def panel(lesson: Lesson, canonical: list[dict]) -> Edited:
    """Draw the lesson's controls; the runs they describe now."""
    ctrls, ed = current(lesson, canonical)
    with (
        presentation.folding("Change the lesson's settings"),
        st.container(border=True, key="demos_controls"),
    ):
        head = st.columns([3, 2], vertical_alignment="center")
        head[0].markdown("**Change the lesson's settings** and launch your own variant")
        unlocked = head[1].toggle(
            "Unlock controls",
            key=UNLOCK,
            help="For the teacher: enables the settings the lesson locks and shows the "
            "ones it hides.",
        )
        shown = [c for c in ctrls if unlocked or c.access != "hidden"]
        if not shown:
            st.caption("This lesson has no settings to change.")
        for c in (c for c in shown if c.per_run):
            disabled = c.access == "locked" and not unlocked
            st.markdown(f"**{literal.md(c.label)}**, one per run")
            cols = st.columns(min(4, len(c.values)), vertical_alignment="bottom")
            for (k, i), run in zip(_keys(lesson, c), lesson.runs, strict=True):
                with cols[i % len(cols)]:
                    _widget(c.param, k, literal.md(run.name), c.values[i], disabled)
            # Under the row, each named by its run: a narrow column would break the words.
            for i, run in enumerate(lesson.runs):
                here = ed.problems.get((c.path, i), [])
                _problems_here([(f"{run.name} → {f}", m) for f, m in here])
            if disabled:
                st.caption(LOCK_NOTE)
        shared = [c for c in shown if not c.per_run]
        for row in range(0, len(shared), 3):
            cols = st.columns(3)
            for col, c in zip(cols, shared[row : row + 3], strict=False):
                disabled = c.access == "locked" and not unlocked
                with col:
                    ((k, _),) = _keys(lesson, c)
                    _widget(c.param, k, literal.md(c.label), c.values[0], disabled)
                    _problems_here(ed.problems.get((c.path, None), []))
                    if disabled:
                        st.caption(LOCK_NOTE)
        hidden = sum(c.access == "hidden" for c in ctrls)
        if hidden and not unlocked:
            st.caption(f"{hidden} more setting{'s' if hidden != 1 else ''} hidden by the lesson.")
        if any(ed.changed):
            st.button(
                "Back to the lesson's settings",
                icon=":material/undo:",
                key=f"demos_reset_{lesson.id}",
                on_click=reset,
                args=(lesson, canonical),
            )
            st.caption(
                "Runs you changed are named “… · edited”: the lesson's predictions are for "
                "its own settings, so they carry none."
            )
        rest = ed.problems.get((None, None), [])
        problem_list([(literal.md(f), m) for f, m in rest])
    return ed


# ----------------------------------------------------------------------------- import


def uploaded() -> dict[str, Lesson]:
    return state.setdefault(UPLOADED, {})


def open_lesson(
    session: MutableMapping, data: bytes | str, filename: str, shipped: Mapping[str, Any]
) -> tuple[Lesson | None, list[tuple[str, str]]]:
    """Read an imported lesson and keep it for this session under an id no shipped
    lesson has; ``(lesson, [])`` or ``(None, problems)``."""
    lesson_id = lessons.id_for(filename)
    if lesson_id in shipped:
        lesson_id = f"{lesson_id}-imported"[:64]
    try:
        lesson = lessons.loads(data, lesson_id)
    except ConfigError as e:
        return None, e.problems
    session.setdefault(UPLOADED, {})[lesson.id] = lesson
    session["demos_pick"] = lesson.id
    return lesson, []


def _on_upload(shipped: Mapping[str, Any]) -> None:
    gen = state.get("demos_import_gen", 0)
    f = state.get(f"demos_import_file_{gen}")
    state["demos_import_gen"] = gen + 1
    if f is None:
        return
    state["demos_import_source"] = f.name
    if f.size > plan.MAX_IMPORT_BYTES:
        state["demos_import_problems"] = [
            (
                "file",
                f"{f.size / 1e6:.1f} MB; a lesson is at most {plan.MAX_IMPORT_BYTES / 1e6:g} MB",
            )
        ]
        return
    lesson, problems = open_lesson(state, f.getvalue(), f.name, shipped)
    state["demos_import_problems"] = problems
    if lesson is not None:
        st.toast(f"Opened the lesson {literal.md(lesson.title)}.", icon=":material/school:")


def import_popover(shipped: Mapping[str, Any]) -> None:
    """Guided demos › Import a lesson: a lesson file, opened for this session."""
    gen = state.setdefault("demos_import_gen", 0)
    with st.popover("Import a lesson", icon=":material/upload_file:"):
        st.caption(
            "A lesson JSON file (see README › Lessons); it is parsed as JSON only, never "
            "run, and checked field by field. It stays for this browser session; to share "
            "it with every visitor, put it in the lessons/ folder."
        )
        st.file_uploader(
            "Lesson file",
            type=["json"],
            key=f"demos_import_file_{gen}",
            on_change=_on_upload,
            args=(shipped,),
            max_upload_size=plan.UPLOAD_LIMIT_MB,
        )


def import_problems() -> None:
    box = st.container()
    if state.get("demos_import_problems"):
        source = literal.md(state.get("demos_import_source", "the file"))
        box.error(f"Could not open the lesson in {source}:", icon=":material/error:")
        with box:
            problem_list([(literal.md(f), m) for f, m in state["demos_import_problems"]])
