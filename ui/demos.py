"""Guided demos: the documents' lessons as launchable experiments with known answers.

A demo is a lesson file in ``lessons/`` (read by ``ui.lessons``): a documented
comparison plus what each of its runs should be diagnosed as. The expectations are
not hopes: the real-run suite (``tests/engine/test_diagnosis_suite.py``) trains every
demo config and checks the engine's diagnosis against them, so a teacher who launches
a demo sees the label the page promised.

Everything here is pure data and pure functions over store run dicts; the page
(``pages/demos.py``) only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ui import lessons
from ui.diagnosis_view import label_text
from ui.plan import validate_plan

TAG_PREFIX = lessons.TAG_PREFIX
PAGE = "pages/demos.py"

# A demo is a lesson (``ui.lessons``): the names Guided demos have always used.
Demo = lessons.Lesson
DemoRun = lessons.LessonRun


def demo_tag(demo_id: str) -> str:
    return f"{TAG_PREFIX}{demo_id}"


def catalog() -> lessons.Catalog:
    """The lessons in the lessons folder (``ui.lessons.folder``) as they are now (a file
    added or fixed shows on the next rerun), every bad file's problems named by file and
    field."""
    return lessons.load_folder(lessons.folder())


_CATALOG = lessons.load_folder()
# The shipped lessons, read once at import (tests and the engine's suite use these).
DEMOS: dict[str, Demo] = _CATALOG.lessons
PROBLEMS: list[tuple[str, str]] = _CATALOG.problems


def validated(demo: Demo) -> tuple[list[dict], list[tuple[str, str]]]:
    """Canonical configs of the demo's runs, or every problem named by run and field."""
    return validate_plan(demo.planned())


# ----------------------------------------------------------------------------- results


def demo_runs(runs: Iterable[Mapping[str, Any]], demo_id: str) -> list[Mapping[str, Any]]:
    """The runs of the demo's latest launch (its newest sweep), oldest first."""
    tagged = [r for r in runs if demo_tag(demo_id) in (r.get("tags") or [])]
    if not tagged:
        return []
    latest = max(tagged, key=lambda r: r.get("created") or 0.0).get("sweep_id")
    return [r for r in tagged if r.get("sweep_id") == latest]


@dataclass(frozen=True)
class Verdict:
    name: str
    status: str
    label: str | None  # the stored diagnosis' main label; None before the first epoch
    summary: str
    expect: tuple[str, ...]

    @property
    def as_expected(self) -> bool | None:
        """True/False once judged; None while there is nothing to compare yet."""
        if self.label is None or self.label == "too_early" or not self.expect:
            return None  # not judged yet, or a run the lesson makes no prediction for
        return self.label in self.expect


def verdicts(demo: Demo, runs: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """Each launched run's diagnosis next to what the demo expects of it (matched by
    run name, so a renamed run simply has no expectation)."""
    expect = {r.name: r.expect for r in demo.runs}
    out = []
    for r in runs:
        diag = r.get("diagnosis") if isinstance(r.get("diagnosis"), Mapping) else None
        out.append(
            Verdict(
                r.get("name") or r["id"],
                r["status"],
                diag.get("label") if diag else None,
                diag.get("summary", "") if diag else "",
                expect.get(r.get("name"), ()),
            )
        )
    return out


def expect_text(expect: Sequence[str]) -> str:
    """``LR too high or diverged``."""
    return " or ".join(label_text(e) for e in expect) or "—"
