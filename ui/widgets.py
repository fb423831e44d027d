"""Small Streamlit pieces several pages share, so they look and behave the same."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import streamlit as st

from ui import literal
from ui.palette import STATUS_COLORS, STATUS_ICONS
from ui.plan import Advice


def choice(
    dg: Any,
    label: str,
    options: Sequence[Hashable],
    *,
    key: str,
    format_func: Callable[[Any], str],
    **kw: Any,
) -> Any:
    """A selectbox for a choice the page keeps in ``session_state[key]`` (set it first).

    Why the widget does not hold the choice itself: the browser keeps a selectbox's
    value as the *label* it showed, so once that label changes (a run renamed or
    finished, a study that gained a trial) it names no option and comes back as raw
    text, and the page fell back to another run; and a value given to a keyed widget
    through session state can be forgotten by the browser, which then reports the
    first option (Run detail jumped to the newest run, so Delete asked about another).
    Here the widget is drawn afresh whenever the choice or its label changes, with the
    choice as its default, so whatever the browser forgets falls back to the choice.
    """
    state = st.session_state
    options = list(options)
    current = state[key]
    shown = f"{current}\0{format_func(current)}".encode()
    widget = f"{key}__{zlib.crc32(shown):08x}"

    def picked() -> None:
        if (value := state.get(widget)) in options:
            state[key] = value

    return dg.selectbox(
        label,
        options,
        index=options.index(current),
        key=widget,
        format_func=format_func,
        on_change=picked,
        **kw,
    )


def status_badge(status: str) -> None:
    st.badge(status, icon=STATUS_ICONS.get(status), color=STATUS_COLORS.get(status, "gray"))


def status_text(status: str) -> str:
    """Inline status for markdown: ``:green-badge[completed]``."""
    return f":{STATUS_COLORS.get(status, 'gray')}-badge[{status}]"


def color_dot(color: str) -> str:
    return (
        f'<span style="display:inline-block;width:0.8em;height:0.8em;border-radius:50%;'
        f'background:{color};margin-right:0.4em;vertical-align:middle"></span>'
    )


def plain(field: str) -> str:
    """A problem's field as the form knows it: ``metrics[1].k`` → ``metrics.k`` style keys
    collapse to the widget they belong to (``metrics``), ``optimizer.name`` → ``optimizer``."""
    f = re.sub(r"\[\d+\]", "", field)
    if f.endswith(".name"):
        f = f[: -len(".name")]
    return f


def escape_md(text: str) -> str:
    """Text shown literally inside a line of Streamlit markdown: no links, images,
    emphasis, HTML, LaTeX or ``:directives:``. One home for this: ``ui.literal.md``."""
    return literal.md(text)


def say(message: str) -> str:
    """The validator's words for a form: an emptied field is "empty", not JSON's null."""
    if message == "must not be null":
        return "is empty: type a value"
    return escape_md(message)


class FieldNotes:
    """Problems and advice keyed by field, drawn under the widget that owns the field.

    Whatever no widget claimed is listed by ``rest()`` so nothing is ever hidden.
    """

    def __init__(self, problems: Iterable[tuple[str, str]], advice: Iterable[Advice] = ()):
        self.problems = [(plain(f), f, m) for f, m in problems]
        self.advice = [(plain(a.field), a) for a in advice]
        self.shown: set[int] = set()
        self.shown_advice: set[int] = set()

    def __call__(self, field: str) -> None:
        for i, (key, full, msg) in enumerate(self.problems):
            if key == field and i not in self.shown:
                self.shown.add(i)
                st.error(f"**{full}**: {say(msg)}", icon=":material/error:")
        for i, (key, a) in enumerate(self.advice):
            if key == field and i not in self.shown_advice:
                self.shown_advice.add(i)
                if a.level == "warning":
                    st.warning(a.message, icon=":material/warning:")
                else:
                    st.info(a.message, icon=":material/lightbulb:")

    def count(self, prefixes: Iterable[str]) -> int:
        pre = tuple(prefixes)
        return sum(1 for key, _, _ in self.problems if key.startswith(pre))

    def count_advice(self, prefixes: Iterable[str], level: str = "warning") -> int:
        pre = tuple(prefixes)
        return sum(1 for key, a in self.advice if key.startswith(pre) and a.level == level)

    def rest(self) -> list[tuple[str, str]]:
        return [
            (full, msg) for i, (_, full, msg) in enumerate(self.problems) if i not in self.shown
        ]


def problem_list(problems: Iterable[tuple[str, str]]) -> None:
    items = list(problems)
    if not items:
        return
    st.error(
        "\n".join(f"- **{f}**: {say(m)}" if f else f"- {say(m)}" for f, m in items),
        icon=":material/error:",
    )
