"""What the pages say when TensorFlow work is unavailable, and that they say it
without starting anything (headless; the browser suite drives the service itself)."""

from __future__ import annotations

from ui_helpers import all_text, open_app

from ui import resources


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
