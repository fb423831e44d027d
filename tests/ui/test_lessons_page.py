"""Guided demos as a lesson page: the lesson's controls (locked drawn disabled, hidden
not drawn, unlocked by the teacher), a launch with edited values, field-named problems
next to the field, a bad lesson file listed while the rest load, and a lesson imported
in Set up runs opening in Guided demos (headless, no workers: launches stay queued)."""

from __future__ import annotations

import json

from lesson_files import lessons_with
from ui_helpers import all_text, open_app

from engine.store import RunStore
from ui import demos, lessons
from ui.literal import md

PAGE = "pages/demos.py"
LR = "learning-rate"


def _lr_doc() -> dict:
    return json.loads((lessons.LESSONS_DIR / f"{LR}.json").read_text())


def test_a_lesson_draws_its_controls_with_the_locked_one_disabled(store_path):
    at = open_app(PAGE, demos_pick=LR)
    assert not at.exception, [e.message for e in at.exception]
    rates = [at.number_input(key=f"lesson_{LR}_learning_rate_{i}") for i in range(4)]
    assert [w.value for w in rates] == [1e-4, 0.01, 0.2, 1.0]
    assert not any(w.disabled for w in rates)
    assert at.number_input(key=f"lesson_{LR}_epochs").value == 20
    optimizer = at.selectbox(key=f"lesson_{LR}_optimizer")
    assert optimizer.value == "sgd" and optimizer.disabled
    assert "Locked by the lesson" in all_text(at)
    at.toggle(key="demos_unlock").set_value(True).run()
    assert not at.selectbox(key=f"lesson_{LR}_optimizer").disabled


def test_hidden_controls_are_not_drawn_until_unlocked(store_path, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    doc = _lr_doc()
    doc["hidden"] = ["epochs"]
    (folder / "hide.json").write_text(json.dumps(doc))
    monkeypatch.setenv(lessons.FOLDER_ENV, str(folder))
    at = open_app(PAGE, demos_pick="hide")
    assert not at.exception, [e.message for e in at.exception]
    assert not [w for w in at.number_input if w.key == "lesson_hide_epochs"]
    assert "1 more setting hidden by the lesson" in all_text(at)
    at.toggle(key="demos_unlock").set_value(True).run()
    assert at.number_input(key="lesson_hide_epochs").value == 20


def test_launch_uses_the_edited_value_and_drops_that_runs_prediction(
    store_path, tmp_path, monkeypatch
):
    # Without its question: a question hides the verdict lines until Reveal (test_ui_reveal)
    lessons_with(tmp_path, monkeypatch, LR, question=None)
    at = open_app(PAGE, demos_pick=LR)
    at.number_input(key=f"lesson_{LR}_learning_rate_0").set_value(0.05).run()
    assert not at.exception
    at.button(key=f"demos_launch_{LR}").click().run()
    runs = RunStore(store_path).list_runs(tag=f"demo:{LR}")
    by_name = {r["name"]: r for r in runs}
    assert set(by_name) == {
        "lr 1e-4 · edited",
        "lr 0.01",
        "lr 0.2",
        "lr 1.0",
    }
    assert by_name["lr 1e-4 · edited"]["config"]["learning_rate"] == 0.05
    assert by_name["lr 0.2"]["config"]["learning_rate"] == 0.2
    text = all_text(at)
    assert "your variant: the lesson makes no prediction for it" in text


def test_a_bad_value_is_named_next_to_its_field_and_blocks_the_launch(store_path):
    at = open_app(PAGE, demos_pick=LR)
    at.number_input(key=f"lesson_{LR}_learning_rate_2").set_value(-1.0).run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert "**lr 0.2 → learning_rate**: must be in (0, 10], got -1.0" in errors
    assert at.button(key=f"demos_launch_{LR}").disabled
    at.number_input(key=f"lesson_{LR}_epochs").set_value(0).run()
    assert any("**epochs**: " in e.value for e in at.error)
    at.button(key=f"demos_reset_{LR}").click().run()
    assert not at.button(key=f"demos_launch_{LR}").disabled
    assert at.number_input(key=f"lesson_{LR}_learning_rate_2").value == 0.2


def test_a_bad_lesson_file_is_listed_and_the_rest_load(store_path, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(_lr_doc()))
    bad = _lr_doc()
    bad["runs"]["values"][1] = "fast"
    (folder / "bad.json").write_text(json.dumps(bad))
    (folder / "broken.json").write_text("{")
    monkeypatch.setenv(lessons.FOLDER_ENV, str(folder))
    at = open_app(PAGE)
    assert not at.exception, [e.message for e in at.exception]
    assert list(at.radio(key="demos_pick").options) == [md(demos.DEMOS[LR].title)]
    assert [e.label for e in at.expander] == [
        "2 lesson files in the lessons folder could not be loaded; the others are listed below"
    ]
    errors = "\n".join(e.value for e in at.error).replace("\\", "").replace("\u200b", "")
    assert "lessons/bad.json: runs.values[1] (learning_rate)**: must be a number" in errors
    assert "lessons/broken.json: lesson" in errors


def test_a_lesson_pasted_into_set_up_runs_opens_in_guided_demos(store_path):
    doc = _lr_doc()
    # somebody's title, markdown and all: shown as written, and marked as imported (a
    # copy of a shipped lesson would otherwise be listed twice under one name)
    doc["title"] = "My class: **learning** [rates](http://x)"
    at = open_app("pages/setup.py")
    at.text_area(key="setup_import_text").set_value(json.dumps(doc)).run()
    at.button(key="setup_import_paste").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Guided demos"]
    assert at.radio(key="demos_pick").value == "pasted-lesson"
    shown = f"{md(doc['title'])} · imported"
    assert [s.value for s in at.subheader] == [shown]
    assert shown in at.radio(key="demos_pick").options
    at.button(key="demos_launch_pasted-lesson").click().run()
    runs = RunStore(store_path).list_runs(tag="demo:pasted-lesson")
    assert len(runs) == 4


def test_a_bad_lesson_pasted_into_set_up_runs_is_named_by_field(store_path):
    doc = _lr_doc()
    doc["runs"]["values"][0] = 0
    at = open_app("pages/setup.py")
    at.text_area(key="setup_import_text").set_value(json.dumps(doc)).run()
    at.button(key="setup_import_paste").click().run()
    assert [t.value for t in at.title] == ["Set up runs"]
    text = all_text(at)
    assert "(a lesson)" in text and "runs.values[0] (learning_rate)" in text.replace("\\", "")


def test_an_imported_lesson_never_takes_a_shipped_lessons_id():
    from ui import lesson_view

    session: dict = {}
    text = json.dumps(_lr_doc())
    lesson, problems = lesson_view.open_lesson(session, text, "learning-rate.json", demos.DEMOS)
    assert problems == [] and lesson.id == "learning-rate-imported"
    assert session["demos_pick"] == lesson.id and session["demos_uploaded"] == {lesson.id: lesson}
    bad, problems = lesson_view.open_lesson(session, "[1]", "x.json", demos.DEMOS)
    assert bad is None and problems == [("lesson", "must be a JSON object, got [1]")]


def test_an_empty_or_missing_lessons_folder_says_so(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv(lessons.FOLDER_ENV, str(tmp_path / "nowhere"))
    at = open_app(PAGE)
    assert not at.exception, [e.message for e in at.exception]
    assert any("No lesson could be loaded" in e.value for e in at.error)


def test_edit_in_setup_takes_the_edited_settings(store_path):
    at = open_app(PAGE, demos_pick=LR)
    at.number_input(key=f"lesson_{LR}_epochs").set_value(0).run()
    assert at.button(key=f"demos_edit_{LR}").disabled  # an invalid variant cannot be loaded
    at.number_input(key=f"lesson_{LR}_epochs").set_value(7).run()
    at.selectbox(key=f"demos_edit_run_{LR}").set_value("lr 0.2").run()
    at.button(key=f"demos_edit_{LR}").click().run()
    assert [t.value for t in at.title] == ["Set up runs"]
    assert at.number_input(key="cfg-learning_rate").value == 0.2
    assert at.number_input(key="cfg-epochs").value == 7


class _File:
    """What ``st.file_uploader`` hands back, as far as the import reads it."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data

    def getvalue(self) -> bytes:
        return self._data


def test_an_imported_lessons_title_shows_as_written_in_the_toast(monkeypatch):
    """A title with markdown (``**bold**``, a link) was drawn bold and clickable in the
    "Opened the lesson" toast: the file's text is the author's, shown literally."""
    from ui import lesson_view
    from ui.literal import md

    raw = json.loads((lessons.LESSONS_DIR / "learning-rate.json").read_text())
    raw["title"] = "**bold** [link](http://x)"
    session = {"demos_import_file_0": _File("t.json", json.dumps(raw).encode())}
    toasts: list[str] = []
    monkeypatch.setattr(lesson_view, "state", session)
    monkeypatch.setattr(lesson_view.st, "toast", lambda body, **kw: toasts.append(body))
    lesson_view._on_upload({})
    assert session["demos_import_problems"] == []
    assert toasts == [f"Opened the lesson {md(raw['title'])}."]
