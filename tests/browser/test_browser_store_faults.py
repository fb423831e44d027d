"""The dashboard on a store it cannot write or cannot use, in Chromium against a real
server: the engine's own sentence on every page, the reading pages working, a launch
refused with the reason and nothing queued (issue 11, faults 3 and 4)."""

from __future__ import annotations

import re

import pytest
from browser_helpers import serve
from playwright.sync_api import expect

from engine.store import RunStore
from tests.executor.test_cli_store_faults import finished_run
from tests.fs_helpers import immutable

pytestmark = pytest.mark.browser


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_read_only_store_reads_on_and_refuses_launches(browser, tmp_path):
    path = tmp_path / "hplab.db"
    rid = finished_run(path)
    sentence = f"the run store is read-only: {path}"
    with immutable(path), serve(tmp_path, workers=2) as srv:
        for width, height in ((1280, 720), (1440, 900)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(srv.url)
            expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=60_000)
            banner = page.get_by_text(sentence, exact=True)
            expect(banner).to_be_visible(timeout=30_000)
            expect(page.get_by_text("none: the run store cannot be written")).to_be_visible()
            page.screenshot(path=str(tmp_path / f"read-only-setup-{width}.png"))
            _no_exception(page)
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(srv.url)
        launch = page.locator(".st-key-setup_launch button")
        expect(launch).to_have_text(re.compile("Launch 1 run"), timeout=60_000)
        launch.click()
        expect(page.get_by_text("The launch was refused; nothing was queued.")).to_be_visible(
            timeout=30_000
        )
        expect(page.get_by_text(re.compile("the run store is read-only")).last).to_be_visible()
        page.screenshot(path=str(tmp_path / "read-only-launch.png"), full_page=True)
        _no_exception(page)
        # Reading pages: the stored run is listed and drawn, its detail opens.
        page.goto(f"{srv.url}/compare?runs={rid}")
        expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(sentence, exact=True)).to_be_visible()
        expect(page.get_by_text(re.compile(r"^completed · epoch 3/3"))).to_be_visible(
            timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "read-only-compare.png"), full_page=True)
        _no_exception(page)
        page.close()
        assert [r["id"] for r in RunStore(path).list_runs()] == [rid]  # nothing queued
    log = srv.log.read_text(errors="replace")
    assert "Traceback" not in log, srv.log_tail()


def test_store_under_a_regular_file_is_named_on_the_page(browser, tmp_path):
    (tmp_path / "file.txt").write_text("notes")
    bad = tmp_path / "file.txt" / "store.db"
    with serve(tmp_path, workers=1, env={"HPLAB_STORE": str(bad)}) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(srv.url)
        expect(page.get_by_text("The run store cannot be used.")).to_be_visible(timeout=60_000)
        expect(
            page.get_by_text(f"run store {bad}: {tmp_path / 'file.txt'} is a file, not a folder")
        ).to_be_visible()
        page.screenshot(path=str(tmp_path / "bad-store.png"))
        _no_exception(page)
        page.close()
    assert "Traceback" not in srv.log.read_text(errors="replace"), srv.log_tail()
