"""Presentation mode in Chromium at a projector's 1280×720: charts on the first screen,
thick lines, big type, nothing cut; the toggle and the address agree across pages.

The runs are written into a server without workers (``browser_runs``), as the compare
suite does; every wait polls with a deadline.
"""

from __future__ import annotations

import pytest
from browser_helpers import wait_until
from browser_runs import add_run
from playwright.sync_api import expect
from test_browser_compare import drawn, open_compare

from engine.store import RunStore

pytestmark = pytest.mark.browser

REG = {"task": "regression-5", "data": {"n_train": 200, "n_test": 40}}
SIZE = {"width": 1280, "height": 720}

# Stroke widths of the loss chart's drawn curves (the faint raw copies aside: none here).
STROKES_JS = """() => [...document.querySelectorAll(
    '.st-key-compare_chart_loss .scatterlayer path.js-line')]
  .map(p => parseFloat(getComputedStyle(p).strokeWidth))"""
# Font sizes of the loss chart's tick labels and legend.
FONTS_JS = """() => [...document.querySelectorAll(
    '.st-key-compare_chart_loss .xtick text, .st-key-compare_chart_loss .ytick text,'
    + ' .st-key-compare_chart_loss .legendtext')]
  .map(t => parseFloat(getComputedStyle(t).fontSize))"""
# Text that does not fit its box: labels, headings, tab names, buttons, the top menu.
CUT_JS = """() => [...document.querySelectorAll(
    '[data-testid=stWidgetLabel] *, [data-testid=stMain] h1, [data-testid=stMain] h2,'
    + '[data-testid=stMain] h3, [data-testid=stMain] h4, button[role=tab] *,'
    + '[data-testid=stMain] button *, [data-testid=stExpander] summary *,'
    + '[data-testid=stMetricLabel] *, [data-testid=stTopNavLink] *,'
    + '[data-testid=stCaptionContainer]')]
  .filter(e => e.offsetParent && e.textContent.trim() && e.children.length === 0
    && !e.closest('[data-testid=stIconMaterial]')
    && (e.scrollWidth > e.clientWidth + 1
        || (getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth)
        || /…$/.test(e.textContent.trim()) && !/(ing|ed)…$/.test(e.textContent.trim())))
  .map(e => e.textContent.trim())"""
HREF_JS = "() => location.href"
ROOT_FONT_JS = "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"


def address(page) -> str:
    """The address bar as the page's own script sees it (Streamlit writes it with
    ``history.pushState``)."""
    return page.evaluate(HREF_JS)


@pytest.fixture(autouse=True)
def _patient(page):
    """Six developers' suites share two cores: actions wait up to two minutes."""
    page.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)


@pytest.fixture(scope="module")
def runs(quiet_server):
    store = RunStore(quiet_server.store)
    ids = [
        add_run(
            store,
            {**REG, "learning_rate": lr},
            name=f"adam · learning rate {lr}",
            sweep_id="sw-slides00001",
        )
        for lr in (0.001, 0.01, 0.1)
    ]
    store.close()
    return ids


def test_presenting_compare_reads_from_the_back_of_the_room(quiet_server, runs, page):
    page.set_viewport_size(SIZE)
    open_compare(page, quiet_server, runs)
    normal_font = max(page.evaluate(FONTS_JS))
    normal_stroke = max(page.evaluate(STROKES_JS))

    page.goto(f"{quiet_server.url}/compare?runs={','.join(runs)}&present=1")
    expect(page.locator(".st-key-compare_chart_loss .main-svg").first).to_be_visible()
    drawn(page)
    assert "present=1" in address(page)

    # the charts are on the first screen: the loss plot's whole drawing area
    plot = page.locator(".st-key-compare_chart_loss .nsewdrag").first.bounding_box()
    assert plot is not None and plot["y"] < SIZE["height"] / 2, plot
    assert plot["y"] + plot["height"] <= SIZE["height"], plot
    # … before the run table and the selection's buttons
    bar = page.locator(".st-key-compare_pick_none").first.bounding_box()
    assert bar is None or bar["y"] > plot["y"]

    strokes = page.evaluate(STROKES_JS)
    assert strokes and min(strokes) >= 4, strokes
    fonts = page.evaluate(FONTS_JS)
    assert fonts and min(fonts) >= 18 > normal_font, (fonts, normal_font)
    assert normal_stroke < 4
    assert page.evaluate(ROOT_FONT_JS) > 16
    assert page.evaluate(CUT_JS) == []
    # the sidebar is folded away: the page has the whole width
    assert page.locator("[data-testid=stSidebar]").bounding_box() is None or (
        page.locator("[data-testid=stSidebar]").bounding_box()["width"] < 5
    )


def test_the_toggle_turns_it_on_and_the_address_keeps_it_across_pages(
    quiet_server, runs, page, browser
):
    page.set_viewport_size(SIZE)
    open_compare(page, quiet_server, runs)
    assert "present=" not in address(page)
    assert page.evaluate(ROOT_FONT_JS) == 16

    page.locator("[data-testid=stSidebar]").get_by_text("Presentation mode").click()
    wait_until(lambda: "present=1" in address(page), timeout=60, what="present=1 in the address")
    wait_until(lambda: page.evaluate(ROOT_FONT_JS) > 16, timeout=60, what="the presentation CSS")
    drawn(page)
    wait_until(lambda: min(page.evaluate(STROKES_JS) or [0]) >= 4, timeout=60, what="thick lines")

    # the top menu's link to another page carries no query: the mode stays and the
    # address gains it again
    page.locator("[data-testid=stTopNavLink]", has_text="Run detail").first.click()
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible()
    wait_until(
        lambda: "/run" in address(page) and "present=1" in address(page),
        timeout=60,
        what="Run detail's address with present=1",
    )
    assert page.evaluate(ROOT_FONT_JS) > 16

    # a page link (Run detail's own links to the comparison) keeps it in its address
    hrefs = page.locator("[data-testid=stPageLink] a").evaluate_all(
        "as => as.map(a => a.getAttribute('href'))"
    )
    assert hrefs and all("present=1" in h for h in hrefs), hrefs

    # another session of the same server is not presenting
    other = browser.new_context(viewport=SIZE).new_page()
    try:
        other.goto(f"{quiet_server.url}/compare?runs={','.join(runs)}")
        expect(other.locator(".st-key-compare_chart_loss .main-svg").first).to_be_visible(
            timeout=120_000
        )
        drawn(other)
        assert other.evaluate(ROOT_FONT_JS) == 16
        assert max(other.evaluate(STROKES_JS)) < 4
        assert "present=" not in address(other)
    finally:
        other.context.close()

    # off again: the address loses it
    page.locator("[data-testid=stExpandSidebarButton]").click()
    page.locator("[data-testid=stSidebar]").get_by_text("Presentation mode").click()
    wait_until(lambda: "present=" not in address(page), timeout=60, what="present=1 gone")
    wait_until(lambda: page.evaluate(ROOT_FONT_JS) == 16, timeout=60, what="the normal type again")
