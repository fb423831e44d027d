"""Set up runs › Import config, typed into Chromium: every bad paste gets one
field-named message on the page, never a traceback (issue 11, item 9)."""

from __future__ import annotations

import pytest
from browser_helpers import wait_until

pytestmark = pytest.mark.browser

BAD = [
    ('{"format":"hplab-runs","runs":5}', "runs: must be a list of runs, got 5"),
    ('{"format":"hplab-runs","runs":{"a":1}}', "runs: must be a list of runs"),
    ("[" * 1000 + "]" * 1000, "file: nested 1,000 levels deep"),
    ('{"task":"regression","seed":1' + "0" * 5000 + "}", "seed: a 5,001-digit integer"),
    ('{"task":"regression","learning_rate":1' + "0" * 400 + "}", "learning_rate: must be in"),
]


def _paste(page, text: str) -> None:
    page.get_by_role("button", name="Import config").click(timeout=120_000)
    area = page.locator(".st-key-setup_import_text textarea")
    area.fill(text, timeout=120_000)
    area.press("Control+Enter")  # commit the text area's value before the click
    page.locator(".st-key-setup_import_paste button").click(timeout=120_000)


@pytest.mark.parametrize(("text", "message"), BAD, ids=range(len(BAD)))
def test_a_bad_import_is_one_field_named_message(server, page, text, message, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(server.url)
    # The form is usable before the schedule preview's TensorFlow load has finished.
    page.get_by_role("button", name="Import config").wait_for(timeout=120_000)
    _paste(page, text)
    wait_until(lambda: message in page.inner_text("body"), timeout=60, what=message)
    body = page.inner_text("body")
    assert "Could not load the config from the pasted JSON" in body
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in body and "Error:" not in body
    page.keyboard.press("Escape")  # close the popover: the message is under it
    page.screenshot(path=str(tmp_path / "import.png"))
