"""A whole run's LR preview is bounded: about ``MAX_POINTS`` steps however long the
run, every drawn value the exact rate of its step (Keras's, 0 = the first update), the
jumps kept."""

from __future__ import annotations

import json

import numpy as np

from engine.cli import main as engine_main
from engine.config import validate
from engine.schedule_preview import MAX_POINTS, preview

LONG = {  # 480,000 updates: the "long run" that stays allowed
    "task": "regression-5",
    "batch_size": 1,
    "epochs": 1000,
    "validation_split": 0.04,
    "learning_rate": 0.1,
    "schedule": {
        "name": "piecewise_constant",
        "boundaries": [1001, 250_000],
        "factors": [1, 0.5, 0.1],
    },
}


def test_a_long_runs_preview_is_capped_with_exact_values_and_its_jumps(tmp_path, capsys):
    cfg = validate(LONG)
    out = preview(cfg)
    steps, lrs = out["step"], out["lr"]
    assert out["total_updates"] == 480_000
    assert MAX_POINTS <= len(steps) <= MAX_POINTS + 4
    assert steps[0] == 0 and steps[-1] == 479_999 and steps == sorted(set(steps))
    for b in (1001, 250_000):  # the last step at the old rate and the first at the new
        assert {b, b + 1} <= set(steps)
        assert lrs[steps.index(b + 1)] < lrs[steps.index(b)]
    full = preview(cfg, 480_000)["lr"]  # every update, the uncapped path (--steps)
    np.testing.assert_array_equal(lrs, [full[s] for s in steps])

    path = tmp_path / "long.json"
    path.write_text(json.dumps(LONG))
    assert engine_main(["schedule", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["step"] == steps and printed["total_updates"] == 480_000


def test_a_short_runs_preview_is_every_update():
    cfg = validate({"task": "regression", "epochs": 3, "schedule": "cosine_decay"})
    out = preview(cfg)
    assert out["step"] == list(range(out["total_updates"]))
