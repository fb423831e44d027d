"""Property: any config a person can hand in is accepted or refused with field-named
errors, never a crash (hypothesis, ``HPLAB_FUZZ_CASES`` cases, 1,000 by default)."""

from __future__ import annotations

from engine.config import validate
from tests.fuzz_strategies import FUZZ_CASES, config, fuzz_outcomes


def _accept(raw):
    cfg = validate(raw)
    assert validate(cfg) == cfg  # canonical form is a fixed point


def test_any_config_is_accepted_or_refused_by_field():
    outcomes = fuzz_outcomes("config", config(), _accept)
    # both paths are exercised, not just one
    assert outcomes["accepted"] >= FUZZ_CASES // 10
    assert outcomes["field-named error"] >= FUZZ_CASES // 10
