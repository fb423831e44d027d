"""Set up runs → Search in Chromium against a real server: odd values typed into a
range field (0, -1, 1e9, empty) each give the engine's field-named error and keep
Launch disabled; a tiny 3-trial search then launches, its first trials are in the
store, and the link opens the study view showing them.

The server has no pool (``HPLAB_WORKERS=0``): the store is the queue, nothing trains.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import need_chromium, serve, wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_setup import FIRST_LOAD, LAUNCH, no_traceback, type_into

from engine.store import RunStore
from ui import search_form

pytestmark = pytest.mark.browser

SIZES = ((1280, 720), (1440, 900))
FORM = ".st-key-search_form"
GO = ".st-key-search_launch button"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_chromium()
    with serve(tmp_path_factory.mktemp("search-server"), workers=0) as srv:
        yield srv


def shoot(page, tmp_path, name: str, at: str = GO) -> None:
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        page.locator(at).first.scroll_into_view_if_needed()
        wait_idle(page, quiet=0.5)
        page.screenshot(path=str(tmp_path / f"{name}-{w}x{h}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_search_form_names_bad_ranges_then_launches_a_tiny_search(server, page, tmp_path):
    page.goto(server.url)
    expect(page.locator(LAUNCH)).to_be_visible(timeout=FIRST_LOAD)
    wait_idle(page, quiet=0.5)
    page.get_by_test_id("stButtonGroup").get_by_text(search_form.MODE, exact=True).click()
    expect(page.locator(FORM)).to_be_visible(timeout=30_000)
    expect(page.locator(LAUNCH)).to_have_count(0)  # the one-run bar gives way to the search's
    low = search_form.key("learning_rate", "low")
    high = search_form.key("learning_rate", "high")
    form = page.locator(FORM)
    steps = (
        (low, "0", "log range needs low > 0, got 0"),
        (low, "-1", "log range needs low > 0, got -1"),
        (low, "", "low is empty"),
        (low, "1e-4", None),  # fine again: only the high end is wrong next
        (high, "1e9", "must be in (0, 10], got 1000000000"),  # the Param's own bounds
    )
    for key, text, said in steps:
        type_into(page, key, text)
        if said is None:
            continue
        alert = form.locator('[data-testid="stAlert"]', has_text="space.learning_rate")
        expect(alert.filter(has_text=said)).to_have_count(1, timeout=30_000)
        expect(alert).to_have_count(1)  # only the error of what was typed last
        expect(page.locator(GO)).to_be_disabled()
        no_traceback(page)
    shoot(page, tmp_path, "search-bad-range", at=f".st-key-{low}")  # the field and its error
    type_into(page, high, "0.1")
    assert RunStore(server.store).list_runs() == []

    type_into(page, low, "0.001")
    type_into(page, f"{search_form.K}trials", "3")
    expect(form.get_by_text(re.compile(r"^3 trials of up to"))).to_be_visible(timeout=30_000)
    page.locator(f".st-key-{search_form.key('batch_size', 'on')} label").click()
    expect(form.get_by_text(re.compile(r"3 trials of up to \d+ epochs, TPE"))).to_be_visible(
        timeout=30_000
    )
    expect(page.locator(GO)).to_be_enabled()
    shoot(page, tmp_path, "search-plan")
    page.locator(GO).click()
    expect(form.get_by_text("launched")).to_be_visible(timeout=30_000)
    store = RunStore(server.store)
    wait_until(lambda: store.list_runs(), timeout=30, what="the first trials")
    runs = store.list_runs()
    (sid,) = {r["study_id"] for r in runs}
    assert sid and all(r["status"] == "queued" for r in runs)
    no_traceback(page)
    shoot(page, tmp_path, "search-launched", at=f'{FORM} [data-testid="stAlert"]')
    form.get_by_text("Open the study view").click()
    expect(page.get_by_text("of 3 trials done").first).to_be_visible(timeout=60_000)
    assert sid in page.url
