"""Predict, then reveal on the Guided demos page (headless, no workers): a lesson with a
question hides its runs' diagnoses and curves, records a prediction that survives a
rerun, and Reveal grades it against the store, "so far" while runs train."""

from __future__ import annotations

import json

import pytest
from lesson_files import lessons_with
from ui_fake_runs import _finish, _info
from ui_helpers import all_text, open_app

from engine.diagnosis import SUMMARY
from engine.store import RunStore
from ui import demos, reveal_view
from ui.literal import JOINER

PAGE = "pages/demos.py"
QUESTION = demos.DEMOS["learning-rate"].question.text  # the lesson file's own words
DEMO = "learning-rate"
NAMES = [r.name for r in demos.DEMOS[DEMO].runs]
RIGHT = "lr 0.01"
SWEEP = "sw-reveal0001"
BASE = f"reveal_{DEMO}_{SWEEP}"


def _launch(path, curves: dict[str, list[float]], statuses: dict[str, str], labels=None):
    """The demo's runs in the store: ``curves`` gives each run's val_loss per epoch."""
    store = RunStore(path)
    d = demos.DEMOS[DEMO]
    configs, _ = demos.validated(d)
    ids = store.create_runs(configs, names=NAMES, sweep_id=SWEEP, tags=[d.tag])
    for rid, cfg, name in zip(ids, configs, NAMES, strict=True):
        status = statuses.get(name, "completed")
        if status == "queued":
            continue
        store.claim(rid, "w-test")
        store.record_start(rid, _info(cfg))
        for e, v in enumerate(curves.get(name, []), start=1):
            store.append_epoch(
                rid,
                {
                    "epoch": e,
                    "values": {"loss": v * 0.9, "val_loss": v, "mae": 0.5, "val_mae": 0.5},
                    "lr": cfg["learning_rate"],
                    "epoch_time": 0.3,
                    "examples_per_sec": 1500.0,
                    "wall_time": 0.3 * e,
                    "updates": e * 10,
                },
            )
        label = (labels or {}).get(name, "healthy")
        store.set_diagnosis(rid, {"label": label, "labels": [label], "summary": SUMMARY[label]})
        if status != "running":
            _finish(store, rid, status, cfg)
    store.close()
    return ids


CURVES = {
    "lr 1e-4": [3.0, 2.9, 2.8],
    RIGHT: [2.0, 0.5, 0.1],
    "lr 0.2": [1.0, 0.4, 0.3],
    "lr 1.0": [float("nan")],
}
LABELS = {
    "lr 1e-4": "lr_too_low",
    RIGHT: "healthy",
    "lr 0.2": "lr_too_high",
    "lr 1.0": "diverged",
}
DONE = {"lr 1.0": "diverged"}


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_prediction_recorded_before_launch_goes_with_the_launch(store_path):
    at = open_app(PAGE, demos_pick=DEMO)
    assert not at.exception, [e.message for e in at.exception]
    text = all_text(at).replace(JOINER, "")
    assert QUESTION in text
    assert "Not launched yet: record your prediction, then launch" in text
    assert not [b for b in at.button if b.key and b.key.endswith("_reveal")]  # nothing yet
    nxt = f"reveal_{DEMO}_next"
    at.radio(key=f"{nxt}_run").set_value(RIGHT)
    at.button(key=f"{nxt}_submit").click().run()
    assert f"**Your prediction:** {RIGHT}" in _markdown(at)
    at.button(key=f"demos_launch_{DEMO}").click().run()
    (sweep,) = {r["sweep_id"] for r in RunStore(store_path).list_runs(tag=f"demo:{DEMO}")}
    assert at.session_state[f"reveal_{DEMO}_{sweep}"]["prediction"] == RIGHT
    assert at.session_state[nxt]["prediction"] is None  # taken by this launch only
    assert f"**Your prediction:** {RIGHT}" in _markdown(at)
    assert "0/4 finished" in _markdown(at)
    assert at.button(key=f"reveal_{DEMO}_{sweep}_reveal")


def test_before_reveal_diagnoses_and_curves_are_hidden_and_a_prediction_is_kept(store_path):
    _launch(store_path, CURVES, {**DONE, RIGHT: "running"}, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    assert not at.exception, [e.message for e in at.exception]
    md = _markdown(at)
    assert "LR too low]" not in md and "the lesson predicts" not in md  # no diagnosis
    assert "diverged" not in md  # not even as a status: it would answer a label question
    bars = [b.proto.text for b in at.get("progress")]
    assert bars and not [b for b in bars if "loss" in b or "val" in b], bars  # no values
    # lr 1.0 diverged in its first epoch: "epoch 1/20" would say so
    assert "finished" in bars and not [b for b in bars if "1/20" in b], bars
    assert not at.get("plotly_chart")
    assert not any(demos.DEMOS[DEMO].look_for in i.value for i in at.info)
    assert at.radio(key=f"{BASE}_run").options == NAMES
    # Recording nothing names the field
    at.button(key=f"{BASE}_submit").click().run()
    assert [e.value for e in at.error] == ["**prediction**: choose the run you think ends lowest"]
    at.radio(key=f"{BASE}_run").set_value("lr 0.2")
    at.button(key=f"{BASE}_submit").click().run()
    assert not at.error
    assert "**Your prediction:** lr 0.2" in _markdown(at)
    at.run()  # a rerun keeps it
    assert "**Your prediction:** lr 0.2" in _markdown(at)
    assert at.session_state[BASE]["prediction"] == "lr 0.2"
    assert not at.get("plotly_chart")

    # Reveal while lr 0.01 still trains: curves, diagnoses, a provisional grade
    at.button(key=f"{BASE}_reveal").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (chart,) = at.get("plotly_chart")
    traces = json.loads(chart.proto.spec)["data"]
    assert {t["name"] for t in traces if t.get("showlegend", True) and t.get("name")} >= set(NAMES)
    md = _markdown(at)
    assert "LR too low]" in md and "diverged]" in md  # each run's diagnosis badge
    assert (
        # the picked run's own final value beside it: how close the student came
        "**Your prediction:** lr 0.2 :yellow-badge[:material/bolt: LR too high] (0.3) · "
        ":red-badge[:material/close: not correct so far] · lowest final val\\_loss: "
        f"**{RIGHT} so far**" in md
    )
    assert f"{BASE}_reveal" not in [b.key for b in at.button]  # revealed for good
    # what to look for names the answer: it waits for the reveal, then shows
    look_for = demos.DEMOS[DEMO].look_for
    assert any(look_for in i.value for i in at.info)


def test_after_the_runs_finish_the_prediction_is_graded(store_path):
    _launch(store_path, CURVES, DONE, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    at.radio(key=f"{BASE}_run").set_value(RIGHT)
    at.button(key=f"{BASE}_submit").click().run()
    at.button(key=f"{BASE}_reveal").click().run()
    md = _markdown(at)
    assert ":green-badge[:material/check: correct] · lowest final val\\_loss: " in md
    assert f"**{RIGHT}** :green-badge[:material/check_circle: healthy] (0.1)" in md
    assert "so far" not in md


def test_a_teacher_reveals_without_a_prediction(store_path):
    _launch(store_path, CURVES, DONE, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    at.button(key=f"{BASE}_reveal").click().run()
    md = _markdown(at)
    assert "**No prediction was recorded.**" in md
    assert f"lowest final val\\_loss: **{RIGHT}**" in md
    assert at.get("plotly_chart")


def test_a_new_launch_asks_again(store_path):
    _launch(store_path, CURVES, DONE, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    at.radio(key=f"{BASE}_run").set_value(RIGHT)
    at.button(key=f"{BASE}_submit").click().run()
    at.button(key=f"demos_launch_{DEMO}").click().run()
    assert "**Your prediction:**" not in _markdown(at)
    assert any(r.options == NAMES for r in at.radio if r.key != "demos_pick")


def _with_question(monkeypatch, tmp_path, **question):
    """The learning-rate lesson asking another question (its file, as a teacher edits it)."""
    lessons_with(tmp_path, monkeypatch, DEMO, question={"text": "Predict it.", **question})


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "must be an epoch from 1 to 19, got 0"),
        ("-1", "must be an epoch from 1 to 19, got -1"),
        ("1e9", "must be an epoch from 1 to 19, got 1000000000"),
        ("2.5", "must be a whole number of epochs, got 2.5"),
        ("", "is empty: type the epoch where the curve turns up"),
    ],
)
def test_a_turn_epoch_typed_oddly_is_named_never_a_traceback(
    store_path, tmp_path, monkeypatch, typed, message
):
    _with_question(monkeypatch, tmp_path, kind="turn", run=RIGHT)
    _launch(store_path, {RIGHT: [2.0, 0.5, 0.7]}, {**DONE, RIGHT: "running"}, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    at.text_input(key=f"{BASE}_epoch").input(typed)
    at.button(key=f"{BASE}_submit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = [e.value.replace(JOINER, "") for e in at.error]  # escaped as typed text is
    assert shown == [f"**epoch**: {message}"]
    assert at.session_state[BASE]["prediction"] is None


def test_the_turn_epoch_field_takes_an_epoch_not_an_essay(store_path, tmp_path, monkeypatch):
    """A pasted paragraph was echoed back whole in the error box (3000 x's filled the
    screen at 1280x720): the field holds a few digits, as an epoch number needs."""
    _with_question(monkeypatch, tmp_path, kind="turn", run=RIGHT)
    _launch(store_path, {RIGHT: [2.0, 0.5, 0.7]}, {**DONE, RIGHT: "running"}, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    assert at.text_input(key=f"{BASE}_epoch").max_chars == reveal_view.EPOCH_CHARS
    assert 4 <= reveal_view.EPOCH_CHARS <= 12


def test_a_turn_prediction_is_graded_live(store_path, tmp_path, monkeypatch):
    _with_question(monkeypatch, tmp_path, kind="turn", run=RIGHT)
    _launch(store_path, {RIGHT: [2.0, 0.5, 0.7]}, {**DONE, RIGHT: "running"}, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    at.text_input(key=f"{BASE}_epoch").input("2")
    at.button(key=f"{BASE}_submit").click().run()
    assert "**Your prediction:** epoch 2" in _markdown(at)
    at.button(key=f"{BASE}_reveal").click().run()
    assert ":green-badge[:material/check: correct so far]" in _markdown(at)


def test_a_label_question_asks_a_diagnosis_per_run(store_path, tmp_path, monkeypatch):
    _with_question(monkeypatch, tmp_path, kind="label")
    _launch(store_path, CURVES, DONE, LABELS)
    at = open_app(PAGE, demos_pick=DEMO)
    boxes = [at.selectbox(key=f"{BASE}_label_{i}") for i in range(4)]
    assert [b.label for b in boxes] == NAMES
    assert "LR too high" in boxes[0].options  # the labels in words
    at.button(key=f"{BASE}_submit").click().run()
    assert (
        len(at.error) == 4 and at.error[0].value == "**prediction · lr 1e-4**: choose a diagnosis"
    )
    for i, label in enumerate(["lr_too_low", "healthy", "healthy", "diverged"]):
        at.selectbox(key=f"{BASE}_label_{i}").set_value(label)
    at.button(key=f"{BASE}_submit").click().run()
    at.button(key=f"{BASE}_reveal").click().run()
    md = _markdown(at)
    assert md.count(":green-badge[:material/check: correct]") == 3
    assert md.count(":red-badge[:material/close: not correct]") == 1


def test_a_turn_predicted_before_launch_is_bounded_by_the_runs_epochs(
    store_path, tmp_path, monkeypatch
):
    _with_question(monkeypatch, tmp_path, kind="turn", run=RIGHT)
    at = open_app(PAGE, demos_pick=DEMO)
    nxt = f"reveal_{DEMO}_next"
    at.text_input(key=f"{nxt}_epoch").input("20")
    at.button(key=f"{nxt}_submit").click().run()
    assert [e.value for e in at.error] == ["**epoch**: must be an epoch from 1 to 19, got 20"]
    at.text_input(key=f"{nxt}_epoch").input("")
    at.checkbox(key=f"{nxt}_never").check()
    at.button(key=f"{nxt}_submit").click().run()
    assert not at.error and "**Your prediction:** never turns up" in _markdown(at)
