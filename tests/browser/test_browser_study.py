"""The study view in Chromium against a real server: a real tiny search
(``tests/search/tiny_study.py``) is queued, the page is opened while it is still
waiting, refreshes by itself while a one-worker pool trains it, then shows its
figures with pruned and diverged trials marked; a click on a trial's point opens its
run's curves in Watch & compare, and the trial picker opens Run detail.

The server has no pool of its own (``HPLAB_WORKERS=0``): the test's one-worker pool
trains the trials one after the other, so the designed pruning holds.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from browser_helpers import choose, wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_flow import no_exception

from engine.executor import get_executor
from engine.store import RunStore
from tests.search import tiny_study

pytestmark = pytest.mark.browser

SID = "sw-browserstd"
SIZES = ((1280, 720), (1440, 900))
PLOTS_FIT = (
    "() => { const ps = [...document.querySelectorAll('.js-plotly-plot')]"
    ".filter(d => d.offsetParent !== null);"
    " return ps.length >= 5 && ps.every(d => d._fullLayout"
    " && Math.abs(d._fullLayout.width - d.clientWidth) < 8); }"
)


@pytest.fixture(scope="module")
def server(quiet_server):
    """No pool of its own: the tests' one-worker pools train what they queue."""
    return quiet_server


def shoot(page, tmp_path, name: str) -> None:
    """The viewport at each size a person would use, once every chart fits its width."""
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_function(PLOTS_FIT, timeout=20_000)
        page.screenshot(path=str(tmp_path / f"{name}-{w}x{h}.png"))
    tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": tall + 40})
    page.wait_for_function(PLOTS_FIT, timeout=20_000)
    page.screenshot(path=str(tmp_path / f"{name}-whole-page.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_study_page_refreshes_draws_the_search_and_opens_a_trials_run(server, page, tmp_path):
    store = RunStore(server.store)
    tiny_study.queue(store, SID)
    page.goto(f"{server.url}/study?study={SID}")
    expect(page.get_by_role("heading", name="Study")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Study still running: 0 of 6 trials done")).to_be_visible(
        timeout=30_000
    )
    no_exception(page)

    # --- a pool trains the study; the page follows by itself (nobody reloads it)
    ex = get_executor("local", store_path=server.store, workers=1)
    ex.start()
    try:
        expect(page.get_by_text("6 of 6 trials asked")).to_be_visible(timeout=300_000)
        wait_until(
            lambda: all(
                r["status"] not in ("queued", "running") for r in store.list_runs(sweep_id=SID)
            ),
            timeout=300,
            what="the study's trials to end",
        )
    finally:
        ex.stop(timeout=20)
    expect(page.get_by_text("Study still running")).to_have_count(0, timeout=30_000)
    wait_idle(page)
    no_exception(page)
    runs = {r["id"]: r for r in store.list_runs(sweep_id=SID)}
    statuses = sorted(r["status"] for r in runs.values())
    assert "pruned" in statuses and "diverged" in statuses, statuses

    # --- the figures, with pruned and diverged trials on their own lane
    page.wait_for_function(PLOTS_FIT, timeout=30_000)
    for title in ("Optimization history", "Parameter importances", "Intermediate values"):
        expect(page.locator(".gtitle", has_text=title).first).to_be_visible()
    hist = page.locator(f".st-key-study_history_{SID} .js-plotly-plot")
    expect(hist.locator(".y2tick", has_text="pruned")).to_have_count(1)
    expect(hist.locator(".y2tick", has_text="diverged")).to_have_count(1)
    shoot(page, tmp_path, "study")
    keep = os.environ.get("HPLAB_SHOTS")
    if keep:  # leave the screenshots where a person can look at them
        for p in tmp_path.glob("study-*.png"):
            shutil.copy(p, keep)

    # --- a click on a trial's point in the history opens its run's curves
    best = min(
        (r for r in runs.values() if r["status"] == "completed"),
        key=lambda r: r["best"]["val_loss"],
    )
    point = hist.locator(".scatterlayer .trace").first.locator(".point")
    target = None
    for i in range(point.count()):  # the value markers of the completed trials
        box = point.nth(i).bounding_box()
        if box:
            target = box
            break
    assert target, "no trial point drawn on the history"
    page.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2)
    expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=30_000)
    wait_until(lambda: "runs=" in page.url, timeout=30, what="the compare address")
    shown = re.search(r"runs=([^&]+)", page.url)[1].split("%2C")
    assert len(shown) == 1 and shown[0] in runs
    assert runs[shown[0]]["status"] == "completed"
    no_exception(page)

    # --- back on the study, the picker opens the best trial's Run detail
    page.goto(f"{server.url}/study?study={SID}")
    expect(page.get_by_role("heading", name="Study")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Open a trial")).to_be_visible(timeout=30_000)
    wait_idle(page)
    picker = page.get_by_role("link", name="Run detail").last  # the picker's, not the menu's
    expect(picker).to_have_attribute(  # the best trial first, once the page has drawn it
        "href", re.compile(f"run={best['id']}"), timeout=30_000
    )
    picker.click()
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible(timeout=30_000)
    wait_until(lambda: f"run={best['id']}" in page.url, timeout=30, what=f"run= in {page.url}")
    no_exception(page)


EDGE = "sw-browseredge"
EDGE_SWEEP = {
    **tiny_study.SWEEP,
    "space": {"learning_rate": {"choice": [1e-7, 1e-5, 0.01]}},
    "search": {"sampler": "grid", "trials": 3, "seed": 0},
    "name": "edge",
}


def test_study_page_warns_at_the_edge_isolates_a_knob_and_replays_a_pruner(server, page, tmp_path):
    store = RunStore(server.store)
    tiny_study.queue(store, EDGE, EDGE_SWEEP)
    tiny_study.train(server.store, EDGE)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{server.url}/study?study={EDGE}")
    expect(page.get_by_role("heading", name="Study")).to_be_visible(timeout=60_000)
    warning = page.get_by_text("extend learning_rate above 0.01")
    expect(warning).to_be_visible(timeout=30_000)
    wait_idle(page)
    no_exception(page)

    iso = page.locator(f".st-key-study_iso_{EDGE}_fig_learning_rate .js-plotly-plot")
    expect(iso.locator(".gtitle", has_text="Isolation")).to_be_visible(timeout=30_000)
    expect(iso.locator(".xtitle", has_text="learning_rate (log)")).to_be_visible()
    replay = page.locator(f".st-key-study_replay_{EDGE}_fig_median .js-plotly-plot")
    expect(replay.locator(".gtitle", has_text="Pruner replay · median")).to_be_visible()
    expect(page.get_by_text("Epochs saved", exact=True)).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"The eventual winner .* (survives|stopped)"))
    ).to_be_visible()

    # --- another pruner from the registry: the replay follows
    choose(page, f"study_replay_{EDGE}_pruner", "^Hyperband")
    hb = page.locator(f".st-key-study_replay_{EDGE}_fig_hyperband .js-plotly-plot")
    expect(hb.locator(".gtitle", has_text="Pruner replay · hyperband")).to_be_visible(
        timeout=30_000
    )
    wait_idle(page)
    no_exception(page)

    for w, h in SIZES:  # the edge warning, then the isolation and replay section
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_function(PLOTS_FIT, timeout=20_000)
        warning.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"study-edge-{w}x{h}.png"))
        iso.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"study-eiso-{w}x{h}.png"))
        hb.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"study-extras-{w}x{h}.png"))
    keep = os.environ.get("HPLAB_SHOTS")
    if keep:
        for p in tmp_path.glob("study-e*.png"):
            shutil.copy(p, keep)


def test_a_finished_grid_replays_a_pruner_in_watch_and_compare(server, page, tmp_path):
    grid = "sw-browsergrd"
    ex = get_executor("local", store_path=server.store, workers=1)
    ex.start()
    try:
        base = tiny_study.SWEEP["base"]
        ids = ex.submit(
            [{**base, "learning_rate": lr} for lr in (0.01, 3e-7, 2e-7, 1e-7)], sweep_id=grid
        )
        assert set(ex.wait(ids, timeout=600).values()) == {"completed"}
    finally:
        ex.stop(timeout=20)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{server.url}/compare?sweep={grid}")
    expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=60_000)
    fold = page.get_by_text("Isolation and pruner replay of this grid")
    expect(fold).to_be_visible(timeout=30_000)
    fold.click()
    startup = page.locator(f".st-key-grid_replay_{grid}_startup_median input")
    startup.fill("1")
    startup.press("Enter")
    expect(page.get_by_text("3 of 4 runs stopped")).to_be_visible(timeout=30_000)
    replay = page.locator(f".st-key-grid_replay_{grid}_fig_median .js-plotly-plot")
    expect(replay.locator(".gtitle", has_text="Pruner replay · median")).to_be_visible()
    iso = page.locator(f".st-key-grid_iso_{grid}_fig_learning_rate .js-plotly-plot")
    expect(iso.locator(".gtitle", has_text="Isolation")).to_be_visible()
    wait_idle(page)
    no_exception(page)
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        wait_idle(page)
        replay.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"study-egrid-{w}x{h}.png"))
        page.locator("[data-testid=stDataFrame]").last.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"study-egrid-table-{w}x{h}.png"))
    keep = os.environ.get("HPLAB_SHOTS")
    if keep:
        for p in tmp_path.glob("study-egrid*.png"):
            shutil.copy(p, keep)
