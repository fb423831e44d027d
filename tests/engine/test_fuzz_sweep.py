"""Property: any sweep file expands to validated runs or is refused with field-named
errors, never a crash — as a Python object and as the text of a file."""

from __future__ import annotations

import collections
import json

from hypothesis import given
from hypothesis import strategies as st

from engine import json_input
from engine.errors import ConfigError
from engine.sweep import MAX_RUNS, expand
from tests.engine.test_fuzz_config import check_refusal
from tests.fuzz_strategies import FUZZ_CASES, fuzz_settings, sweep


def _as_text(obj, draw) -> str | None:
    try:
        text = json.dumps(obj)
    except (ValueError, RecursionError, TypeError):  # too deep or too long for json itself
        return None
    if draw(st.integers(0, 4)) == 0:  # a damaged file
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[" * 1200, "1" * 5000, "}", "\x00"]))
    return text


def test_any_sweep_expands_or_is_refused_by_field():
    outcomes: collections.Counter = collections.Counter()

    @fuzz_settings()
    @given(sweep(), st.data())
    def check(raw, data):
        text = _as_text(raw, data.draw) if data.draw(st.booleans()) else None
        try:
            doc = raw if text is None else json_input.loads(text, "sweep")
            runs = expand(doc)
        except ConfigError as e:
            check_refusal(e)
            outcomes["field-named error"] += 1
            return
        assert 1 <= len(runs) <= MAX_RUNS
        assert all(r["name"] and len(r["name"]) <= 200 for r in runs)
        outcomes["accepted"] += 1

    check()
    print(f"\nsweep fuzz: {dict(outcomes)}, traceback: 0")
    assert sum(outcomes.values()) >= FUZZ_CASES
    assert outcomes["accepted"] >= FUZZ_CASES // 20
    assert outcomes["field-named error"] >= FUZZ_CASES // 10
