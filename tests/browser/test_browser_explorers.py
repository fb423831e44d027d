"""Both explorers in Chromium against a real server: one control each, the chart follows.

Schedule explorer: "Add a schedule" adds a third curve to both charts. Loss explorer:
the Huber δ slider, moved with the keyboard, moves where Huber's gradient saturates.
Screenshots of both pages go to docs/screenshots/ for the README.
"""

from __future__ import annotations

import pytest
from browser_helpers import overlap, slide_to, wait_idle
from playwright.sync_api import expect
from test_browser_flow import no_exception, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _patient(page):
    """Six developers' suites share two cores here: the page draws slowly, so actions
    wait up to two minutes (a test still fails when the thing never happens)."""
    page.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)


# Traces of the Plotly chart inside a keyed Streamlit element, read from the live figure.
TRACES_JS = """(key) => {
  const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  return d && d.data ? d.data.map(t => ({name: t.name, y: t.y, meta: t.meta || {}})) : null;
}"""

TRACE_COUNT_JS = """([key, n]) => {
  const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  return !!(d && d.data && d.data.length === n);
}"""

HUBER_MAX_JS = """([key, want]) => {
  const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  const t = d && d.data && d.data.find(t => t.meta && t.meta.loss === "huber");
  return !!t && Math.abs(Math.max(...t.y) - want) < 1e-6;
}"""


def test_schedule_explorer_adds_a_curve(server, page):
    page.goto(f"{server.url}/schedules")
    expect(page.get_by_role("heading", name="Schedule explorer")).to_be_visible(timeout=60_000)
    # The first preview loads TensorFlow into the server: allow for it.
    for key in ("sx_chart_update", "sx_chart_epoch"):
        page.wait_for_function(TRACE_COUNT_JS, arg=[key, 2], timeout=240_000)
    expect(page.get_by_text("2,370 updates", exact=False).first).to_be_visible()
    no_exception(page)

    page.locator(".st-key-sx_add button").click()
    for key in ("sx_chart_update", "sx_chart_epoch"):
        page.wait_for_function(TRACE_COUNT_JS, arg=[key, 3], timeout=120_000)
    names = [t["name"] for t in page.evaluate(TRACES_JS, "sx_chart_update")]
    assert names == ["1 · warmup_cosine", "2 · exponential_decay", "3 · cosine_decay_restarts"]
    card = page.locator(".st-key-sx2_card")
    expect(card).to_contain_text("Schedule 3", timeout=30_000)
    expect(card.locator(".katex").first).to_be_visible()  # its formula is typeset
    wait_idle(page)
    no_exception(page)
    screenshot(page, "schedules")


def test_loss_explorer_huber_delta_moves_the_saturation(server, page):
    page.goto(f"{server.url}/losses")
    expect(page.get_by_role("heading", name="Loss explorer")).to_be_visible(timeout=60_000)
    page.wait_for_function(HUBER_MAX_JS, arg=["lx_reg_grad", 1.0], timeout=120_000)
    no_exception(page)

    slide_to(page.locator(".st-key-lx_delta input[type=range]"), 0.5)  # δ 1.0 → 0.5
    page.wait_for_function(HUBER_MAX_JS, arg=["lx_reg_grad", 0.5], timeout=120_000)
    expect(page.locator(".st-key-lx_delta")).to_contain_text("0.50")
    wait_idle(page)
    no_exception(page)
    screenshot(page, "losses")


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_schedule_explorer_toolbar_leaves_the_legend_readable(server, page, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{server.url}/schedules")
    expect(page.get_by_role("heading", name="Schedule explorer")).to_be_visible(timeout=60_000)
    for key in ("sx_chart_update", "sx_chart_epoch"):
        page.wait_for_function(TRACE_COUNT_JS, arg=[key, 2], timeout=240_000)
        chart = page.locator(f".st-key-{key} .js-plotly-plot")
        chart.hover()
        bar = chart.locator(".modebar").first
        expect(bar).to_be_visible(timeout=30_000)
        legend = chart.locator(".legend").first
        assert not overlap(bar.bounding_box(), legend.bounding_box()), key
    no_exception(page)


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_loss_explorer_labels_are_not_cut(server, page, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{server.url}/losses")
    expect(page.get_by_role("heading", name="Loss explorer")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Classification: loss vs probability").click()
    logit = page.locator(".st-key-lx_wrt button", has_text="logit")
    expect(logit).to_be_visible(timeout=30_000)
    cut = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
          .filter(e => e.offsetParent && e.textContent.trim()
            && e.scrollWidth > e.clientWidth + 1
            && getComputedStyle(e).textOverflow === 'ellipsis')
          .map(e => e.textContent.trim())"""
    )
    assert cut == []
    box, col = logit.bounding_box(), page.locator(".st-key-lx_wrt").bounding_box()
    assert box["x"] + box["width"] <= col["x"] + col["width"] + 1, "logit sticks out"
    no_exception(page)
