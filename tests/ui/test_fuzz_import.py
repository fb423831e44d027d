"""Property: any text pasted or uploaded into Set up runs › Import gives a config or
field-named problems, never a traceback (``ui.plan.parse_config_text``, then the
validator the form's ``load_raw`` uses)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from engine.config import validate
from engine.errors import ConfigError
from tests.fuzz_strategies import FUZZ_CASES, REFUSED, config, fuzz_outcomes, json_value, wild
from ui.plan import parse_config_text


@st.composite
def import_text(draw) -> str | bytes:
    """A config, a run, or a runs export (well-formed or not), as text; or junk."""
    cfg = draw(config())
    shape = draw(st.integers(0, 6))
    if shape == 0:
        doc = cfg
    elif shape == 1:
        doc = {"id": "x", "config": cfg}
    elif shape == 2:
        doc = {"format": "hplab-runs", "version": 1, "runs": [{"id": "x", "config": cfg}]}
    elif shape == 3:
        doc = {"format": "hplab-runs", "runs": draw(st.one_of(wild, json_value))}
    elif shape == 4:
        doc = {"format": "hplab-runs", "runs": [draw(st.one_of(wild, json_value))]}
    elif shape == 5:
        doc = draw(st.one_of(wild, json_value))
    else:
        return draw(
            st.one_of(
                st.binary(max_size=50),
                st.text(max_size=50),
                st.sampled_from(["[" * 1000 + "]" * 1000, "{" * 1200, "9" * 5000, ""]),
            )
        )
    try:
        text = json.dumps(doc)
    except (ValueError, RecursionError, TypeError):
        return "[" * 2000
    if draw(st.integers(0, 5)) == 0:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "]", '"', "1" * 4400, "[" * 999]))
    return text.encode() if draw(st.booleans()) else text


def _imports(text):
    raw, problems = parse_config_text(text)
    if raw is None:
        assert problems and all(f and m for f, m in problems), problems
        return REFUSED
    assert problems == [] and isinstance(raw, dict)
    try:
        validate(raw)
    except ConfigError as e:
        assert all(f for f, _ in e.problems), e.problems
        return REFUSED
    return None


def test_any_import_gives_a_config_or_field_named_problems():
    outcomes = fuzz_outcomes("import", import_text(), _imports)
    assert outcomes["accepted"] >= FUZZ_CASES // 20
    assert outcomes["field-named error"] >= FUZZ_CASES // 10
