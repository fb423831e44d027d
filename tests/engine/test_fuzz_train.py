"""Property: a config that validates trains. One tiny epoch of each generated config
ends ``completed`` or ``diverged``, never ``failed``.

Training one costs seconds (tracing a fresh graph dominates; an LSTM config takes
longest), so CI trains a fixed, derandomised sample (``HPLAB_FUZZ_TRAIN``, default 10);
``HPLAB_FUZZ_TRAIN=1000`` runs the full property. ``HPLAB_FUZZ_LOG=FILE`` appends one
line per trained config (status, seconds, config).
"""

from __future__ import annotations

import collections
import json
import os
import time

import pytest
from hypothesis import assume, given

from engine.config import validate
from engine.errors import ConfigError
from engine.training.train import train
from tests.fuzz_strategies import config, fuzz_settings

FUZZ_TRAIN = int(os.environ.get("HPLAB_FUZZ_TRAIN", "10"))
LOG = os.environ.get("HPLAB_FUZZ_LOG")


@pytest.mark.slow
@pytest.mark.timeout(300 + 60 * FUZZ_TRAIN)
def test_every_config_that_validates_trains_one_tiny_epoch():
    outcomes: collections.Counter = collections.Counter()
    failures: list[tuple[dict, str]] = []

    @fuzz_settings(FUZZ_TRAIN)
    @given(config(plausible=True, tiny=True))
    def check(raw):
        try:
            cfg = validate(raw)
        except ConfigError:
            assume(False)  # only configs that validate are in the contract
        t0 = time.perf_counter()
        result = train(cfg)
        outcomes[result["status"]] += 1
        if LOG:
            with open(LOG, "a") as f:
                took = time.perf_counter() - t0
                f.write(f"{result['status']}\t{took:.1f}s\t{json.dumps(raw)}\n")
        if result["status"] not in ("completed", "diverged"):
            failures.append((raw, result.get("error") or result["status"]))

    check()
    print(f"\ntrain fuzz: {dict(outcomes)}")
    assert not failures, failures[:5]
    assert sum(outcomes.values()) >= FUZZ_TRAIN
