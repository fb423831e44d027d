"""Presentation mode: the dashboard legible on a 1280×720 projector from the back of a room.

One home for the mode: the session's flag (``on``), the sidebar toggle, the page CSS
(bigger type; labels wrap instead of being cut), the Plotly styling every chart gets
(thick lines, big fonts and markers), ``placed``, which puts a page's charts first and
its controls after them, folded, and ``folding``, which folds controls in place. Every
chart a page draws goes through ``plotly_chart`` — the one hook, so no figure is styled
by hand and none is missed (``tests/ui/test_ui_presentation.py`` checks no other module
calls ``st.plotly_chart``).

The flag lives in the session (``st.session_state``), never in a module global or a
Plotly default template, so one projector's session cannot restyle another person's
dashboard. The address (``?present=1``) turns it on and follows it: that part is
``ui.navigation.present_address``, the only reader of the address.

Nothing here imports Plotly at module level: the setup page imports this module before
its Launch button has run, and Plotly costs a second there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import streamlit as st

FLAG = "present_on"  # the session's mode: True while presenting
TOGGLE = "present_toggle"  # the sidebar toggle's key (a widget's key is dropped off-page)

# What "legible from the back of a room" means in numbers.
LINE_WIDTH = 4.0  # px, the least a drawn curve gets
FONT = 18  # px: ticks, legend, hover, annotations
AXIS_TITLE = 20
TITLE = 24
MARKER = 10  # px, the least a marker gets

# Bigger type everywhere (Streamlit sizes in rem, so the root size scales it all), labels
# that wrap rather than end in "…", the headings a little tighter so the charts still
# start on the first screen, and the top bar's page names on one line.
CSS = """<style>
html{font-size:20px}
[data-testid='stMainBlockContainer']{padding-top:3.6rem}
[data-testid='stMain'] h1{font-size:2.2rem;padding-bottom:.3rem}
[data-testid='stMain'] h2{font-size:1.7rem}
[data-testid='stMain'] h3,[data-testid='stMain'] h4{font-size:1.35rem}
[data-testid='stWidgetLabel'] p,[data-testid='stMarkdownContainer'] p,
[data-testid='stCaptionContainer'],[data-testid='stMetricLabel'] p,
[data-testid='stExpander'] summary p,button[role='tab'] p,
[data-testid='stTable'] th,[data-testid='stTable'] td{
  white-space:normal!important;overflow:visible!important;text-overflow:clip!important}
[data-testid='stWidgetLabel'],[data-testid='stMetricLabel']{overflow:visible!important}
[data-testid='stTable']{font-size:1rem}
[data-testid='stCaptionContainer']{font-size:.85rem}
[data-testid='stSliderThumbValue']{white-space:nowrap}
</style>"""


def on(state: MutableMapping | None = None) -> bool:
    """Whether this session presents."""
    return bool((st.session_state if state is None else state).get(FLAG))


def set_on(state: MutableMapping, value: bool) -> None:
    state[FLAG] = bool(value)


def css() -> str:
    """The page CSS the mode adds (``ui.shell.frame`` writes it)."""
    return CSS if on() else ""


def sidebar_state() -> str:
    """``st.set_page_config``'s sidebar: collapsed while presenting. The browser follows
    a change of it at once, unless the person has opened or closed the sidebar by hand
    in this browser (Streamlit then keeps their choice)."""
    return "collapsed" if on() else "expanded"


def toggle(where: Any = st) -> None:
    """The sidebar switch. Its callback sets the flag; the page's next run puts
    ``present=1`` in the address (or takes it out)."""
    state = st.session_state
    state[TOGGLE] = on(state)
    where.toggle(
        "Presentation mode",
        key=TOGGLE,
        on_change=lambda: set_on(state, state[TOGGLE]),
        help="Large type, thick lines, charts first and controls folded away: legible on "
        "a projector. The address gains present=1, so a link you share opens the same way.",
    )


@contextlib.contextmanager
def folding(label: str) -> Iterator[None]:
    """Controls that stay where they are but fold into a closed expander named ``label``
    while presenting (a lesson's settings: the lesson's text stays in view)."""
    if not on():
        yield
        return
    with st.expander(label, icon=":material/tune:"):
        yield


def placed(label: str | None) -> tuple[Any, Any]:
    """``(charts, controls)``: two places on the page, the controls above the charts
    normally; while presenting the charts come first and the controls follow them,
    folded in a closed expander named ``label`` (None: not folded, for controls that
    hold an expander themselves — Streamlit does not nest them). Draw into each with
    ``with``, in whatever order the values need (the controls first, usually)."""
    first, second = st.container(), st.container()
    if not on():
        return second, first
    return first, second.expander(label, icon=":material/tune:") if label else second


# ----------------------------------------------------------------------------- figures


def plotly_chart(where: Any, fig: Any, **kw: Any) -> Any:
    """``where.plotly_chart(fig, **kw)`` (``where``: ``st``, a column, a container) for
    every chart of the dashboard: the figure as built, or ``styled`` while presenting."""
    return where.plotly_chart(styled(fig) if on() else fig, **kw)


def styled(fig: Any) -> Any:
    """A copy of ``fig`` (a Figure or its dict) drawn for a projector: every line at
    least ``LINE_WIDTH`` (thin faint copies doubled), markers at least ``MARKER``, every
    font at least ``FONT``. The figure passed in is left as it was (it may be cached and
    shared between sessions)."""
    import plotly.graph_objects as go

    data = fig.to_dict() if hasattr(fig, "to_dict") else _copy(fig)
    for trace in data.get("data", []):
        _style_trace(trace)
    _style_layout(data.setdefault("layout", {}))
    return go.Figure(data, skip_invalid=False, _validate=False)


def _copy(d: Any) -> Any:
    import copy

    return copy.deepcopy(d)


def _at_least(d: dict, key: str, least: float) -> None:
    v = d.get(key)
    d[key] = max(v, least) if isinstance(v, int | float) else least


def _font(d: dict, key: str, least: float) -> None:
    font = d.get(key)
    if not isinstance(font, dict):
        font = d[key] = {}
    _at_least(font, "size", least)


def _style_trace(t: dict) -> None:
    kind = t.get("type", "scatter")
    line = t.get("line")
    if kind in ("scatter", "scattergl", "scatterpolar") and "lines" in t.get("mode", "lines"):
        line = t.setdefault("line", {})
        width = line.get("width")
        if width is None or width >= 1.5:
            line["width"] = max(LINE_WIDTH, 2 * (width or 2))
        elif width > 0:  # a faint raw copy beneath a smoothed curve stays the thinner one
            line["width"] = 2 * width
    elif kind == "parcoords":
        _font(t, "labelfont", FONT)
        _font(t, "tickfont", FONT - 2)
        _font(t, "rangefont", FONT - 4)
    elif isinstance(line, dict) and isinstance(line.get("width"), int | float) and line["width"]:
        line["width"] = max(line["width"], LINE_WIDTH / 2)  # bar and box outlines
    marker = t.get("marker")
    if isinstance(marker, dict):
        size = marker.get("size")
        if isinstance(size, int | float):
            marker["size"] = max(MARKER, 1.6 * size)
        elif isinstance(size, list):
            marker["size"] = [
                max(MARKER, 1.6 * s) if isinstance(s, int | float) else s for s in size
            ]
    elif kind in ("scatter", "scattergl") and "markers" in t.get("mode", ""):
        t["marker"] = {"size": MARKER}
    if "textfont" in t or kind in ("heatmap", "contour", "histogram2dcontour"):
        _font(t, "textfont", FONT - 2)
    colorbar = t.get("colorbar") if isinstance(t.get("colorbar"), dict) else None
    if colorbar is not None or kind in ("heatmap", "contour"):
        cb = t.setdefault("colorbar", {})
        _font(cb, "tickfont", FONT - 2)
    if isinstance(t.get("marker"), dict) and isinstance(t["marker"].get("colorbar"), dict):
        _font(t["marker"]["colorbar"], "tickfont", FONT - 2)


def _style_layout(layout: dict) -> None:
    _font(layout, "font", FONT)
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        _font(title, "font", TITLE)
        margin = layout.setdefault("margin", {})
        _at_least(margin, "t", 64)
    legend = layout.setdefault("legend", {})
    _font(legend, "font", FONT)
    y = legend.get("y")
    if isinstance(y, int | float) and y < 0:  # beneath the plot: clear of bigger ticks
        legend["y"] = y * 1.35
    elif isinstance(y, int | float) and y >= 1 and isinstance(title, dict):
        # above the plot, under the title: room for both at their bigger sizes
        _at_least(layout.setdefault("margin", {}), "t", 100)
    _font(layout.setdefault("hoverlabel", {}), "font", FONT)
    for name, axis in list(layout.items()):
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            _font(axis, "tickfont", FONT)
            axis_title = axis.get("title")
            if isinstance(axis_title, str):
                axis_title = axis["title"] = {"text": axis_title}
            if isinstance(axis_title, dict):
                _font(axis_title, "font", AXIS_TITLE)
    for note in layout.get("annotations") or ():
        if isinstance(note, dict):
            _font(note, "font", FONT)
    if isinstance(layout.get("height"), int | float):
        layout["height"] = round(layout["height"] * 1.15)
