"""Helpers for the browser suite (a module of its own: conftest is not importable
by name when several test folders each have one)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proc_helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def need_chromium() -> None:
    """Skips the test when Debian's chromium is missing, except in CI, which installs it
    (``.ci/run``): there a missing browser is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes (Playwright's ``{x, y, width, height}``) intersect."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, store: Path, proc: subprocess.Popen, log: Path):
        self.url, self.store, self.proc, self.log = url, store, proc, log

    def log_tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


@contextlib.contextmanager
def serve(
    tmp: Path, *, workers: int = 2, root: Path = ROOT, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``streamlit run app.py`` on a free port with its own store in ``tmp``, until exit.

    Shared by the browser suite and the benchmarks so both measure the server a person
    starts, not a variant of it; ``root`` is the checkout to serve (``first_load.py``
    and ``compare_draw.py`` serve an older commit beside this one), ``env`` extra
    environment variables.
    """
    port = free_port()
    store = tmp / "hplab.db"
    log = tmp / "server.log"
    env = {
        **os.environ,
        "HPLAB_STORE": str(store),
        "HPLAB_WORKERS": str(workers),
        **(env or {}),
    }
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
            cwd=root,
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


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """``wait_for`` with keywords and a browser's slower default interval."""
    return wait_for(predicate, timeout, what, interval)


SCRIPT_STATE_JS = (
    "() => { const a = document.querySelector('[data-testid=stApp]');"
    " return a && a.getAttribute('data-test-script-state'); }"
)


def wait_idle(page, *, quiet: float = 2.0, timeout: float = 60) -> None:
    """Wait until the app has not run any script for ``quiet`` seconds.

    Live panels rerun every 1.5 s while runs are active; once everything has finished
    the page redraws once and stops polling. Clicking during that last redraw races
    it, so tests that act on a finished comparison wait for the quiet first.
    """
    last_busy = time.monotonic()

    def quiet_long_enough():
        nonlocal last_busy
        if page.evaluate(SCRIPT_STATE_JS) != "notRunning":
            last_busy = time.monotonic()
        return time.monotonic() - last_busy >= quiet

    wait_until(quiet_long_enough, timeout=timeout, interval=0.1, what="the page to settle")


def slide_to(thumb, value: float, *, timeout: float = 120) -> None:
    """Move a slider's thumb with the arrow keys until it reads ``value``.

    Each step reruns the script, and a key press that lands while the slider is being
    redrawn is lost (CI saw 3 of 5 presses hold), so the thumb is read before each
    press, only while no script runs, and pressed again until the value holds.
    """

    def there() -> bool:
        if thumb.page.evaluate(SCRIPT_STATE_JS) != "notRunning":
            return False
        now = float(thumb.input_value())
        if abs(now - value) < 1e-9:
            return True
        thumb.focus()
        thumb.press("ArrowRight" if now < value else "ArrowLeft")
        return False

    wait_until(there, timeout=timeout, interval=0.3, what=f"the slider to reach {value}")


def choose(page, key: str, option: str, timeout: float = 240) -> None:
    """Open a selectbox and click the option whose label matches ``option`` (a regex);
    a rerun that closes the list meanwhile (a preview arriving) opens it again."""
    from playwright.sync_api import Error as PlaywrightError

    box = page.locator(f".st-key-{key} input[role=combobox]").first
    pattern = re.compile(option)

    def chosen() -> bool:
        try:
            if pattern.search(box.input_value(timeout=5_000)):  # the choice it shows
                return True
            options = page.get_by_role("option", name=pattern)
            if options.count() == 0:
                box.click(timeout=5_000)
            options.first.click(timeout=5_000)
        except PlaywrightError:  # the list closed or the widget was redrawn: again
            pass
        return False

    wait_until(chosen, timeout=timeout, what=f"{key} to show {option!r}")
