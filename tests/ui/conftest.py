"""AppTest fixtures: every test gets its own store file and no worker pool.

``HPLAB_WORKERS=0`` keeps worker processes out of page tests: a launch then only
queues runs in the temporary store, which is exactly what these tests check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_fake_runs import fill

# What a settled server has imported (``ui.resources.settle``): every page draws in
# full on its first run. A cold server's first run, which leaves pandas for later,
# is tested in a fresh interpreter (test_ui_pages.py).
import ui.runs  # noqa: F401


@pytest.fixture
def store_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "hplab.db"
    monkeypatch.setenv("HPLAB_STORE", str(path))
    monkeypatch.setenv("HPLAB_WORKERS", "0")
    return path


@pytest.fixture
def filled(store_path) -> dict[str, str]:
    return fill(store_path)
