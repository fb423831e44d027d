"""The flow a person clicks through, in Chromium against a real server and workers.

Set up a two-run comparison (adam vs sgd on regression), launch it, watch both
curves appear live on the comparison chart, cancel one run, export the CSV, open
a run's detail. Screenshots of each page go to docs/screenshots/ for the README.
"""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from browser_helpers import SCREENSHOTS, wait_idle, wait_until
from playwright.sync_api import expect

from engine.store import RunStore

pytestmark = pytest.mark.browser

EPOCHS = 150
N_TRAIN = 8000  # 6400 fit / batch 32 = 200 updates per epoch

PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
  title: ((d.layout && d.layout.title && d.layout.title.text) || '').replace(/<[^>]*>/g, ''),
  traces: (d.data || []).map(t => ({name: t.name, n: (t.x || []).length, meta: t.meta || null}))
}))"""


LOG_Y_JS = """(title) => [...document.querySelectorAll('.js-plotly-plot')].some(d =>
  ((d.layout && d.layout.title && d.layout.title.text) || '').replace(/<[^>]*>/g, '')
    .startsWith(title) && d.layout.yaxis && d.layout.yaxis.type === 'log')"""


def loss_points(page, run_ids) -> dict[str, int]:
    """Points of each run's training-loss curve on the Loss chart, read from Plotly."""
    out = dict.fromkeys(run_ids, 0)
    for plot in page.evaluate(PLOTS_JS):
        if plot["title"] != "Loss":
            continue
        for t in plot["traces"]:
            m = t["meta"] or {}
            if m.get("series") == "loss" and not m.get("raw") and m.get("run_id") in out:
                out[m["run_id"]] = t["n"]
    return out


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def screenshot(page, name: str) -> None:
    """The whole page, in a viewport tall enough that nothing scrolls."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }"
    )
    page.set_viewport_size({"width": 1440, "height": min(max(900, height + 40), 5000)})
    # Plotly re-lays out on resize: wait until every chart fills its new width.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(d => d.offsetParent !== null)"
        ".every(d => d._fullLayout && Math.abs(d._fullLayout.width - d.clientWidth) < 8)",
        timeout=15_000,
    )
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_launch_watch_cancel_export(server, page):
    store = RunStore(server.store)
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=60_000)
    no_exception(page)

    # --- a two-run comparison that differs only in the optimizer
    # The first page of a cold server (imports, the pool and the TensorFlow service all
    # starting) can take a while on a loaded 2-core machine: wait as open_setup does.
    mode = page.locator(".st-key-setup_mode button", has_text="Compare one knob")
    expect(mode).to_be_visible(timeout=180_000)
    mode.click()
    values = page.locator(".st-key-setup_values_optimizer")
    expect(values).to_contain_text("adam", timeout=30_000)
    expect(values).to_contain_text("sgd")
    # Each edit reruns the page; wait for the server's own summary to reflect it before
    # the next edit (the plan caption counts the updates each run will make).
    epochs = page.locator(".st-key-cfg-epochs input")
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    expect(page.get_by_text(f"{EPOCHS * 25:,} updates each")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name=re.compile("^Data & model")).click()
    n_train = page.locator(".st-key-cfg-data-n_train input")
    n_train.fill(str(N_TRAIN))
    n_train.press("Enter")
    expect(page.get_by_text(f"{EPOCHS * 200:,} updates each")).to_be_visible(timeout=30_000)
    launch = page.locator(".st-key-setup_launch button")
    expect(launch).to_have_text(re.compile("Launch 2 runs"), timeout=30_000)
    expect(launch).to_be_enabled()
    expect(page.locator(".st-key-setup_schedule_chart .main-svg").first).to_be_visible(
        timeout=60_000
    )
    # Only the open tab is drawn: back on its tab, epochs still holds what was typed.
    page.get_by_role("tab", name=re.compile("^Optimizer & schedule")).click()
    expect(page.locator(".st-key-cfg-epochs input")).to_have_value(str(EPOCHS))
    no_exception(page)
    screenshot(page, "setup")

    # --- launch: the comparison opens at once and both curves appear live
    t0 = time.monotonic()
    launch.click()
    page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=30_000)
    runs = wait_until(
        lambda: len(store.list_runs()) == 2 and store.list_runs(),
        timeout=30,
        what="two queued runs",
    )
    by_opt = {r["config"]["optimizer"]["name"]: r for r in runs}
    assert set(by_opt) == {"adam", "sgd"}
    assert by_opt["adam"]["config"]["seed"] == by_opt["sgd"]["config"]["seed"]
    assert {r["config"]["epochs"] for r in runs} == {EPOCHS}
    assert {r["config"]["data"]["n_train"] for r in runs} == {N_TRAIN}
    ids = [by_opt["adam"]["id"], by_opt["sgd"]["id"]]

    first = wait_until(
        lambda: max(loss_points(page, ids).values()) > 0,
        timeout=120,
        interval=0.1,
        what="the first curve point",
    )
    t_first = time.monotonic() - t0
    wait_until(
        lambda: min(loss_points(page, ids).values()) > 0,
        timeout=120,
        interval=0.1,
        what="both runs' first curve points",
    )
    t_both = time.monotonic() - t0
    print(f"\nlaunch click → first curve point: {t_first:.1f} s; both runs: {t_both:.1f} s")
    assert first

    # live: the same page keeps drawing new epochs, no reload
    n0 = loss_points(page, ids)[ids[1]]
    wait_until(
        lambda: loss_points(page, ids)[ids[1]] > n0, timeout=60, what="the sgd curve to grow live"
    )
    no_exception(page)

    # --- cancel one run: it stops at the end of its epoch and keeps its curve
    t_cancel = time.monotonic()
    page.locator(f".st-key-compare_cancel_{ids[1]} button").first.click()
    wait_until(
        lambda: store.get_run(ids[1])["cancel_requested"],
        timeout=30,
        interval=0.05,
        what="the cancel request to reach the store",
    )
    print(f"cancel click → request stored: {time.monotonic() - t_cancel:.2f} s")
    wait_until(
        lambda: store.get_run(ids[1])["status"] == "cancelled",
        timeout=60,
        what="the sgd run to be cancelled",
    )
    expect(page.get_by_text(re.compile(r"^cancelled · epoch \d+/"))).to_be_visible(timeout=30_000)
    cancelled = store.get_run(ids[1])
    assert 0 < cancelled["epochs_done"] < EPOCHS
    # the chart keeps the partial curve: every epoch it trained, no more, no fewer
    wait_until(
        lambda: loss_points(page, ids)[ids[1]] == cancelled["epochs_done"],
        timeout=60,
        what="the cancelled run's partial curve on the chart",
    )

    # --- export the selected runs as one CSV
    with page.expect_download(timeout=30_000) as dl:
        page.locator(".st-key-compare_export_csv").get_by_role(
            "button", name=re.compile("^Export")
        ).first.click()
    with open(dl.value.path(), encoding="utf-8") as f:
        text = f.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    assert header[:6] == ["run_id", "run_name", "series", "x_kind", "x", "value"]
    assert "config.optimizer.name" in header and "config.learning_rate" in header
    # each row carries its own run's config, so one file can be pivoted by hyperparameter
    assert {r["run_id"]: r["config.optimizer.name"] for r in rows} == {
        rid: store.get_run(rid)["config"]["optimizer"]["name"] for rid in ids
    }
    assert {r["run_id"] for r in rows} == set(ids)
    for rid in ids:
        loss = [
            r
            for r in rows
            if r["run_id"] == rid and r["series"] == "loss" and r["x_kind"] == "epoch"
        ]
        assert len(loss) >= 1 and all(float(r["value"]) > 0 for r in loss)
    sgd_epochs = [
        r
        for r in rows
        if r["run_id"] == ids[1] and r["series"] == "loss" and r["x_kind"] == "epoch"
    ]
    assert len(sgd_epochs) == cancelled["epochs_done"]  # partial curve kept, all of it

    # --- the other run completes; the page settles on its final state
    wait_until(
        lambda: store.get_run(ids[0])["status"] == "completed",
        timeout=180,
        what="the adam run to complete",
    )
    expect(page.get_by_text(re.compile(r"^completed · epoch"))).to_be_visible(timeout=30_000)
    wait_until(
        lambda: loss_points(page, ids)[ids[0]] == EPOCHS, timeout=30, what="the full adam curve"
    )
    wait_idle(page)  # the final redraw after the last run finished, then no more polling
    no_exception(page)
    # Log y on the live panel: the fragment redraws with a log axis, nothing else reruns.
    page.locator(".st-key-compare_log label").click()
    page.wait_for_function(LOG_Y_JS, arg="Loss", timeout=30_000)
    screenshot(page, "compare")
    page.get_by_role("tab", name="Gradients").click()
    page.wait_for_function(LOG_Y_JS, arg="Global gradient norm", timeout=30_000)
    no_exception(page)
    screenshot(page, "compare-gradients")

    # --- the run's own page: results, predictions, exports
    page.goto(f"{server.url}/run?run={ids[0]}")
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible(timeout=30_000)
    expect(page.locator(".st-key-detail_chart_loss .main-svg").first).to_be_visible(timeout=30_000)
    page.locator(".st-key-detail_log label").click()
    page.wait_for_function(LOG_Y_JS, arg="Loss", timeout=30_000)
    no_exception(page)
    screenshot(page, "run")
