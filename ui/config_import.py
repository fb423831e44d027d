"""Set up runs › Import config: a JSON config uploaded or pasted into the form.

A lesson file (``ui.lessons``) imported here opens that lesson in Guided demos instead.

The text is only ever parsed as JSON (``ui.plan.parse_config_text``, the engine's
reader), never run; a file past the cap is named and refused before it is read. A
config that loads puts every field of the form to its values and switches to one run;
one that does not is listed field by field above the launch bar, and the form keeps
what it held.
"""

from __future__ import annotations

import streamlit as st

from engine import json_input
from engine.errors import ConfigError
from ui import demos, form, lesson_view, lessons, navigation, plan
from ui.launch import MODES
from ui.widgets import problem_list

state = st.session_state


def _is_lesson(data: bytes | str) -> bool:
    try:
        return lessons.is_lesson(json_input.loads(data, "file"))
    except ConfigError:
        return False  # the config reader names what is wrong with it


def open_lesson(data: bytes | str, source: str, filename: str) -> None:
    """A lesson file imported here opens that lesson in Guided demos (with its controls
    and its launch), for this session."""
    lesson, problems = lesson_view.open_lesson(state, data, filename, demos.DEMOS)
    state["setup_import_problems"] = problems
    state["setup_import_source"] = f"{source} (a lesson)"
    if lesson is not None:
        navigation.go_next(state, demos.PAGE, {"demo": lesson.id})


def load(data: bytes | str, source: str, filename: str = "pasted-lesson") -> None:
    if _is_lesson(data):
        open_lesson(data, source, filename)
        return
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


def on_upload() -> None:
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
    load(f.getvalue(), f.name, f.name)


def on_paste() -> None:
    load(state.get("setup_import_text", ""), "the pasted JSON")


def import_popover() -> None:
    """The popover's body: a file, or pasted text."""
    state.setdefault("setup_import_gen", 0)
    st.caption(
        "A JSON config, an HP Lab export or a lesson file (it opens in Guided demos); "
        "it is parsed as JSON only, never run, "
        f"capped at {plan.MAX_IMPORT_BYTES // 1_000_000} MB, and validated field by field."
    )
    st.file_uploader(
        "Config file",
        type=["json"],
        key=f"setup_import_file_{state['setup_import_gen']}",
        on_change=on_upload,
        max_upload_size=plan.UPLOAD_LIMIT_MB,
    )
    st.text_area("…or paste JSON", key="setup_import_text", height=120)
    st.button("Load pasted JSON", on_click=on_paste, key="setup_import_paste")


def import_problems() -> None:
    """What the last import refused, in a container that is always drawn, empty or not:
    whatever follows keeps its place in the page when it fills, so Streamlit never shows
    a stale copy of the launch bar."""
    import_box = st.container()
    if state.get("setup_import_problems"):
        import_box.error(
            f"Could not load the config from {state.get('setup_import_source', 'the import')}:",
            icon=":material/error:",
        )
        with import_box:
            problem_list(state["setup_import_problems"])
