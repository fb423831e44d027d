"""Predict, then reveal: each question kind's answer from run dicts and their series
(NaN and diverged runs, ties, curves that never turn, runs still training), the typed
epoch's messages, and each prediction's grade."""

from __future__ import annotations

import math

import pytest

from ui import predictions as P

NAN = math.nan


def _run(rid, status="completed", label=None, name=None):
    diag = {"label": label} if label else None
    return {"id": rid, "name": name or rid, "status": status, "diagnosis": diag}


def _series(values, key="val_loss"):
    return {key: {"epoch": list(range(1, len(values) + 1)), "value": list(values)}}


LOWEST = {"kind": "lowest", "text": "Which run ends lowest?"}


# ----------------------------------------------------------------------------- questions


class _Record:  # the lessons helper's typed record: attributes, not keys
    kind, text, metric, run = "turn", "Where does it turn up?", "val_loss", "a"


def test_a_question_reads_from_a_dict_or_a_typed_record_with_the_metric_defaulted():
    assert P.question_of(LOWEST) == P.Asked("lowest", "Which run ends lowest?", "val_loss")
    assert P.question_of(_Record()) == P.Asked("turn", "Where does it turn up?", "val_loss", "a")


@pytest.mark.parametrize(
    ("q", "field"),
    [
        ({"kind": "best", "text": "x"}, "question.kind"),
        ({"kind": "lowest", "text": " "}, "question.text"),
        ({"kind": "turn", "text": "x"}, "question.run"),
        ({"kind": "label", "text": "x", "run": 3}, "question.run"),
    ],
)
def test_a_malformed_question_names_its_field(q, field):
    with pytest.raises(ValueError, match=field):
        P.question_of(q)


# ----------------------------------------------------------------------------- lowest


def test_lowest_is_the_lowest_last_epoch_not_the_lowest_ever():
    runs = [_run("a"), _run("b")]
    series = {"a": _series([0.1, 0.9]), "b": _series([0.5, 0.4])}
    ans = P.answer(LOWEST, runs, series)
    assert ans.lowest == ("b",) and ans.value == 0.4 and ans.final and ans.known


def test_nan_and_diverged_runs_are_never_lowest():
    runs = [_run("nan"), _run("div", "diverged"), _run("fail", "failed"), _run("ok")]
    series = {
        "nan": _series([0.1, NAN]),
        "div": _series([0.01]),  # its last finite value is not a result
        "fail": _series([0.02]),
        "ok": _series([3.0]),
    }
    assert P.answer(LOWEST, runs, series).lowest == ("ok",)
    only_bad = P.answer(LOWEST, runs[:3], series)
    assert not only_bad.known and only_bad.lowest == ()
    (g,) = P.grade(LOWEST, "nan", only_bad)
    assert g.correct is None and g.actual == "no run has a value yet"


def test_a_tie_for_lowest_names_both_and_either_prediction_is_right():
    runs = [_run("a"), _run("b"), _run("c")]
    series = {"a": _series([0.3]), "b": _series([0.3 * (1 + 1e-12)]), "c": _series([0.31])}
    ans = P.answer(LOWEST, runs, series)
    assert ans.lowest == ("a", "b")
    assert P.grade(LOWEST, "b", ans)[0].correct is True
    assert P.grade(LOWEST, "c", ans)[0].correct is False
    assert P.grade(LOWEST, "a", ans)[0].actual == "a = b"


def test_while_runs_train_the_answer_is_provisional_then_final():
    series = {"a": _series([0.5, 0.2]), "b": _series([0.4])}
    live = P.answer(LOWEST, [_run("a"), _run("b", "running")], series)
    assert live.lowest == ("a",) and not live.final
    (g,) = P.grade(LOWEST, "a", live)
    assert g.correct is True and g.actual == "a so far" and not g.final
    series["b"] = _series([0.4, 0.1])
    done = P.answer(LOWEST, [_run("a"), _run("b")], series)
    assert done.final and P.grade(LOWEST, "a", done)[0] == P.Grade(None, "a", "b", False, True)
    queued = P.answer(LOWEST, [_run("a", "queued")], {"a": {}})
    assert not queued.known and not queued.final


def test_another_metric_is_read_when_the_question_names_it():
    q = {**LOWEST, "metric": "val_mae"}
    series = {"a": {**_series([0.1]), **_series([5.0], "val_mae")}, "b": _series([1.0], "val_mae")}
    assert P.answer(q, [_run("a"), _run("b")], series).lowest == ("b",)


# ----------------------------------------------------------------------------- label


def test_label_gives_every_runs_main_label_not_judged_while_too_early():
    q = {"kind": "label", "text": "What will each run be diagnosed as?"}
    runs = [_run("a", label="healthy"), _run("b", "running", "too_early"), _run("c", "queued")]
    ans = P.answer(q, runs, {})
    assert ans.labels == {"a": "healthy", "b": None, "c": None} and not ans.final
    grades = P.grade(q, {"a": "healthy", "b": "diverged", "c": "lr_too_low"}, ans)
    assert [(g.subject, g.correct, g.final) for g in grades] == [
        ("a", True, True),
        ("b", None, False),
        ("c", None, False),
    ]
    assert grades[0].actual == "healthy" and grades[1].actual == "not judged yet"
    assert grades[2].predicted == "LR too low"


def test_label_of_one_named_run_and_a_wrong_guess():
    q = {"kind": "label", "text": "x", "run": "b"}
    runs = [_run("a", label="healthy"), _run("b", "running", "lr_too_high")]
    ans = P.answer(q, runs, {})
    assert ans.labels == {"b": "lr_too_high"} and not ans.final
    (g,) = P.grade(q, {"b": "healthy"}, ans)
    assert g.correct is False and g.actual == "LR too high so far"


# ----------------------------------------------------------------------------- turn


TURN = {"kind": "turn", "text": "Where does validation loss turn up?", "run": "a"}


@pytest.mark.parametrize(
    ("values", "epoch"),
    [
        ([1.0, 0.5, 0.4, 0.6, 0.9], 3),  # lowest at 3, then rises
        ([1.0, 0.5, 0.4, 0.3], None),  # still falling: never turned
        ([1.0, 0.5, 0.5, 0.7], 2),  # flat then up: it stopped falling at the first
        ([1.0, 0.6, 0.8, 0.5], None),  # a bump, then lower still: lowest is last
        ([1.0, 0.4, NAN], 2),  # blew up: NaN after the lowest is a rise
        ([NAN, NAN], None),  # no finite value at all
        ([0.3], None),
        ([], None),
    ],
)
def test_turn_epoch(values, epoch):
    assert P.turn_epoch(list(range(1, len(values) + 1)), values) == epoch


def test_turn_is_provisional_while_the_run_trains_and_reads_the_named_run():
    runs = [_run("a", "running"), _run("b")]
    series = {"a": _series([1.0, 0.5]), "b": _series([1.0, 0.2, 0.9])}
    live = P.answer(TURN, runs, series)
    assert live.known and live.turn is None and not live.final
    (g,) = P.grade(TURN, P.NEVER, live)
    assert g.correct is True and g.actual == "never turns up so far"
    series["a"] = _series([1.0, 0.5, 0.7])
    done = P.answer(TURN, [_run("a"), runs[1]], series)
    assert done.turn == 2 and done.final
    assert P.grade(TURN, 2, done)[0] == P.Grade("a", "epoch 2", "epoch 2", True, True)
    assert P.grade(TURN, P.NEVER, done)[0].correct is False
    assert not P.answer(TURN, [_run("x")], {}).known  # the named run is not there


# ----------------------------------------------------------------------------- typed epochs


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "is empty: type the epoch where the curve turns up"),
        ("  ", "is empty: type the epoch where the curve turns up"),
        (None, "is empty: type the epoch where the curve turns up"),
        ("0", "must be an epoch from 1 to 19, got 0"),
        ("-1", "must be an epoch from 1 to 19, got -1"),
        ("1e9", "must be an epoch from 1 to 19, got 1000000000"),
        ("20", "must be an epoch from 1 to 19, got 20"),
        ("2.5", "must be a whole number of epochs, got 2.5"),
        ("inf", "must be a whole number of epochs, got inf"),
        ("nan", "must be a whole number of epochs, got nan"),
        ("five", "must be a whole number of epochs, got 'five'"),
    ],
)
def test_a_typed_epoch_that_cannot_be_one_is_named(typed, message):
    assert P.parse_epoch(typed, 20) == (None, message)


def test_a_typed_epoch_is_used_as_typed():
    assert P.parse_epoch(" 7 ", 20) == (7, None)
    assert P.parse_epoch("1e1", 20) == (10, None)
    assert P.parse_epoch("19.0", 20) == (19, None)
