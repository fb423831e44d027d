"""Property: a lesson file damaged anywhere — a value replaced, a key dropped or added,
the text cut or junk — gives a lesson or field-named problems, never a traceback; and
when a single value is damaged, a problem names the part of the file it is in."""

from __future__ import annotations

import collections
import copy
import json

from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ConfigError
from tests.fuzz_strategies import check_refusal, fuzz_settings, json_value, wild
from ui import lessons

SHIPPED = {p.stem: json.loads(p.read_text()) for p in sorted(lessons.LESSONS_DIR.glob("*.json"))}


def _paths(doc, prefix=()):
    """Every place in a document: (path as keys/indices, value)."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _put(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


PLAUSIBLE = st.sampled_from(
    [-1, 0, 1e-4, 2.0, 1e9, "", "healthy", "nope", None, True, [], {}, ["healthy"], "x" * 300]
)


@st.composite
def damaged(draw):
    """``(document or text, the top-level key damaged or None)``."""
    doc = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    how = draw(st.integers(0, 5))
    places = [p for p, _ in _paths(doc) if p]
    if how <= 2:  # replace one value
        path = draw(st.sampled_from(places))
        _put(doc, path, draw(st.one_of(PLAUSIBLE, wild, json_value)))
        return doc, path[0]
    if how == 3:  # drop a key
        path = draw(st.sampled_from([p for p in places if isinstance(p[-1], str)]))
        node = doc
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
        return doc, None
    if how == 4:  # add a key
        path = draw(st.sampled_from([p for p, v in _paths(doc) if isinstance(v, dict)]))
        node = doc
        for k in path:
            node = node[k]
        node[draw(st.text(max_size=6))] = draw(json_value)
        return doc, None
    text = json.dumps(doc)
    cut = draw(st.integers(0, len(text)))
    return text[:cut] + draw(st.sampled_from(["", "]", "[" * 40, "9" * 5000])), None


OUTCOMES: collections.Counter = collections.Counter()


@fuzz_settings()
@given(damaged())
def test_a_damaged_lesson_is_refused_by_field_never_with_a_traceback(case):
    doc, top = case
    try:
        if isinstance(doc, str):
            lessons.loads(doc, "fuzzed")
        else:
            lessons.parse(doc, "fuzzed")
    except ConfigError as e:
        check_refusal(e)
        if top is not None:
            # The damaged part of the file is named (a question can also fail for the
            # runs it asks about, so the runs are named too when the runs break).
            heads = {f.split(".")[0].split("[")[0].split(" ")[0] for f, _ in e.problems}
            assert top in heads or "lesson" in heads, (top, e.problems)
        OUTCOMES["refused"] += 1
        return
    OUTCOMES["accepted"] += 1


def test_both_outcomes_were_exercised():
    """Runs after the property (file order): the fuzz was not all one path."""
    if sum(OUTCOMES.values()) >= 1000:
        assert OUTCOMES["refused"] >= 300 and OUTCOMES["accepted"] >= 50, OUTCOMES
    print(f"\nlesson fuzz: {dict(OUTCOMES)}, traceback: 0")


CONTROLLED = {}


def _controlled(lesson_id: str):
    from ui import demos, lesson_controls

    if lesson_id not in CONTROLLED:
        d = demos.DEMOS[lesson_id]
        canonical, _ = demos.validated(d)
        CONTROLLED[lesson_id] = (d, lesson_controls.controls(d, canonical))
    return CONTROLLED[lesson_id]


@fuzz_settings()
@given(st.data())
def test_whatever_a_control_holds_the_launch_is_validated_never_a_traceback(data):
    """A control can hold anything a session can (an emptied number input is None, a
    typed 1e308, a stale value of another kind): the runs are validated and every
    problem is keyed to a control or listed, never raised."""
    from ui import lesson_controls

    d, ctrls = _controlled(data.draw(st.sampled_from(sorted(SHIPPED))))
    values = {}
    for c in ctrls:
        n = len(c.values)
        vals = list(c.values)
        if data.draw(st.booleans()):
            i = data.draw(st.integers(0, n - 1))
            vals[i] = data.draw(st.one_of(PLAUSIBLE, wild))
        values[c.path] = vals
    ed = lesson_controls.edited(d, ctrls, values)
    assert len(ed.names) == len(ed.raws) == len(ed.configs) == len(d.runs)
    assert ed.ok == all(c is not None for c in ed.configs)
    for f, m in ed.all_problems():
        assert f and m
    if not any(ed.changed):
        assert ed.ok and ed.raws == [r.config for r in d.runs]
