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

    page.locator(".st-key-demos_launch_learning-rate button").first.click()
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


# ----------------------------------------------------------------------------- a lesson's controls

LR_KEY = "lesson_learning-rate_learning_rate"
OPTIMIZER_KEY = "lesson_learning-rate_optimizer"


def test_a_lesson_link_locks_its_controls_and_launches_an_edited_value(quiet_server, page):
    """``/demos?demo=learning-rate`` opens the lesson with the optimizer locked; the
    teacher's "Unlock controls" enables it; a learning rate typed by a student is what
    the launch queues, and a bad one is named under its row and blocks Launch."""
    from test_browser_setup import type_into

    store = RunStore(quiet_server.store)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{quiet_server.url}/demos?demo=learning-rate")
    expect(page.get_by_role("heading", name=LESSON)).to_be_visible(timeout=60_000)
    controls = page.locator(".st-key-demos_controls")
    optimizer = page.locator(f".st-key-{OPTIMIZER_KEY} input").first
    expect(optimizer).to_be_disabled()
    expect(controls).to_contain_text("Locked by the lesson")
    expect(page.locator(f".st-key-{LR_KEY}_0 input").first).to_be_enabled()
    wait_idle(page, quiet=1.0)
    no_exception(page)

    page.locator(".st-key-demos_unlock label").click()
    expect(optimizer).to_be_enabled()
    expect(controls).not_to_contain_text("Locked by the lesson")

    type_into(page, f"{LR_KEY}_2", "-1")
    expect(
        controls.locator('[data-testid="stAlert"]', has_text="must be in (0, 10]")
    ).to_be_visible()
    launch = page.locator(".st-key-demos_launch_learning-rate button").first
    expect(launch).to_be_disabled()

    type_into(page, f"{LR_KEY}_2", "0.05")
    expect(controls.locator('[data-testid="stAlert"]')).to_have_count(0)
    expect(launch).to_be_enabled()
    wait_idle(page, quiet=1.0)
    launch.click()
    runs = wait_until(
        lambda: store.list_runs(tag="demo:learning-rate") or None,
        timeout=30,
        what="the lesson's runs to be queued",
    )
    by_name = {r["name"]: r["config"]["learning_rate"] for r in runs}
    assert by_name == {
        "lr 1e-4": 1e-4,
        "lr 0.01": 0.01,
        "lr 0.2 · edited": 0.05,
        "lr 1.0": 1.0,
    }
    # the lesson asks a question first: Reveal shows the verdicts (test_browser_reveal.py)
    sweep = runs[0]["sweep_id"]
    page.locator(f".st-key-reveal_learning-rate_{sweep}_reveal button").first.click()
    expect(page.get_by_text("your variant: the lesson makes no prediction for it")).to_be_visible()
    no_exception(page)
    screenshot(page, "lesson")
    store.close()


def test_import_a_lesson_opens_it_and_names_a_bad_files_problems(quiet_server, page, tmp_path):
    import json

    from ui.lessons import LESSONS_DIR

    doc = json.loads((LESSONS_DIR / "learning-rate.json").read_text())
    doc["title"] = "Our class: four learning rates"
    good = tmp_path / "our-class.json"
    good.write_text(json.dumps(doc))
    doc["runs"]["values"][3] = "fast"
    bad = tmp_path / "broken-lesson.json"
    bad.write_text(json.dumps(doc))

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{quiet_server.url}/demos")
    expect(page.get_by_role("heading", name="Guided demos")).to_be_visible(timeout=60_000)
    wait_idle(page, quiet=1.0)
    for path in (bad, good):
        page.get_by_role("button", name=re.compile("Import a lesson")).click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        wait_idle(page, quiet=1.0)
        if path == bad:
            expect(
                page.get_by_text("Could not open the lesson in broken-lesson.json")
            ).to_be_visible()
            expect(page.get_by_text("must be a number, got 'fast'")).to_be_visible()
            page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="Our class: four learning rates")).to_be_visible()
    expect(page.locator(".st-key-lesson_our-class_learning_rate_3 input").first).to_have_value("1")
    no_exception(page)
