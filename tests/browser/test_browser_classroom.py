"""A class on one server: eight sessions launch the same lesson at once.

Correctness only (``benchmarks/classroom.py`` measures the times with thirty): every
session's launch is queued, each of the lesson's configs trains once (the other seven
launches reuse those runs or wait for them), every session opens a launch in Watch &
compare and sees all its runs, one reused run says so, and no session shows an
exception or loses its connection.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_flow import no_exception

from engine.store import TERMINAL, RunStore

pytestmark = pytest.mark.browser

SESSIONS = 8
LESSON_ID = "clipping-modes"  # the lesson with the fewest updates: 3 runs of 5 epochs
LESSON_LABEL = "clipvalue vs clipnorm"
RUNS = 3

LOSS_RUNS_JS = """() => {
  const d = document.querySelector('.st-key-compare_chart_loss .js-plotly-plot');
  return d && d.data ? [...new Set(d.data.filter(t => t.meta && t.meta.series === 'loss'
    && !t.meta.raw).flatMap(t => t.meta.runs || [t.meta.run_id]))] : [];
}"""


def _lost(page) -> bool:
    """Streamlit's own sign that the websocket is gone."""
    return page.get_by_text(re.compile("Connection error|Is Streamlit still running")).count() > 0


def test_eight_sessions_launch_one_lesson_and_train_it_once(server, browser):
    store = RunStore(server.store)
    before = {r["id"] for r in store.list_runs()}
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(8)]
    pages = [c.new_page() for c in contexts]
    closed: list[str] = []
    try:
        for pg in pages:
            pg.set_default_timeout(120_000)
            pg.on("websocket", lambda ws: ws.on("close", lambda w: closed.append(w.url)))
            pg.goto(f"{server.url}/demos")
        for pg in pages:
            expect(pg.get_by_role("heading", name="Guided demos")).to_be_visible(timeout=120_000)
            pg.locator(".st-key-demos_pick label", has_text=LESSON_LABEL).click()
        for pg in pages:
            expect(pg.locator(f".st-key-demos_launch_{LESSON_ID} button")).to_be_enabled()
            wait_idle(pg, quiet=1.0, timeout=120)
        for pg in pages:  # as near at once as one driver clicks
            pg.locator(f".st-key-demos_launch_{LESSON_ID} button").click()

        def launched():
            new = [r for r in store.list_runs() if r["id"] not in before]
            return new if len({r["sweep_id"] for r in new}) == SESSIONS else None

        new = wait_until(launched, timeout=120, what="eight launches to be queued")
        assert len(new) == SESSIONS * RUNS
        ids = [r["id"] for r in new]
        wait_until(
            lambda: all(store.get_run(i)["status"] in TERMINAL for i in ids),
            timeout=600,
            what="every launch's runs to finish",
        )
        runs = [store.get_run(i) for i in ids]
        trained = [r for r in runs if r["worker_id"]]
        assert len(trained) == RUNS, [(r["name"], r["worker_id"]) for r in runs]
        assert {r["status"] for r in runs} <= {"completed", "diverged"}
        assert sum(1 for r in runs if r["reused_from"]) == (SESSIONS - 1) * RUNS
        assert len({r["config_key"] for r in runs}) == RUNS

        # every session opens one launch in Watch & compare and sees all its runs
        sweeps = sorted({r["sweep_id"] for r in runs})
        for pg, sweep in zip(pages, sweeps, strict=True):
            pg.goto(f"{server.url}/compare?sweep={sweep}")
        for pg, sweep in zip(pages, sweeps, strict=True):
            mine = {r["id"] for r in runs if r["sweep_id"] == sweep}
            assert len(mine) == RUNS
            wait_until(
                lambda pg=pg, mine=mine: set(pg.evaluate(LOSS_RUNS_JS)) == mine or None,
                timeout=180,
                what=f"launch {sweep}'s runs on the Loss chart",
            )
        reused = next(r for r in runs if r["reused_from"])
        reused_page = next(pg for pg in pages if reused["sweep_id"] in pg.url)
        expect(reused_page.get_by_text(re.compile("reused from")).first).to_be_visible()
        for pg in pages:
            no_exception(pg)
            assert not _lost(pg)
        # a websocket closes when a page is loaded again (goto /compare); no more than that
        assert len(closed) <= SESSIONS, closed
    finally:
        for c in contexts:
            c.close()
        store.close()
