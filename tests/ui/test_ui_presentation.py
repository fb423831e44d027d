"""Presentation mode (``ui.presentation``): one styling hook for every chart, a flag the
address sets and follows, and nothing shared between sessions."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from ui_helpers import open_app, plotly_spec

from ui import navigation, presentation
from ui.charts import RunCurves, metric_figure

ROOT = Path(__file__).resolve().parents[2]


class Params(dict):
    """``st.query_params`` as ``present_address`` uses it."""


def _curves() -> list[RunCurves]:
    def series(values):
        return {"epoch": list(range(1, len(values) + 1)), "value": list(values)}

    epochs = {"loss": series([1.0, 0.5, 0.25]), "val_loss": series([1.2, 0.7, 0.6])}
    return [RunCurves("r1", "adam", "#4e79a7", epochs=epochs)]


def _lines(spec: dict) -> list[float]:
    return [
        t["line"]["width"]
        for t in spec["data"]
        if "lines" in t.get("mode", "lines") and not (t.get("meta") or {}).get("raw")
    ]


def test_a_styled_figure_has_thick_lines_and_big_fonts_and_the_original_is_untouched():
    fig = metric_figure(_curves(), "loss", title="Loss")
    before = fig.to_dict()
    spec = presentation.styled(fig).to_dict()
    assert fig.to_dict() == before  # a cached figure is shared: never restyled in place
    assert _lines(spec) and min(_lines(spec)) >= presentation.LINE_WIDTH
    lay = spec["layout"]
    assert lay["font"]["size"] >= 18
    assert lay["title"]["font"]["size"] >= 22
    assert lay["legend"]["font"]["size"] >= 18
    assert lay["xaxis"]["tickfont"]["size"] >= 18
    assert lay["yaxis"]["title"]["font"]["size"] >= 20
    markers = [t["marker"]["size"] for t in spec["data"] if isinstance(t.get("marker"), dict)]
    assert markers and min(markers) >= presentation.MARKER
    assert max(_lines(before)) < presentation.LINE_WIDTH  # the normal look is thinner


def test_a_band_without_an_outline_keeps_none_and_a_faint_copy_stays_thinner():
    spec = presentation.styled(
        {
            "data": [
                {"type": "scatter", "mode": "lines", "line": {"width": 0}, "fill": "toself"},
                {"type": "scatter", "mode": "lines", "line": {"width": 1}},
                {"type": "scatter", "mode": "lines", "line": {"width": 2}},
                {"type": "scatter", "mode": "markers", "marker": {"size": [3, 6]}},
            ],
            "layout": {"height": 300},
        }
    ).to_dict()
    widths = [t.get("line", {}).get("width") for t in spec["data"][:3]]
    assert widths == [0, 2, 4]
    assert spec["data"][3]["marker"]["size"] == [10, 10]
    assert spec["layout"]["height"] > 300


def test_the_wrapper_passes_the_figure_as_built_unless_presenting(monkeypatch):
    drawn = []

    class Where:
        def plotly_chart(self, fig, **kw):
            drawn.append(fig)

    state: dict = {}
    monkeypatch.setattr(presentation.st, "session_state", state)
    fig = metric_figure(_curves(), "loss", title="Loss")
    presentation.plotly_chart(Where(), fig, key="k")
    assert drawn[-1] is fig
    presentation.set_on(state, True)
    presentation.plotly_chart(Where(), fig, key="k")
    assert drawn[-1] is not fig and min(_lines(drawn[-1].to_dict())) >= 4


def test_every_chart_goes_through_the_one_hook():
    """No page or view calls ``plotly_chart`` itself: a chart drawn around the hook would
    stay thin on the projector."""
    offenders = []
    for folder in ("pages", "ui"):
        for p in (ROOT / folder).rglob("*.py"):
            if p.name == "presentation.py":
                continue
            for node in ast.walk(ast.parse(p.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "plotly_chart"
                    and not (
                        isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "presentation"
                    )
                ):
                    offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


# ----------------------------------------------------------------------------- the address


def test_the_address_sets_the_mode_once_and_then_follows_it():
    state: dict = {}
    params = Params(runs="a,b", present="1")
    assert navigation.present_address(state, params) is True
    # the top menu's links carry no query: the mode stays and the address regains it
    params = Params()
    assert navigation.present_address(state, params) is True
    assert params == {"present": "1"}
    # the toggle turns it off: the address loses it
    presentation.set_on(state, False)
    assert navigation.present_address(state, params) is False
    assert params == {}
    # a rerun carrying the address from before the toggle, late, leaves it off
    params = Params(present="1")
    assert navigation.present_address(state, params) is False
    assert params == {}
    # a link on another page after that still turns it on
    navigation.visiting(state, "compare")
    params = Params(present="1")
    assert navigation.present_address(state, params) is True
    # and an explicit present=0 turns it off
    params = Params(present="0")
    assert navigation.present_address(state, params) is False
    assert params == {}


def test_links_and_page_switches_carry_the_mode():
    assert navigation.with_present({"run": "a"}, {}) == {"run": "a"}
    assert navigation.with_present({"run": "a"}, {presentation.FLAG: True}) == {
        "run": "a",
        "present": "1",
    }


def test_the_compare_address_keeps_the_mode():
    state = {presentation.FLAG: True}
    params = Params(sweep="sw-1", present="1")
    params.from_dict = lambda d: (params.clear(), params.update(d))
    runs = [{"id": "a", "sweep_id": "sw-1"}, {"id": "b", "sweep_id": None}]
    state["compare_ids"] = ["a", "b"]
    state["compare_query_applied"] = ("sw-1", None)
    navigation.compare_selection(state, runs, params)
    assert params == {"runs": "a,b", "present": "1"}


# ----------------------------------------------------------------------------- sessions


def _loss_spec(at) -> dict:
    return plotly_spec(at, "Loss")


@pytest.mark.parametrize("first", ["presenting", "not presenting"])
def test_one_session_presenting_leaves_another_as_it_was(filled, first):
    """Two sessions of one server: the one opened with ?present=1 draws thick lines and
    big type; the other, before or after it, draws the normal look."""

    def session(present: bool):
        at = open_app("pages/compare.py")
        at.query_params["sweep"] = "sw-fake00001"
        if present:
            at.query_params["present"] = "1"
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    order = [True, False] if first == "presenting" else [False, True]
    sessions = {p: session(p) for p in order}
    shown = sessions[True]
    assert min(_lines(_loss_spec(shown))) >= 4
    assert _loss_spec(shown)["layout"]["font"]["size"] >= 18
    assert shown.session_state[presentation.FLAG] is True
    assert shown.query_params["present"] in ("1", ["1"])
    assert any("present_on" in e or "html{font-size" in e for e in _html(shown))
    plain = sessions[False]
    plain.run()  # after the other session drew, this one redraws the normal look
    assert max(_lines(_loss_spec(plain))) < 4
    assert "present" not in plain.query_params
    assert not plain.session_state["present_on"] if "present_on" in plain.session_state else True
    assert not any("html{font-size" in e for e in _html(plain))


def _html(at) -> list[str]:
    return [json.dumps(e.proto.body) if hasattr(e.proto, "body") else "" for e in at.get("html")]


def _order(node) -> list[str]:
    """The page's elements top to bottom: a chart as ``chart``, a widget by its key."""
    out = []
    for child in getattr(node, "children", {}).values():
        if child.type == "plotly_chart":
            out.append("chart")
        elif getattr(child, "key", None):
            out.append(child.key)
        out += _order(child)
    return out


@pytest.mark.parametrize("present", [False, True])
def test_presenting_the_compare_charts_come_before_the_selection_and_controls(filled, present):
    at = open_app("pages/compare.py")
    at.query_params["sweep"] = "sw-fake00001"
    if present:
        at.query_params["present"] = "1"
    at.run()
    order = _order(at.main)
    chart, pick = order.index("chart"), order.index("compare_pick_none")
    smooth = order.index("compare_smooth")
    if present:
        assert chart < pick and chart < smooth, order
        assert any(e.label.startswith("Chart settings") for e in at.expander), [
            e.label for e in at.expander
        ]
        assert "compare_cancel_all" not in order  # progress is folded (drawn when opened)
    else:
        assert pick < smooth < chart, order
