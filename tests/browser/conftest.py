"""A real server (``streamlit run app.py``, two workers, a temporary store) and Chromium.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright's Python package;
nothing is ever downloaded. Waiting is always polling with a deadline.
"""

from __future__ import annotations

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve


def _serving(tmp_path_factory, name: str, workers: int):
    need_chromium()
    with serve(tmp_path_factory.mktemp(name), workers=workers) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _serving(tmp_path_factory, "server", workers=2)


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory):
    """``streamlit run app.py`` with no worker pool: the store holds only the test's runs."""
    yield from _serving(tmp_path_factory, "quiet", workers=0)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def page(browser, request, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:  # leave evidence: what the person would have seen
            shot = tmp_path / "failure.png"
            pg.screenshot(path=str(shot), full_page=True)
            print(f"\nfailure screenshot: {shot}\npage text:\n{pg.inner_text('body')[:3000]}")
        context.close()
