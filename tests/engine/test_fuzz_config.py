"""Property: any config a person can hand in is accepted or refused with field-named
errors, never a crash (hypothesis, ``HPLAB_FUZZ_CASES`` cases, 1,000 by default)."""

from __future__ import annotations

import collections

from hypothesis import given

from engine.config import validate
from engine.errors import MAX_FIELD, MAX_MESSAGE, ConfigError
from tests.fuzz_strategies import FUZZ_CASES, config, fuzz_settings


def check_refusal(e: ConfigError) -> None:
    """Every problem names a field, and no message floods the screen."""
    assert e.problems
    for field, message in e.problems:
        assert field and field.strip(), e.problems
        assert message and len(message) <= MAX_MESSAGE and len(field) <= MAX_FIELD
    assert len(str(e)) <= len(e.problems) * (MAX_FIELD + MAX_MESSAGE + 3)


def test_any_config_is_accepted_or_refused_by_field():
    outcomes: collections.Counter = collections.Counter()

    @fuzz_settings()
    @given(config())
    def check(raw):
        try:
            cfg = validate(raw)
        except ConfigError as e:
            check_refusal(e)
            outcomes["field-named error"] += 1
            return
        assert validate(cfg) == cfg  # canonical form is a fixed point
        outcomes["accepted"] += 1

    check()
    print(f"\nconfig fuzz: {dict(outcomes)}, traceback: 0")
    assert sum(outcomes.values()) >= FUZZ_CASES
    # both paths are exercised, not just one
    assert outcomes["accepted"] >= FUZZ_CASES // 10
    assert outcomes["field-named error"] >= FUZZ_CASES // 10
