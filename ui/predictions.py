"""Predict, then reveal: a lesson's question, its answer from the store, and the grade.

A lesson may ask students to commit to a prediction before the curves show (issue 15):
which run ends lowest, which label the diagnosis will give, where the validation curve
turns up. This module is the pure part: it reads the question (a lesson's typed record
or the JSON schema's dict, whichever the caller holds), works the answer out of the
store's run dicts and epoch series, and compares a prediction with it. While runs train
the answer is provisional ("so far") and it is final once every run it depends on is
terminal, so the reveal can go live while the runs train and settle when they end.

No Streamlit here (``ui.reveal_view`` draws it); label names come from the engine's one
home for them (``engine.diagnosis.text``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.diagnosis.text import NAMES
from engine.store import TERMINAL

KINDS = ("lowest", "label", "turn")
DEFAULT_METRIC = "val_loss"
# What a student may predict a diagnosis to be: the main labels a finished run gets.
# "still improving" is a finding beside healthy, "too early" is not a verdict.
PREDICTABLE = ("healthy", "underfitting", "overfitting", "lr_too_high", "lr_too_low", "diverged")
# Runs whose last value is no result: a NaN loss or a crash is never "lowest".
NO_RESULT = ("diverged", "failed")
TIE_TOLERANCE = 1e-9  # relative: two final values this close are one value


class QuestionLike(Protocol):
    """What this module reads of a lesson's question (the ``lessons`` record has these)."""

    kind: str
    text: str
    metric: str
    run: str | None


@dataclass(frozen=True)
class Asked:
    """A question as this module uses it: checked, the metric defaulted."""

    kind: str
    text: str
    metric: str = DEFAULT_METRIC
    run: str | None = None


def question_of(q: QuestionLike | Mapping[str, Any]) -> Asked:
    """The question from a typed record or the schema's dict; a malformed one is a
    ``ValueError`` naming the field (a lesson file is data a teacher wrote)."""
    get = q.get if isinstance(q, Mapping) else (lambda k, d=None: getattr(q, k, d))
    kind, text = get("kind"), get("text")
    metric, run = get("metric") or DEFAULT_METRIC, get("run")
    if kind not in KINDS:
        raise ValueError(f"question.kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("question.text: must be the prompt students read")
    if not isinstance(metric, str):
        raise ValueError(f"question.metric: must be a series name, got {metric!r}")
    if run is not None and not isinstance(run, str):
        raise ValueError(f"question.run: must be a run name, got {run!r}")
    if kind == "turn" and not run:
        raise ValueError("question.run: a 'turn' question names the run whose curve turns")
    return Asked(kind, text, metric, run)


# ----------------------------------------------------------------------------- the answer


@dataclass(frozen=True)
class Answer:
    """What the runs say so far. ``final`` once every run it depends on is terminal.

    ``lowest``: the runs (ties: all of them) with the lowest last-epoch value, and
    ``value``; ``labels``: run name → main diagnosis label (None: not judged yet);
    ``turn``: the epoch where the run's curve is lowest before it rises (None: it has
    not turned), ``known`` False while the named run has no value at all.
    """

    kind: str
    final: bool
    known: bool
    lowest: tuple[str, ...] = ()
    value: float | None = None
    labels: Mapping[str, str | None] | None = None
    turn: int | None = None
    finished: frozenset[str] = frozenset()  # names of the terminal runs asked about


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _name(run: Mapping[str, Any]) -> str:
    return run.get("name") or run["id"]


def _points(series: Mapping[str, Any] | None, metric: str) -> tuple[list[int], list[Any]]:
    """The metric's ``(epochs, values)`` from one run's epoch series (store ``Series``
    records or plain dicts); empty when the run logged none yet."""
    s = (series or {}).get(metric)
    if not s:
        return [], []
    return list(s["epoch"]), list(s["value"])


def main_label(run: Mapping[str, Any]) -> str | None:
    """The stored diagnosis' main label; None before it can judge (``too_early``)."""
    d = run.get("diagnosis")
    label = d.get("label") if isinstance(d, Mapping) else None
    return None if label in (None, "too_early") else label


def final_value(run: Mapping[str, Any], series: Mapping[str, Any] | None, metric: str):
    """The metric at the run's last epoch, or None when it has no result: not logged
    yet, NaN/inf, or the run diverged or failed."""
    _, values = _points(series, metric)
    if run.get("status") in NO_RESULT or not values or not _finite(values[-1]):
        return None
    return float(values[-1])


def turn_epoch(epochs: Sequence[int], values: Sequence[Any]) -> int | None:
    """The epoch of the curve's lowest finite value when a later epoch is higher (a NaN
    or inf later counts as higher: the curve blew up); None while it has not turned.
    Of equal lowest values the first counts: the curve stopped falling there."""
    best = None
    for i, v in enumerate(values):
        if _finite(v) and (best is None or v < values[best]):
            best = i
    if best is None:
        return None
    later = values[best + 1 :]
    rose = any(not _finite(v) or v > values[best] for v in later if v is not None)
    return int(epochs[best]) if rose else None


def answer(
    question: QuestionLike | Mapping[str, Any] | Asked,
    runs: Sequence[Mapping[str, Any]],
    series: Mapping[str, Mapping[str, Any]],
) -> Answer:
    """The question's answer from ``runs`` (store run dicts) and ``series`` (run id →
    its epoch series, as ``RunStore.epoch_series`` or ``ui.resources.series_for``)."""
    q = question if isinstance(question, Asked) else question_of(question)
    if q.kind == "lowest":
        final = bool(runs) and all(r["status"] in TERMINAL for r in runs)
        values = {_name(r): final_value(r, series.get(r["id"]), q.metric) for r in runs}
        scored = {n: v for n, v in values.items() if v is not None}
        if not scored:
            return Answer(q.kind, final, known=False)
        low = min(scored.values())
        tied = tuple(
            n for n, v in scored.items() if math.isclose(v, low, rel_tol=TIE_TOLERANCE, abs_tol=0)
        )
        return Answer(q.kind, final, known=True, lowest=tied, value=low)
    asked = [r for r in runs if q.run is None or _name(r) == q.run]
    final = bool(asked) and all(r["status"] in TERMINAL for r in asked)
    if q.kind == "label":
        labels = {_name(r): main_label(r) for r in asked}
        done = frozenset(_name(r) for r in asked if r["status"] in TERMINAL)
        known = any(v is not None for v in labels.values())
        return Answer(q.kind, final, known=known, labels=labels, finished=done)
    epochs, values = _points(series.get(asked[0]["id"]) if asked else None, q.metric)
    return Answer(
        q.kind, final, known=any(_finite(v) for v in values), turn=turn_epoch(epochs, values)
    )


# ----------------------------------------------------------------------------- predictions


NEVER = "never"  # a "turn" prediction that the curve never turns up


def parse_epoch(text: Any, last_epoch: int) -> tuple[int | None, str | None]:
    """A typed epoch for a "turn" prediction: ``(epoch, None)`` or ``(None, message)``.

    Typed as text so nothing is clamped or rounded: 0, -1, 1e9, 2.5 and an empty box
    are each named. A curve can turn up at epochs 1 … last − 1 (lowest at the last
    epoch, it never rose)."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        return None, "is empty: type the epoch where the curve turns up"
    try:
        v = float(raw)
    except ValueError:
        return None, f"must be a whole number of epochs, got {raw!r}"
    if not math.isfinite(v) or not v.is_integer():
        return None, f"must be a whole number of epochs, got {raw}"
    hi = max(1, last_epoch - 1)
    if not 1 <= v <= hi:
        return None, f"must be an epoch from 1 to {hi}, got {int(v)}"
    return int(v), None


@dataclass(frozen=True)
class Grade:
    """One prediction against the answer: ``correct`` None while there is nothing to
    compare yet (no value, not judged); ``subject`` names the run for a per-run label."""

    subject: str | None
    predicted: str
    actual: str
    correct: bool | None
    final: bool


def label_text(label: str | None) -> str:
    return "not judged yet" if label is None else NAMES.get(label, label.replace("_", " "))


def turn_text(epoch: int | None) -> str:
    return "never turns up" if epoch is None else f"epoch {epoch}"


def _so_far(text: str, final: bool) -> str:
    return text if final else f"{text} so far"


def answer_lines(
    question: QuestionLike | Mapping[str, Any] | Asked, ans: Answer
) -> list[tuple[str | None, str]]:
    """The answer in words, ``(run or None, text)``, "so far" while it can change."""
    q = question if isinstance(question, Asked) else question_of(question)
    if q.kind == "lowest":
        text = " = ".join(ans.lowest) if ans.known else "no run has a value yet"
        return [(None, _so_far(text, ans.final))]
    if q.kind == "label":
        return [
            (run, _so_far(label_text(lab), run in ans.finished or lab is None))
            for run, lab in (ans.labels or {}).items()
        ]
    text = turn_text(ans.turn) if ans.known else "no value yet"
    return [(q.run, _so_far(text, ans.final))]


def grade(
    question: QuestionLike | Mapping[str, Any] | Asked, prediction: Any, ans: Answer
) -> list[Grade]:
    """Each predicted item against ``ans``. ``prediction`` is what ``reveal_view`` keeps:
    a run name ("lowest"), run name → label ("label"), an epoch or ``NEVER`` ("turn")."""
    q = question if isinstance(question, Asked) else question_of(question)
    lines = dict(answer_lines(q, ans))
    if q.kind == "lowest":
        ok = (prediction in ans.lowest) if ans.known else None
        return [Grade(None, str(prediction), lines[None], ok, ans.final)]
    if q.kind == "label":
        out = []
        for run, predicted in dict(prediction or {}).items():
            got = (ans.labels or {}).get(run)
            actual = lines.get(run, label_text(None))
            ok = None if got is None else got == predicted
            out.append(Grade(run, label_text(predicted), actual, ok, run in ans.finished))
        return out
    predicted_turn = None if prediction == NEVER else int(prediction)
    ok = (predicted_turn == ans.turn) if ans.known else None
    return [Grade(q.run, turn_text(predicted_turn), lines[q.run], ok, ans.final)]
