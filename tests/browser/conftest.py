"""A real server (``streamlit run app.py``, two workers, a temporary store) and Chromium.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright's Python package;
nothing is ever downloaded. Waiting is always polling with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, wait_until


class Server:
    def __init__(self, url: str, store: Path, proc: subprocess.Popen, log: Path):
        self.url, self.store, self.proc, self.log = url, store, proc, log

    def log_tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        # CI installs Debian's chromium (.ci/run): there a missing browser is a failure.
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    store = tmp / "hplab.db"
    log = tmp / "server.log"
    env = {**os.environ, "HPLAB_STORE": str(store), "HPLAB_WORKERS": "2"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://localhost:{port}"
    srv = Server(url, store, proc, log)

    def healthy():
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}):\n{srv.log_tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_until(healthy, timeout=60, what="the Streamlit server")
        yield srv
    finally:
        proc.send_signal(signal.SIGTERM)  # the pool's atexit hook stops its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own process group only
            proc.wait(timeout=10)


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
