"""Lessons: the shipped files load as today's Guided demos, and bad lesson JSON is
refused field by field (a named problem, never a traceback; a bad file never hides
the good ones)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ConfigError
from ui import demos, lessons

DATA = Path(__file__).parent / "data"
# Today's DEMOS (ui/demos.py before the lessons/ folder), captured before conversion.
BEFORE = json.loads((DATA / "demos_before_lessons.json").read_text())


# ----------------------------------------------------------------------------- what ships


def test_the_lessons_folder_loads_without_problems():
    catalog = lessons.load_folder()
    assert catalog.problems == []
    assert list(catalog.lessons) == list(BEFORE)  # the same ten, in the same order


@pytest.mark.parametrize("demo_id", list(BEFORE))
def test_each_lesson_is_todays_demo(demo_id):
    """The run configs after loading are identical to the Python demos they replace:
    raw and canonical, names, expectations, text, tab and caveat."""
    was, d = BEFORE[demo_id], demos.DEMOS[demo_id]
    assert [r.name for r in d.runs] == [r["name"] for r in was["runs"]]
    assert [r.config for r in d.runs] == [r["config"] for r in was["runs"]]
    assert [list(r.expect) for r in d.runs] == [r["expect"] for r in was["runs"]]
    assert (d.title, d.source, d.look_for, d.tab, d.caveat) == (
        was["title"],
        was["source"],
        was["look_for"],
        was["tab"],
        was["caveat"],
    )
    configs, problems = demos.validated(d)
    assert not problems and len(configs) == len(was["runs"])


def test_at_least_three_lessons_ask_a_question_of_each_kind_between_them():
    asked = {d.id: d.question for d in demos.DEMOS.values() if d.question}
    assert len(asked) >= 3
    assert {q.kind for q in asked.values()} == set(lessons.KINDS)
    assert asked["learning-rate"] == lessons.Question(
        "lowest", asked["learning-rate"].text, "val_loss", None
    )
    assert asked["early-stopping"].run == "No callbacks"


def test_the_tab_names_are_the_compare_pages():
    from ui.navigation import COMPARE_TABS

    assert lessons.TABS == COMPARE_TABS


def test_a_lesson_written_back_reads_the_same():
    for d in demos.DEMOS.values():
        doc = lessons.to_document(d)
        assert lessons.parse(json.loads(json.dumps(doc)), d.id) == d
        on_disk = json.loads((lessons.LESSONS_DIR / f"{d.id}.json").read_text())
        assert doc == on_disk


# ----------------------------------------------------------------------------- refused


def _lr() -> dict:
    return json.loads((lessons.LESSONS_DIR / "learning-rate.json").read_text())


def _problems(doc, lesson_id="t") -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as e:
        lessons.parse(doc, lesson_id)
    return e.value.problems


def test_explicit_runs_name_the_run_and_field_at_fault():
    doc = _lr()
    doc["runs"] = [
        {"name": "a", "config": {"task": "regression"}, "expect": "healthy"},
        {"name": "b", "config": {"task": "regression"}, "expect": "healthy"},
        {"name": "c", "config": {"task": "regression", "learning_rate": -2}, "expect": "nope"},
    ]
    doc.pop("question")
    got = dict(_problems(doc))
    assert got["runs[2].config.learning_rate"] == "must be in (0, 10], got -2.0"
    assert got["runs[2].expect"].startswith("'nope' is not a label")


def test_a_knob_value_and_the_base_are_named_apart():
    doc = _lr()
    doc["runs"]["values"][2] = -1
    doc["runs"]["base"]["epochs"] = "x"
    assert _problems(doc) == [
        ("runs.base.epochs", "must be an integer, got 'x'"),
        ("runs.values[2] (learning_rate)", "must be in (0, 10], got -1.0"),
    ]


def test_a_grid_expands_and_its_bad_values_are_named():
    doc = _lr()
    doc.pop("question")
    doc["runs"] = {
        "base": {"task": "regression", "epochs": 3},
        "grid": {"learning_rate": [0.1, 0.01], "batch_size": [16, 64]},
        "expect": "healthy",
    }
    lesson = lessons.parse(doc, "grid")
    assert [r.name for r in lesson.runs] == [
        "learning_rate 0.1 · batch_size 16",
        "learning_rate 0.1 · batch_size 64",
        "learning_rate 0.01 · batch_size 16",
        "learning_rate 0.01 · batch_size 64",
    ]
    assert lesson.runs[3].config == {
        "task": "regression",
        "epochs": 3,
        "learning_rate": 0.01,
        "batch_size": 64,
    }
    doc["runs"]["grid"]["batch_size"] = [16, 0]
    fields = [f for f, _ in _problems(doc)]
    assert "runs.grid.batch_size (learning_rate 0.1 · batch_size 0)" in fields


def test_a_question_is_checked_against_the_runs():
    doc = _lr()
    doc["question"] = {"kind": "turn", "text": "", "metric": "val_accuracy"}
    got = dict(_problems(doc))
    assert got["question.text"] == "must not be empty"
    assert got["question.metric"].startswith("'val_accuracy' is not logged by every run")
    assert got["question.run"].startswith("missing")
    doc["question"] = {"kind": "label", "text": "Which?", "run": "nobody"}
    assert [f for f, _ in _problems(doc)] == ["question.run"]


def test_a_lowest_or_turn_question_on_a_higher_is_better_metric_is_refused():
    """ "Ends lowest" of an accuracy would grade the best run as wrong."""
    doc = _lr()
    doc["runs"]["base"]["task"] = "binary-20"
    doc["question"] = {"kind": "lowest", "text": "Which?", "metric": "val_accuracy"}
    got = dict(_problems(doc))
    assert got["question.metric"].startswith("'val_accuracy' is better when higher")
    doc["question"]["kind"] = "label"  # a label question does not read the direction
    assert lessons.parse(doc, "t").question.metric == "val_accuracy"


def test_unknown_keys_paths_and_tabs_are_named():
    doc = _lr()
    doc.update(extra=1, tab="X", locked=["foo.bar", 3])
    assert [f for f, _ in _problems(doc)] == ["extra", "tab", "locked[0]", "locked[1]"]


def test_a_bad_file_in_the_folder_is_listed_and_the_rest_load(tmp_path):
    folder = tmp_path / "lessons"
    folder.mkdir()
    good = _lr()
    (folder / "good.json").write_text(json.dumps(good))
    good["runs"]["values"][2] = 0
    (folder / "bad.json").write_text(json.dumps(good))
    (folder / "junk.json").write_text("{ not json")
    (folder / "bad name!.json").write_text(json.dumps(_lr()))
    catalog = lessons.load_folder(folder)
    assert list(catalog.lessons) == ["good"]
    assert catalog.problems[0] == ("lessons/bad name!.json: file name", catalog.problems[0][1])
    assert ("lessons/bad.json: runs.values[2] (learning_rate)", "must be in (0, 10], got 0.0") in (
        catalog.problems
    )
    assert [f for f, _ in catalog.problems][-1] == "lessons/junk.json: lesson"


def test_is_lesson_tells_a_lesson_from_a_config():
    assert lessons.is_lesson(_lr())
    assert lessons.is_lesson({"title": "t", "runs": []})
    assert not lessons.is_lesson({"task": "regression", "epochs": 3})
    assert not lessons.is_lesson([1])
    assert lessons.id_for("My lesson (v2).json") == "My-lesson-v2"


# ----------------------------------------------------------------------------- controls


def _controls(demo_id: str):
    from ui import lesson_controls

    d = demos.DEMOS[demo_id]
    canonical, _ = demos.validated(d)
    return d, lesson_controls.controls(d, canonical)


def test_controls_are_the_settings_the_runs_write_per_run_where_they_differ():
    _, ctrls = _controls("learning-rate")
    assert [(c.path, c.per_run, c.access) for c in ctrls] == [
        ("learning_rate", True, "open"),
        ("optimizer", False, "locked"),
        ("epochs", False, "open"),
    ]
    assert ctrls[0].values == (1e-4, 0.01, 0.2, 1.0)
    _, ctrls = _controls("grad-accumulation")
    assert [(c.path, c.per_run) for c in ctrls] == [
        ("batch_size", True),
        ("grad_accum_steps", True),  # written by one run only: the others' default shown
        ("epochs", False),
        ("data.n_train", False),
    ]
    assert ctrls[1].values == (1, 4, 1)
    # One optimizer given as a name and as objects: no optimizer control, but its settings
    _, ctrls = _controls("sgd-momentum-nesterov")
    assert [(c.path, c.values) for c in ctrls] == [
        ("optimizer.momentum", (0.0, 0.9, 0.9)),
        ("optimizer.nesterov", (False, False, True)),
        ("learning_rate", (0.01,) * 3),
        ("epochs", (20,) * 3),
    ]
    _, ctrls = _controls("early-stopping")  # the lesson locks data and model
    assert {c.path: c.access for c in ctrls} == {
        "epochs": "open",
        "data.n_train": "locked",
        "data.noise": "locked",
        "model.width": "locked",
    }


def test_a_dotted_control_opens_a_named_optimizer():
    from ui import lesson_controls

    d, ctrls = _controls("sgd-momentum-nesterov")
    values = {c.path: list(c.values) for c in ctrls}
    values["optimizer.momentum"][0] = 0.5
    ed = lesson_controls.edited(d, ctrls, values)
    assert ed.ok and ed.raws[0]["optimizer"] == {"name": "sgd", "momentum": 0.5}
    assert ed.raws[1:] == [r.config for r in d.runs[1:]]
    assert ed.configs[0]["optimizer"]["momentum"] == 0.5


def test_unedited_controls_launch_the_lesson_exactly_and_edits_are_named():
    from ui import lesson_controls

    d, ctrls = _controls("learning-rate")
    same = {c.path: list(c.values) for c in ctrls}
    same["epochs"] = [20.0] * 4  # a number input gives back floats
    ed = lesson_controls.edited(d, ctrls, same)
    assert ed.ok and ed.raws == [r.config for r in d.runs] and not any(ed.changed)
    assert ed.names == [r.name for r in d.runs]
    ed = lesson_controls.edited(
        d, ctrls, {**same, "learning_rate": [1e-4, 0.01, -1.0, 0.5], "epochs": [0] * 4}
    )
    assert not ed.ok
    assert ed.problems[("learning_rate", 2)] == [("learning_rate", "must be in (0, 10], got -1.0")]
    assert ed.problems[("epochs", None)] == [("epochs", "must be in [1, 1000], got 0")]
    assert ed.names[3] == "lr 1.0 · edited" and ed.raws[3]["learning_rate"] == 0.5


def test_locked_and_hidden_cover_their_paths_children():
    from ui import lesson_controls

    doc = json.loads((lessons.LESSONS_DIR / "learning-rate.json").read_text())
    doc.update(locked=["learning_rate.x"], hidden=["epochs"])
    d = lessons.parse(doc, "t")
    canonical, _ = demos.validated(d)
    access = {c.path: c.access for c in lesson_controls.controls(d, canonical)}
    assert access == {"learning_rate": "open", "optimizer": "open", "epochs": "hidden"}
