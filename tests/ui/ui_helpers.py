"""Helpers for the AppTest suites: open the whole app on a page, read what it shows."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ("pages/setup.py", "pages/compare.py", "pages/run.py", "pages/study.py")
# Pages that read no runs (teaching pages); each has its own AppTest module.
TEACHING_PAGES = ("pages/demos.py", "pages/schedules.py", "pages/losses.py")


def open_app(page: str | None = None, *, preview: bool = False, **state) -> AppTest:
    """The whole app (entry point, navigation, sidebar) showing ``page``.

    The schedule preview is off unless asked for: it is the one feature that starts the
    server's TensorFlow service (a process importing TensorFlow for seconds), and most
    tests are about something else.
    """
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["setup_preview"] = preview
    for k, v in state.items():
        at.session_state[k] = v
    if page and page != "pages/setup.py":
        at.switch_page(page)
    return at.run()


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open one of Set up runs' settings tabs, as a click on it does: only the open tab's
    widgets are drawn (``ui.settings_view``)."""
    at.session_state["setup_tabs"] = label
    return at.run()


def chart_titles(at: AppTest) -> list[str | None]:
    """Titles of the Plotly charts on the page, in order (None for untitled ones)."""
    return [
        (json.loads(c.proto.spec)["layout"].get("title") or {}).get("text")
        for c in at.get("plotly_chart")
    ]


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "markdown", "caption", "error", "warning", "info", "success"):
        parts += texts(at, kind)
    return "\n".join(parts)


def run_until(at: AppTest, predicate, *, timeout: float = 240, what: str = "the page") -> AppTest:
    """Rerun ``at`` until ``predicate(at)`` holds: what the page's polling fragment does
    in a browser while the TensorFlow service computes (AppTest does not poll)."""
    deadline = time.monotonic() + timeout
    while not predicate(at):
        assert not at.exception, [e.message for e in at.exception]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)  # polling interval, not synchronisation
        at.run()
    return at


def plotly_spec(at: AppTest, title: str) -> dict:
    """The one drawn Plotly figure whose title starts with ``title``, as its JSON spec."""
    (chart,) = [
        c
        for c in at.get("plotly_chart")
        if ((json.loads(c.proto.spec)["layout"].get("title") or {}).get("text") or "").startswith(
            title
        )
    ]
    return json.loads(chart.proto.spec)


def app_store(path, monkeypatch):
    """Point the app at the store file ``path`` with no worker pool of its own."""
    from engine.store import RunStore

    monkeypatch.setenv("HPLAB_STORE", str(path))
    monkeypatch.setenv("HPLAB_WORKERS", "0")
    return RunStore(path)
