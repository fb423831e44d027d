"""Diagnosis against real short runs, labelled as a practitioner reads their curves.

Two sources of runs: every guided demo (``ui/demos.py`` says what each of its runs
should be diagnosed as, and the page shows that promise to a teacher), and extra
runs chosen to cover each label on several tasks — including underfitting, which
no demo produces. Each expectation below was set by reading the run's epoch
curves (and, for spikes, its per-update loss), not by copying the engine's answer.

Each run is trained once per session (a lazy module-scoped cache), so the demo
tests reuse the suite's runs.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from engine.diagnosis import LABELS, diagnose_result
from engine.training.train import train
from ui.demos import DEMOS

pytestmark = pytest.mark.slow

# (expected labels, name, config): runs beyond the demos, all of them tiny.
EXTRA = [
    # Underfitting: the capacity or the regularisation keeps the training loss near the
    # trivial predictor's; validation is no worse (with dropout it is even lower).
    (
        ("underfitting",),
        "binary-20 · 2+1 units, dropout 0.5",
        {
            "task": "binary-20",
            "model": {"width": 1 / 32, "dropout": 0.5},
            "learning_rate": 0.01,
            "epochs": 20,
        },
    ),
    (
        ("underfitting",),
        "regression-5 · 1 unit, dropout 0.5",
        {
            "task": "regression-5",
            "optimizer": "adam",
            "model": {"width": 1 / 32, "dropout": 0.5},
            "learning_rate": 0.01,
            "epochs": 20,
        },
    ),
    (
        ("underfitting",),
        "regression-10 · 1 unit, dropout 0.5",
        {
            "task": "regression-10",
            "optimizer": "adam",
            "model": {"width": 1 / 32, "dropout": 0.5},
            "learning_rate": 0.01,
            "epochs": 20,
        },
    ),
    (
        ("underfitting",),
        "binary-20 · L2 0.5",
        {"task": "binary-20", "model": {"l2": 0.5}, "learning_rate": 0.01, "epochs": 12},
    ),
    # Learning rate too high: bouncing epoch losses, spikes, or a first-epoch blow-up.
    (
        ("lr_too_high", "diverged"),
        "binary-20 · Adam 0.3",
        {"task": "binary-20", "learning_rate": 0.3},
    ),
    (
        ("lr_too_high", "diverged"),
        "binary-10 · Adam 0.5",
        {"task": "binary-10", "learning_rate": 0.5},
    ),
    (
        ("lr_too_high", "diverged"),
        "regression-10 · RMSprop 0.1",
        {"task": "regression-10", "learning_rate": 0.1},
    ),
    (
        ("lr_too_high", "diverged"),
        "regression · Adam 0.3 (first-epoch blow-up)",
        {"task": "regression", "learning_rate": 0.3, "epochs": 12},
    ),
    # Diverged: NaN within the first epoch.
    (
        ("diverged",),
        "regression · SGD 1.0",
        {"task": "regression", "optimizer": "sgd", "learning_rate": 1.0},
    ),
    (
        ("diverged",),
        "regression-10 · SGD 0.5",
        {"task": "regression-10", "optimizer": "sgd", "learning_rate": 0.5},
    ),
    # Learning rate too low: falling every epoch, but by a few percent in all.
    (("lr_too_low",), "binary-20 · Adam 1e-5", {"task": "binary-20", "learning_rate": 1e-5}),
    (("lr_too_low",), "regression · Adam 1e-5", {"task": "regression", "learning_rate": 1e-5}),
    (
        ("lr_too_low",),
        "regression-10 · RMSprop 1e-5",
        {"task": "regression-10", "learning_rate": 1e-5},
    ),
    (
        ("lr_too_low",),
        "binary-10 · SGD 1e-3",
        {"task": "binary-10", "optimizer": "sgd", "learning_rate": 1e-3},
    ),
    # Overfitting: training keeps falling while validation turns up.
    (
        ("overfitting",),
        "regression · random targets, width ×4",
        {
            "task": "regression",
            "epochs": 40,
            "model": {"width": 4},
            "data": {"learnable": False, "n_train": 300},
        },
    ),
    (
        ("overfitting",),
        "regression · 150 noisy examples, width ×4",
        {
            "task": "regression",
            "data": {"n_train": 150, "noise": 2.0},
            "model": {"width": 4},
            "epochs": 40,
            "learning_rate": 0.003,
        },
    ),
    (
        ("overfitting",),
        "mixed-precision task · random targets (float32)",
        {"task": "mixed-precision", "precision": "float32", "epochs": 12},
    ),
    # Healthy, including a rate ten times the document's that this problem takes well.
    (("healthy",), "binary-10 · document defaults", {"task": "binary-10"}),
    (
        ("healthy",),
        "regression-10 · SGD 0.1",
        {"task": "regression-10", "optimizer": "sgd", "learning_rate": 0.1},
    ),
    (
        ("healthy",),
        "multi-output · learnable, 15 epochs",
        {"task": "multi-output", "data": {"learnable": True}, "epochs": 15},
    ),
]

CASES = [
    (run.expect, f"demo {demo.id} · {run.name}", run.config)
    for demo in DEMOS.values()
    for run in demo.runs
] + EXTRA
BY_NAME = {name: (expect, cfg) for expect, name, cfg in CASES}


@pytest.fixture(scope="module")
def trained():
    """``trained(name)`` → (train result, diagnosis), training each case at most once."""
    cache: dict[str, tuple[dict, dict]] = {}

    def get(name: str) -> tuple[dict, dict]:
        if name not in cache:
            result = train(BY_NAME[name][1])
            cache[name] = (result, diagnose_result(result))
        return cache[name]

    return get


def test_the_suite_covers_every_label_on_several_tasks():
    assert len(CASES) >= 20 and len(BY_NAME) == len(CASES)  # names are unique
    wanted = Counter(expect[0] for expect, _, _ in CASES)
    for label in ("healthy", "underfitting", "overfitting", "lr_too_high", "lr_too_low"):
        assert wanted[label] >= 3, (label, wanted)
    assert wanted["diverged"] >= 2
    for label in wanted:
        tasks = {cfg["task"] for expect, _, cfg in CASES if expect[0] == label}
        assert len(tasks) >= 2, (label, tasks)


def agreement_table(rows: list[tuple[str, bool]]) -> str:
    """Per expected label: runs, agreed, share — the numbers the closing note quotes."""
    n, ok = Counter(), Counter()
    for label, agreed in rows:
        n[label] += 1
        ok[label] += agreed
    lines = [f"{'expected label':<14} {'runs':>4} {'agreed':>6} {'share':>6}"]
    for label in LABELS:
        if n[label]:
            lines.append(f"{label:<14} {n[label]:>4} {ok[label]:>6} {ok[label] / n[label]:>6.0%}")
    total, good = sum(n.values()), sum(ok.values())
    lines.append(f"{'all':<14} {total:>4} {good:>6} {good / total:>6.0%}")
    return "\n".join(lines)


def test_real_runs_agree_with_a_practitioners_reading(trained):
    rows, wrong = [], []
    for expect, name, _ in CASES:
        result, d = trained(name)
        assert d["label"] in LABELS
        if result["status"] == "diverged" or any(
            not math.isfinite(v) for v in result["history"].get("loss", [])
        ):
            assert d["label"] != "healthy", name  # a NaN run is never called healthy
        agreed = d["label"] in expect
        rows.append((expect[0], agreed))
        if not agreed:
            wrong.append((name, expect, d["labels"], d["evidence"]))
    table = agreement_table(rows)
    print(f"\ndiagnosis agreement on {len(rows)} real runs\n{table}")
    agreement = sum(a for _, a in rows) / len(rows)
    assert agreement >= 0.95, (table, wrong)


def test_agreement_table_counts_per_label():
    table = agreement_table([("healthy", True), ("healthy", False), ("diverged", True)])
    assert "healthy           2      1    50%" in table
    assert "diverged          1      1   100%" in table
    assert table.splitlines()[-1].split() == ["all", "3", "2", "67%"]


# ----------------------------------------------------------------------------- the demos' promises


def _demo(demo_id: str, run_name: str) -> str:
    return f"demo {demo_id} · {run_name}"


def test_demo_too_high_learning_rate_is_called_too_high(trained):
    _, d = trained(_demo("learning-rate", "lr 0.2 (too high)"))
    assert d["label"] in ("lr_too_high", "diverged"), d
    far, d_far = trained(_demo("learning-rate", "lr 1.0 (far too high)"))
    assert far["status"] == "diverged" and d_far["label"] == "diverged"
    assert d_far["evidence"]["diverged_at_update"] >= 1


def test_demo_sane_learning_rate_on_learnable_regression_is_healthy(trained):
    result, d = trained(_demo("learning-rate", "lr 0.01 (about right)"))
    assert result["config"]["data"]["learnable"] and result["status"] == "completed"
    assert d["label"] == "healthy", d
    _, d_low = trained(_demo("learning-rate", "lr 1e-4 (too low)"))
    assert d_low["label"] == "lr_too_low", d_low


def test_demo_random_labels_are_memorised_not_learned(trained):
    result, d = trained(_demo("memorise-random-labels", "Complete example · random labels"))
    h = result["history"]
    assert not result["config"]["data"]["learnable"]
    assert d["label"] == "overfitting", d
    assert h["accuracy"][-1] > h["accuracy"][0] + 0.15  # memorising the training set
    assert max(h["val_accuracy"]) < 0.2  # while validation stays near chance (10%)
    assert h["val_loss"][-1] > min(h["val_loss"])


def test_demo_early_stopping_ends_the_run_before_overfitting_takes_hold(trained):
    plain, d_plain = trained(_demo("early-stopping", "No callbacks"))
    stopped, d_stopped = trained(_demo("early-stopping", "Early stopping + reduce LR"))
    assert d_plain["label"] == "overfitting" and d_stopped["label"] == "healthy"
    assert len(stopped["history"]["loss"]) < len(plain["history"]["loss"])
    assert stopped["steps"]["lr"][-1] < stopped["steps"]["lr"][0]  # the plateau cut the LR


def test_demo_accumulation_tracks_the_larger_batch(trained):
    accum, _ = trained(_demo("grad-accumulation", "batch 32 × accumulate 4"))
    big, _ = trained(_demo("grad-accumulation", "batch 128"))
    small, _ = trained(_demo("grad-accumulation", "batch 32"))
    for a, b in zip(accum["history"]["loss"], big["history"]["loss"], strict=True):
        assert a == pytest.approx(b, rel=1e-3)
    assert len(small["steps"]["loss"]) == 4 * len(big["steps"]["loss"])
