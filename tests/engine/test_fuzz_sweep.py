"""Property: any sweep file expands to validated runs or is refused with field-named
errors, never a crash — as a Python object and as the text of a file."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from engine import json_input
from engine.sweep import MAX_RUNS, expand
from tests.fuzz_strategies import FUZZ_CASES, fuzz_outcomes, sweep


def _as_text(obj, draw) -> str | None:
    try:
        text = json.dumps(obj)
    except (ValueError, RecursionError, TypeError):  # too deep or too long for json itself
        return None
    if draw(st.integers(0, 4)) == 0:  # a damaged file
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[" * 1200, "1" * 5000, "}", "\x00"]))
    return text


def _expands(case):
    raw, data = case
    text = _as_text(raw, data.draw) if data.draw(st.booleans()) else None
    doc = raw if text is None else json_input.loads(text, "sweep")
    runs = expand(doc)
    assert 1 <= len(runs) <= MAX_RUNS
    assert all(r["name"] and len(r["name"]) <= 200 for r in runs)


def test_any_sweep_expands_or_is_refused_by_field():
    outcomes = fuzz_outcomes("sweep", st.tuples(sweep(), st.data()), _expands)
    assert outcomes["accepted"] >= FUZZ_CASES // 20
    assert outcomes["field-named error"] >= FUZZ_CASES // 10
