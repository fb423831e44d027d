"""What the pages say when TensorFlow work is unavailable, and that they say it
without starting anything (headless; the browser suite drives the service itself)."""

from __future__ import annotations

from ui_helpers import all_text, open_app

from ui import resources
from ui.widgets import escape_md


def test_without_a_tf_service_the_pages_say_what_is_off(store_path, monkeypatch):
    monkeypatch.setenv("HPLAB_TF_SERVICE", "0")
    at = open_app(preview=True)
    assert not at.exception, [e.message for e in at.exception]
    text = all_text(at)
    assert "exact preview is off in this server (HPLAB_TF_SERVICE=0" in text
    assert "range test is off in this server" in text and "engine lr-find" in text
    assert not at.button(key="setup_launch").disabled  # launching does not need it
    at.switch_page("pages/schedules.py").run()
    assert not at.exception
    assert "exact preview is off in this server" in all_text(at)
    assert resources.tf_service() is None


def test_without_workers_the_sidebar_says_what_still_works(store_path):
    at = open_app()
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "HPLAB_WORKERS=0" in sidebar
    assert "previews and the LR range test still work" in sidebar


# What a failure says comes from Keras (or a run's name): shown as written, never as
# markdown — ``decay_steps`` must not turn italic, a link must not become one.
RAW = "**decay_steps** must be > 0 [see](http://evil.example) <b>x</b>"


def _failed(kind: str):
    from engine.executor.tf_service import FAILED, Ticket

    return Ticket(kind, "k", FAILED, error=RAW)


def test_a_range_test_failure_is_shown_as_written(store_path, monkeypatch):
    monkeypatch.setattr(resources, "lr_range_test", lambda *a, **k: _failed("lr_find"))
    monkeypatch.setattr(resources, "lr_range_ticket", lambda key: _failed("lr_find"))
    at = open_app()
    at.button(key="setup_lrf_run").click().run()
    shown = [e.value for e in at.error if "range test failed" in e.value]
    assert shown == [f"The range test failed: {escape_md(RAW)}"]


def test_a_preview_failure_is_shown_as_written(store_path, monkeypatch):
    monkeypatch.setattr(resources, "tf_service", lambda: object())
    monkeypatch.setattr(resources, "schedule_preview", lambda cfg: _failed("preview"))
    at = open_app(preview=True)
    assert not at.exception, [e.message for e in at.exception]
    shown = [e.value for e in at.error if "no preview" in e.value]
    assert len(shown) == 1 and shown[0].endswith(f"no preview: {escape_md(RAW)}"), shown
