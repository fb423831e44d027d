"""A copy of the shipped lessons folder with one lesson changed, for page tests.

The Guided demos page reads its lessons from ``$HPLAB_LESSONS`` (``ui.lessons.folder``)
on every run, so a test changes a lesson the way a teacher would: by its file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ui import lessons


def lessons_with(tmp_path: Path, monkeypatch, lesson_id: str, **changes) -> Path:
    """The shipped lessons in ``tmp_path/lessons`` with ``lesson_id``'s top-level keys
    set to ``changes`` (None removes a key); the page reads that folder."""
    folder = tmp_path / "lessons"
    shutil.copytree(lessons.LESSONS_DIR, folder)
    path = folder / f"{lesson_id}.json"
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    path.write_text(json.dumps(doc, indent=2))
    monkeypatch.setenv(lessons.FOLDER_ENV, str(folder))
    return folder
