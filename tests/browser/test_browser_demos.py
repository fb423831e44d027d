"""A guided demo as a teacher runs it, in Chromium against a real server and workers.

Pick a lesson other than the first, launch it, and the lesson stays chosen while its
label gains "running" and then "done"; "Open in Watch & compare" opens the comparison
of exactly that launch, and the address bar says so.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_flow import no_exception, screenshot

from engine.store import RunStore

pytestmark = pytest.mark.browser

LESSON = "Learning rate: too low, about right, too high"


@pytest.fixture(autouse=True)
def _patient(page):
    """Six developers' suites share two cores here: the page draws slowly, so actions
    wait up to two minutes (a test still fails when the thing never happens)."""
    page.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)


LOSS_RUNS_JS = """() => {
  const d = document.querySelector('.st-key-compare_chart_loss .js-plotly-plot');
  return d && d.data ? [...new Set(d.data.filter(t => t.meta && t.meta.series === 'loss'
    && !t.meta.raw).flatMap(t => t.meta.runs || [t.meta.run_id]))] : [];
}"""


def test_a_demo_keeps_its_lesson_and_opens_in_compare(server, page):
    store = RunStore(server.store)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server.url}/demos")
    expect(page.get_by_role("heading", name="Guided demos")).to_be_visible(timeout=60_000)
    page.locator(".st-key-demos_pick label", has_text="Learning rate").click()
    heading = page.get_by_role("heading", name=LESSON)
    expect(heading).to_be_visible(timeout=30_000)
    wait_idle(page, quiet=1.0)
    before = {r["id"] for r in store.list_runs()}

    page.locator(".st-key-demos_launch_learning-rate button").click()
    runs = wait_until(
        lambda: [r for r in store.list_runs() if r["id"] not in before] or None,
        timeout=30,
        what="the demo's runs to be queued",
    )
    sweep = runs[0]["sweep_id"]
    # the lesson starts "running", then is "done"; the lesson stays chosen throughout
    expect(page.get_by_text(re.compile(r"Latest launch · \d/4 finished"))).to_be_visible()
    wait_idle(page, quiet=1.0)
    expect(heading).to_be_visible()
    status = page.locator(".st-key-demos_status")
    expect(status).to_contain_text(LESSON)
    wait_until(
        lambda: all(
            r["status"] not in ("queued", "running") for r in store.list_runs(sweep_id=sweep)
        ),
        timeout=240,
        what="the demo's runs to finish",
    )
    expect(page.get_by_text(re.compile(r"Latest launch · 4/4 finished"))).to_be_visible()
    wait_idle(page)
    expect(heading).to_be_visible()
    expect(status).to_contain_text(f"{LESSON} · done")
    expect(page.get_by_text(re.compile(r"Latest launch · 4/4 finished"))).to_be_visible()
    no_exception(page)
    screenshot(page, "demos")

    # the lesson asks a question first (test_browser_reveal.py): Reveal shows the link
    page.locator(f".st-key-reveal_learning-rate_{sweep}_reveal button").first.click()
    # open the launch in Watch & compare: the page and the address bar agree
    page.get_by_role("link", name=re.compile("Open in Watch & compare")).or_(
        page.get_by_role("button", name=re.compile("Open in Watch & compare"))
    ).first.click()
    page.wait_for_url(re.compile(rf"/compare\?.*sweep={sweep}"), timeout=30_000)
    expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=30_000)
    ids = {r["id"] for r in store.list_runs(sweep_id=sweep)}
    drawn = wait_until(
        lambda: set(page.evaluate(LOSS_RUNS_JS)) == ids or None,
        timeout=60,
        what="the demo's four runs on the Loss chart",
    )
    assert drawn
    no_exception(page)
    store.close()
