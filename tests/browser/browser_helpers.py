"""Helpers for the browser suite (a module of its own: conftest is not importable
by name when several test folders each have one)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # polling interval, not synchronisation


def wait_idle(page, *, quiet: float = 2.0, timeout: float = 60) -> None:
    """Wait until the app has not run any script for ``quiet`` seconds.

    Live panels rerun every 1.5 s while runs are active; once everything has finished
    the page redraws once and stops polling. Clicking during that last redraw races
    it, so tests that act on a finished comparison wait for the quiet first.
    """
    state_js = (
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.getAttribute('data-test-script-state'); }"
    )
    last_busy = time.monotonic()

    def quiet_long_enough():
        nonlocal last_busy
        if page.evaluate(state_js) != "notRunning":
            last_busy = time.monotonic()
        return time.monotonic() - last_busy >= quiet

    wait_until(quiet_long_enough, timeout=timeout, interval=0.1, what="the page to settle")
