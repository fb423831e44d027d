"""The LR range test suggests a rate that trains well."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.diagnosis import diagnose_result
from engine.lr_finder import lr_find, suggest
from engine.training.train import train


@pytest.mark.parametrize(("task", "good_lr"), [("regression-5", 0.01), ("binary-20", 1e-3)])
def test_suggestion_is_within_10x_of_a_rate_that_trains_well(task, good_lr):
    out = lr_find({"task": task})
    s = out["suggestion"]
    assert good_lr / 10 <= s <= good_lr * 10 * 3, s  # ×10 of the document's good rate (+slack)
    assert out["stopped_early"] and out["method"] in ("steepest", "min_over_10")
    # ... and it does train well
    r = train({"task": task, "learning_rate": s})
    assert r["status"] == "completed"
    assert r["history"]["loss"][-1] < 0.2 * r["history"]["loss"][0]
    assert diagnose_result(r)["label"] in ("healthy", "overfitting")
    # the sweep really was exponential and increasing
    lrs = out["lr"]
    assert lrs[0] == pytest.approx(1e-7) and all(b > a for a, b in itertools.pairwise(lrs))


def test_suggest_falls_back_when_no_descent():
    lrs = [10 ** (-7 + i * 0.1) for i in range(40)]
    flat = [1.0 + 0.01 * i for i in range(40)]
    s, method = suggest(lrs, flat)
    assert method == "min_over_10" and s == pytest.approx(lrs[0] / 10)


def test_cli_lr_find_json(tmp_path):
    root = Path(__file__).resolve().parents[2]
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"task": "regression", "data": {"n_train": 400}}))
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-m", "engine", "lr-find", str(p), "--updates", "100", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert len(r["lr"]) == len(r["loss"]) <= 100 and r["suggestion"] > 0
    bad = subprocess.run(
        [sys.executable, "-m", "engine", "lr-find", str(p), "--updates", "3"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--updates" in bad.stderr


def test_the_curve_streams_in_order_and_a_stop_ends_it_early():
    """What the TensorFlow service relays to the page: every update exactly once, in
    order; and ``should_stop`` (the owner is gone) ends the test at once."""
    cfg = {"task": "regression", "data": {"n_train": 200, "n_test": 20}}
    got: dict[str, list] = {}
    out = lr_find(
        cfg,
        updates=60,
        on_updates=lambda c: [got.setdefault(k, []).extend(v) for k, v in c.items()],
    )
    assert got["lr"] == out["lr"] and got["loss"] == out["loss"]
    assert got["smoothed"] == out["smoothed"] and not out["cancelled"]
    asked = []
    stopped = lr_find(cfg, updates=60, should_stop=lambda: len(asked) > 5 or asked.append(1))
    assert stopped["cancelled"] and stopped["updates"] == 6
