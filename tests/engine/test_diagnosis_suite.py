"""Diagnosis against real short runs, labelled as a practitioner reads their curves.

Three sources of runs: every guided demo (``ui/demos.py`` says what each of its runs
should be diagnosed as, and the page shows that promise to a teacher); extra runs
chosen to cover each label on several tasks, including underfitting, which no demo
produces; and the hard cases of issue 12, the five patterns the first rules got
wrong. Each expectation was set by reading the run's printed curves
(``python tests/engine/print_curves.py NAME``: epoch losses, per-update spread,
clipping) before reading the engine's answer.

A run is read as one of the labels, or as ``still_improving`` when its main label
is healthy and it was still falling fast when its epochs ran out (unfinished is a
finding beside a healthy run, not instead of it: the demos' promise of a healthy
run holds). Each run is trained once per session (a lazy module-scoped cache, with
warm graphs: curves equal bit for bit to a fresh build), so the demo and
suggestion tests reuse the suite's runs.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import pytest

from engine.diagnosis import LABELS, apply_change, diagnose_result
from engine.training.train import train
from engine.training.warm import WarmCache
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


@dataclass(frozen=True)
class Case:
    expect: tuple[str, ...]  # acceptable readings, the one a practitioner gives first
    name: str
    config: dict
    pattern: str | None = None  # which of issue 12's five patterns a hard case covers
    tasks: tuple[str, ...] = field(default=())


NOISE, MEMORISE, TRIVIAL, CLIPPED, UNFINISHED = (
    "noise-level validation wander",
    "memorisation with near-zero bounces",
    "regularisation-dominated loss at the trivial level",
    "clipped noisy plateau",
    "unfinished run",
)

# Issue 12's hard cases, over all nine tasks. Readings from the printed curves (the
# numbers in the comments are theirs).
HARD = [
    # 1. Validation at its noise floor: wandering, drifting a little, never a sustained
    # rise that matters next to the trivial loss.
    Case(("healthy",), "regression · noise 2, 100 val, Adam 30 ep",
         {"task": "regression", "data": {"n_train": 500, "noise": 2.0}, "epochs": 30}, NOISE),
    # ^ val 4.19 at epoch 11, then 4.25-4.49 (floor 4.0, trivial 10.3): converged
    Case(("healthy",), "regression-5 · noise 1, 250 ex, SGD momentum 30 ep",
         {"task": "regression-5", "data": {"n_train": 250, "noise": 1.0},
          "optimizer": {"name": "sgd", "momentum": 0.9}, "epochs": 30}, NOISE),
    # ^ val zig-zags 1.17-1.35 from epoch 9 (floor 1.0, trivial 19.9)
    Case(("healthy",), "binary-10 · 20% label noise, 30 ep",
         {"task": "binary-10", "data": {"noise": 0.2}, "epochs": 30, "metrics": ["accuracy"]},
         NOISE),
    # ^ both flat at 0.45 from epoch 15: the label noise's floor (0.33), not stuck
    Case(("healthy",), "regression-10 · noise 0.5, RMSprop 30 ep",
         {"task": "regression-10", "data": {"noise": 0.5}, "epochs": 30}, NOISE),
    Case(("still_improving", "healthy"), "binary-20 · 300 examples, 25 ep",
         {"task": "binary-20", "data": {"n_train": 300}, "epochs": 25}, NOISE),
    # ^ val still 0.19 → 0.185 at the end while training is at 0.06: borderline
    Case(("healthy",), "multi-output · learnable, noise 0.5, 30 ep",
         {"task": "multi-output", "data": {"learnable": True, "noise": 0.5}, "epochs": 30}, NOISE),
    Case(("healthy",), "mixed-precision · learnable f32, noise 0.3, 20 ep",
         {"task": "mixed-precision", "precision": "float32",
          "data": {"learnable": True, "noise": 0.3}, "epochs": 20}, NOISE),
    # ^ val 0.115-0.119 after epoch 13 (+3 % of its best, 0.3 % of the trivial loss)
    Case(("still_improving",), "binary-20 · dropout 0.3, 20 ep",
         {"task": "binary-20", "model": {"dropout": 0.3}, "epochs": 20}, NOISE),
    # ^ validation below training (dropout) and still falling 6 % a epoch
    Case(("healthy",), "regression · Adam 3e-3, 30 ep",
         {"task": "regression", "learning_rate": 0.003, "epochs": 30}, NOISE),
    # ^ a gap of 0.008 next to a trivial loss of 6.7
    Case(("healthy",), "regression-10 · noise 1, Adam 30 ep",
         {"task": "regression-10", "optimizer": "adam", "data": {"noise": 1.0}, "epochs": 30},
         NOISE),
    Case(("overfitting",), "binary-20 · 10% label noise, 25 ep",
         {"task": "binary-20", "data": {"noise": 0.1}, "epochs": 25}, NOISE),
    # ^ the other side: val 0.285 at epoch 11 rising steadily to 0.314, accuracy down 3 pts
    # 2. Memorising: training near zero bouncing ×10-20 per update (a few % of the trivial
    # loss), validation climbing. Overfitting, not a too-high learning rate.
    Case(("overfitting",), "regression · random targets, width 4, 300 ex, 50 ep, Adam 3e-3",
         {"task": "regression", "data": {"learnable": False, "n_train": 300},
          "model": {"width": 4}, "epochs": 50, "learning_rate": 0.003}, MEMORISE),
    Case(("overfitting",), "mixed-precision · random f32, 25 ep, Adam 3e-3",
         {"task": "mixed-precision", "precision": "float32", "epochs": 25,
          "learning_rate": 0.003}, MEMORISE),
    Case(("overfitting",), "binary-10 · random labels, width 8, 300 ex, 40 ep",
         {"task": "binary-10", "data": {"learnable": False, "n_train": 300},
          "model": {"width": 8}, "epochs": 40, "learning_rate": 0.003,
          "metrics": ["accuracy"]}, MEMORISE),
    Case(("overfitting",), "multi-output · random, width 4, 40 ep",
         {"task": "multi-output", "model": {"width": 4}, "epochs": 40,
          "learning_rate": 0.003}, MEMORISE),
    Case(("overfitting",), "binary-20 · random labels, width 4, 400 ex, 30 ep",
         {"task": "binary-20", "data": {"learnable": False, "n_train": 400},
          "model": {"width": 4}, "epochs": 30, "learning_rate": 0.003}, MEMORISE),
    # ^ training 0.0026 by epoch 30, validation 0.74 → 3.6
    Case(("overfitting",), "sequence · random labels, 25 ep",
         {"task": "sequence", "epochs": 25, "learning_rate": 0.003}, MEMORISE),
    # ^ training 0.011 → 0.040 → 0.004 in the last epochs, validation 0.71 → 3.1
    Case(("healthy",), "regression-5 · Adam 1e-2, 200 ex, 100 ep",
         {"task": "regression-5", "optimizer": "adam", "learning_rate": 0.01,
          "data": {"n_train": 200}, "epochs": 100}, MEMORISE),
    # ^ loss 0.003 bouncing per update, validation best near the last epoch
    Case(("overfitting",), "regression · random targets, width 2, 400 ex, 50 ep",
         {"task": "regression", "data": {"learnable": False, "n_train": 400},
          "model": {"width": 2}, "epochs": 50, "learning_rate": 0.003}, MEMORISE),
    # 3. Regularisation that keeps the loss at (or above) what predicting the average
    # gives, however smoothly the penalty makes it fall.
    Case(("underfitting",), "sequence · learnable, width 0.05, dropout 0.8, L2 0.1, 15 ep",
         {"task": "sequence", "data": {"learnable": True},
          "model": {"width": 0.05, "dropout": 0.8, "l2": 0.1}, "epochs": 15}, TRIVIAL),
    # ^ 2.31 → 1.79 smoothly, far above the trivial 0.69, accuracy at chance
    Case(("underfitting",), "binary-20 · L2 0.3, 20 ep",
         {"task": "binary-20", "model": {"l2": 0.3}, "epochs": 20}, TRIVIAL),
    # ^ 19.8 → 0.68: ends at the trivial 0.695
    Case(("healthy", "still_improving"), "regression-10 · L2 1.0, Adam 1e-2",
         {"task": "regression-10", "optimizer": "adam", "learning_rate": 0.01,
          "model": {"l2": 1.0}, "epochs": 20}, TRIVIAL),
    # ^ the penalty does not hold it up: 6 % of the trivial loss
    Case(("underfitting", "healthy"), "binary-10 · width 0.1, dropout 0.9, 20 ep",
         {"task": "binary-10", "model": {"width": 0.1, "dropout": 0.9}, "epochs": 20,
          "learning_rate": 0.01, "metrics": ["accuracy"]}, TRIVIAL),
    # ^ training stuck at 0.86 of the trivial loss by dropout, validation at 0.48
    Case(("underfitting",), "multiclass-10 · learnable f32, width 0.1, dropout 0.9, 1000 ex",
         {"task": "multiclass-10", "precision": "float32",
          "data": {"learnable": True, "n_train": 1000, "n_val": 300, "n_test": 100},
          "model": {"width": 0.1, "dropout": 0.9}, "epochs": 12, "callbacks": {}}, TRIVIAL),
    Case(("underfitting",), "mixed-precision · learnable f32, L2 0.5, 15 ep",
         {"task": "mixed-precision", "precision": "float32", "data": {"learnable": True},
          "model": {"l2": 0.5}, "epochs": 15}, TRIVIAL),
    # ^ 55.7 → 1.82, still above the trivial 1.07
    Case(("still_improving",), "multi-output · learnable, L2 0.5, 20 ep",
         {"task": "multi-output", "data": {"learnable": True}, "model": {"l2": 0.5},
          "epochs": 20}, TRIVIAL),
    # ^ below the trivial loss now (0.33 of it) and still falling 8 % a epoch
    Case(("underfitting",), "regression-5 · width 0.05, dropout 0.7, Adam 1e-2",
         {"task": "regression-5", "optimizer": "adam", "learning_rate": 0.01,
          "model": {"width": 0.05, "dropout": 0.7}, "epochs": 20}, TRIVIAL),
    # 4. A learning rate too high for the loss, capped by clipping: training flat and
    # jittery, validation zig-zagging, most updates clipped.
    Case(("lr_too_high",), "regression-10 · SGD 0.5, clipvalue 0.5",
         {"task": "regression-10", "optimizer": "sgd", "learning_rate": 0.5,
          "clipping": {"clipvalue": 0.5}, "epochs": 12}, CLIPPED),
    # ^ training 0.53-0.56 from epoch 8, validation 0.26 ↔ 0.60, every update clipped
    Case(("lr_too_high",), "regression-5 · SGD 0.3, clipvalue 0.5",
         {"task": "regression-5", "learning_rate": 0.3, "clipping": {"clipvalue": 0.5},
          "epochs": 15}, CLIPPED),
    Case(("lr_too_high",), "regression · SGD 0.3, global_clipnorm 1",
         {"task": "regression", "optimizer": "sgd", "learning_rate": 0.3,
          "clipping": {"global_clipnorm": 1.0}, "epochs": 12}, CLIPPED),
    Case(("healthy", "overfitting"), "binary-20 · SGD 3.0, clipnorm 1",
         {"task": "binary-20", "optimizer": "sgd", "learning_rate": 3.0,
          "clipping": {"clipnorm": 1.0}, "epochs": 15}, CLIPPED),
    # ^ 1 % of updates clipped; memorised, validation 0.044 → 0.054 (1 % of trivial)
    Case(("lr_too_high",), "regression-10 · Adam 0.3, global_clipnorm 1",
         {"task": "regression-10", "optimizer": "adam", "learning_rate": 0.3,
          "clipping": {"global_clipnorm": 1.0}, "epochs": 15}, CLIPPED),
    Case(("lr_too_high",), "mixed-precision · learnable f32, SGD 0.5, clipvalue 0.1",
         {"task": "mixed-precision", "precision": "float32", "data": {"learnable": True},
          "optimizer": "sgd", "learning_rate": 0.5, "clipping": {"clipvalue": 0.1},
          "epochs": 12}, CLIPPED),
    Case(("lr_too_high",), "multi-output · learnable, SGD 1.0, global_clipnorm 0.5",
         {"task": "multi-output", "data": {"learnable": True}, "optimizer": "sgd",
          "learning_rate": 1.0, "clipping": {"global_clipnorm": 0.5}, "epochs": 15}, CLIPPED),
    Case(("healthy", "lr_too_high"), "regression-5 · SGD 0.2, global_clipnorm 0.5",
         {"task": "regression-5", "learning_rate": 0.2, "clipping": {"global_clipnorm": 0.5},
          "epochs": 15}, CLIPPED),
    # ^ 86 % clipped but converged to 0.2 % of the trivial loss, a little jittery
    Case(("lr_too_high", "healthy"), "binary-10 · SGD 2.0, clipvalue 0.05",
         {"task": "binary-10", "optimizer": "sgd", "learning_rate": 2.0,
          "clipping": {"clipvalue": 0.05}, "epochs": 15, "metrics": ["accuracy"]}, CLIPPED),
    # ^ validation jumping 0.03 ↔ 0.12: not "still improving", whatever its last epochs say
    # 5. Unfinished: nothing wrong, but still falling fast when the epochs ran out.
    Case(("still_improving",), "regression · SGD 1e-3, 10 ep",
         {"task": "regression", "optimizer": "sgd", "learning_rate": 0.001}, UNFINISHED),
    # ^ 5.9 → 1.85, 19 % lower each of the last epochs
    Case(("still_improving",), "regression-5 · SGD 3e-3, 10 ep",
         {"task": "regression-5", "learning_rate": 0.003, "epochs": 10}, UNFINISHED),
    Case(("lr_too_low", "still_improving"), "binary-20 · SGD 1e-2, 15 ep",
         {"task": "binary-20", "optimizer": "sgd", "learning_rate": 0.01}, UNFINISHED),
    # ^ a straight 4 % a epoch at 0.63 of the trivial loss: a crawl
    Case(("still_improving",), "regression-10 · Adagrad 1e-2, 20 ep",
         {"task": "regression-10", "optimizer": "adagrad", "learning_rate": 0.01}, UNFINISHED),
    Case(("still_improving",), "mixed-precision · learnable f32, Adam 1e-4, 10 ep",
         {"task": "mixed-precision", "precision": "float32", "data": {"learnable": True},
          "learning_rate": 1e-4}, UNFINISHED),
    Case(("lr_too_low", "still_improving"), "multi-output · learnable, Adam 3e-4, 10 ep",
         {"task": "multi-output", "data": {"learnable": True}, "learning_rate": 3e-4,
          "epochs": 10}, UNFINISHED),
    Case(("still_improving",), "binary-10 · SGD 3e-2, 10 ep",
         {"task": "binary-10", "optimizer": "sgd", "learning_rate": 0.03,
          "metrics": ["accuracy"]}, UNFINISHED),
    Case(("healthy", "still_improving"), "multiclass-10 · learnable f32, 2000 ex, 8 ep",
         {"task": "multiclass-10", "precision": "float32",
          "data": {"learnable": True, "n_train": 2000, "n_val": 500, "n_test": 100},
          "epochs": 8, "callbacks": {}}, UNFINISHED),
    # ^ the warmup-cosine schedule has decayed to zero: finished by design
    Case(("still_improving",), "regression-10 · SGD 3e-3, 10 ep",
         {"task": "regression-10", "optimizer": "sgd", "learning_rate": 0.003, "epochs": 10},
         UNFINISHED),
    Case(("lr_too_low",), "binary-10 · Adam 1e-4, 10 ep",
         {"task": "binary-10", "learning_rate": 1e-4, "metrics": ["accuracy"]}, UNFINISHED),
    # ^ 0.706 → 0.638 in all: a crawl, not an unfinished run
    # A noiseless fit at its floor (the README's Run detail screenshot): val 1 → 3e-6,
    # then bouncing ×2 around 1e-5, ±90 % of its level and nothing next to the trivial
    # loss. It was read "LR too high" (noisy plateau, never settles).
    Case(("healthy",), "regression · Adam 1e-3, 8000 ex, 150 ep",
         {"task": "regression", "optimizer": "adam", "learning_rate": 0.001, "epochs": 150,
          "data": {"n_train": 8000}}, MEMORISE),
]  # fmt: skip

# Demo and extra runs whose original reading (healthy) stands as their main label, but
# whose printed curves are still falling fast at the last epoch (re-read once the
# unfinished finding existed): read as healthy + still improving.
UNFINISHED_TOO = {
    "demo rmsprop-vs-adagrad · RMSprop · lr 1e-3",  # −17 % at epoch 20
    "demo rmsprop-vs-adagrad · Adagrad · lr 0.01",  # −8 % at epoch 20
    "demo clipping-modes · clipvalue 0.5",  # 5 epochs, −16 % at the last
    "demo clipping-modes · clipnorm 1.0",
    "demo clipping-modes · global_clipnorm 1.0",
    "demo grad-accumulation · batch 32 × accumulate 4",  # 0.40 → 0.26 → 0.21
    "demo grad-accumulation · batch 128",
    "binary-10 · document defaults",  # −7 % at epoch 10
    "multi-output · learnable, 15 epochs",  # −16 % at epoch 15
}


def _case(expect, name, cfg) -> Case:
    return Case(("still_improving",) if name in UNFINISHED_TOO else tuple(expect), name, cfg)


CASES = (
    [
        _case(run.expect, f"demo {demo.id} · {run.name}", run.config)
        for demo in DEMOS.values()
        for run in demo.runs
    ]
    + [_case(expect, name, cfg) for expect, name, cfg in EXTRA]
    + HARD
)
BY_NAME = {c.name: c for c in CASES}


def reading(d: dict) -> str:
    """How a practitioner would name the run: the main label, or "still improving"
    for a healthy run cut short while still improving fast."""
    labels = d["labels"]
    return "still_improving" if labels[:2] == ["healthy", "still_improving"] else labels[0]


@pytest.fixture(scope="module")
def trained():
    """``trained(name)`` → (train result, diagnosis), training each case at most once."""
    cache: dict[str, tuple[dict, dict]] = {}
    warm = WarmCache(capacity=16)

    def get(name: str, config: dict | None = None) -> tuple[dict, dict]:
        if name not in cache:
            result = train(config or BY_NAME[name].config, warm=warm)
            cache[name] = (result, diagnose_result(result))
        return cache[name]

    return get


def test_the_suite_covers_every_label_on_several_tasks():
    assert len(BY_NAME) == len(CASES)  # names are unique
    wanted = Counter(c.expect[0] for c in CASES)
    for label in ("healthy", "underfitting", "overfitting", "lr_too_high", "lr_too_low"):
        assert wanted[label] >= 3, (label, wanted)
    assert wanted["diverged"] >= 2 and wanted["still_improving"] >= 5
    for label in wanted:
        tasks = {c.config["task"] for c in CASES if c.expect[0] == label}
        assert len(tasks) >= 2, (label, tasks)


def test_the_hard_cases_cover_the_five_patterns_on_every_task():
    assert len(HARD) >= 30
    assert len({c.config["task"] for c in HARD}) >= 6
    per_pattern = Counter(c.pattern for c in HARD)
    assert set(per_pattern) == {NOISE, MEMORISE, TRIVIAL, CLIPPED, UNFINISHED}
    assert min(per_pattern.values()) >= 6, per_pattern


def agreement_table(rows: list[tuple[str, bool]]) -> str:
    """Per expected reading: runs, agreed, share — the numbers the closing note quotes."""
    n, ok = Counter(), Counter()
    for label, agreed in rows:
        n[label] += 1
        ok[label] += agreed
    lines = [f"{'expected label':<15} {'runs':>4} {'agreed':>6} {'share':>6}"]
    for label in LABELS:
        if n[label]:
            lines.append(f"{label:<15} {n[label]:>4} {ok[label]:>6} {ok[label] / n[label]:>6.0%}")
    total, good = sum(n.values()), sum(ok.values())
    lines.append(f"{'all':<15} {total:>4} {good:>6} {good / total:>6.0%}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(BY_NAME))
def test_each_run_trains_and_is_judged(trained, name):
    """One test per run (each well inside the per-test timeout); the agreement tests
    below read the cache these fill."""
    result, d = trained(name)
    assert result["status"] in ("completed", "diverged"), result.get("error")
    assert d["label"] in LABELS and d["labels"][0] == d["label"]
    if result["status"] == "diverged" or any(
        not math.isfinite(v) for v in result["history"].get("loss", [])
    ):
        assert d["label"] == "diverged", name  # a NaN run is never called anything else


def _agreement(trained, cases: list[Case], title: str) -> tuple[float, str, list]:
    rows, wrong = [], []
    for case in cases:
        _, d = trained(case.name)
        agreed = reading(d) in case.expect
        rows.append((case.expect[0], agreed))
        if not agreed:
            wrong.append((case.name, case.expect, d["labels"], d["findings"]))
    table = agreement_table(rows)
    print(f"\n{title}: diagnosis agreement on {len(rows)} real runs\n{table}")
    return sum(a for _, a in rows) / len(rows), table, wrong


def test_real_runs_agree_with_a_practitioners_reading(trained):
    agreement, table, wrong = _agreement(trained, CASES, "whole suite")
    assert agreement >= 0.95, (table, wrong)


def test_the_hard_cases_agree_with_a_practitioners_reading(trained):
    agreement, table, wrong = _agreement(trained, HARD, "issue 12's hard cases")
    assert agreement >= 0.9, (table, wrong)


def test_a_noiseless_fit_bouncing_at_its_floor_is_not_a_rate_too_high(trained):
    """Jitter that is large next to a loss near zero but nothing next to the trivial
    loss is a converged run (the README's Run detail screenshot read "LR too high")."""
    _, d = trained("regression · Adam 1e-3, 8000 ex, 150 ep")
    assert reading(d) == "healthy", d["findings"]


def test_agreement_table_counts_per_label():
    table = agreement_table([("healthy", True), ("healthy", False), ("diverged", True)])
    assert "healthy            2      1    50%" in table
    assert "diverged           1      1   100%" in table
    assert table.splitlines()[-1].split() == ["all", "3", "2", "67%"]


# ----------------------------------------------------------------------------- the demos' promises


def _demo(demo_id: str, run_name: str) -> str:
    return f"demo {demo_id} · {run_name}"


def test_demo_too_high_learning_rate_is_called_too_high(trained):
    _, d = trained(_demo("learning-rate", "lr 0.2"))
    assert d["label"] in ("lr_too_high", "diverged"), d
    far, d_far = trained(_demo("learning-rate", "lr 1.0"))
    assert far["status"] == "diverged" and d_far["label"] == "diverged"
    assert d_far["evidence"]["diverged_at_update"] >= 1


def test_demo_sane_learning_rate_on_learnable_regression_is_healthy(trained):
    result, d = trained(_demo("learning-rate", "lr 0.01"))
    assert result["config"]["data"]["learnable"] and result["status"] == "completed"
    assert d["label"] == "healthy", d
    _, d_low = trained(_demo("learning-rate", "lr 1e-4"))
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


# ----------------------------------------------------------------------------- suggestions act

# One real run of each broken kind (suite cases), its top suggestion applied as the
# dashboard's **Try this fix** and ``python -m engine follow-up`` apply it.
BROKEN = {
    "crawl": ("lr_too_low", "binary-20 · Adam 1e-5"),
    "too high": ("lr_too_high", "regression-10 · SGD 0.5, clipvalue 0.5"),
    "diverged": ("diverged", "regression-10 · SGD 0.5"),
    "overfitting": ("overfitting", "regression · 150 noisy examples, width ×4"),
    "underfitting": ("underfitting", "binary-20 · 2+1 units, dropout 0.5"),
    "unfinished": ("still_improving", "regression · SGD 1e-3, 10 ep"),
}


def best_result(result: dict) -> float:
    """Best validation loss (training loss without validation); inf if none is finite."""
    h = result["history"]
    vals = [v for v in h.get("val_loss") or h.get("loss") or [] if math.isfinite(v)]
    return min(vals, default=math.inf)


@pytest.mark.parametrize("kind", list(BROKEN))
def test_the_top_suggestion_fixes_each_broken_kind(trained, kind):
    label, name = BROKEN[kind]
    parent, d = trained(name)
    assert label in d["labels"], (kind, d["labels"])
    top = d["suggestions"][0]
    assert top["for"] == label
    child_cfg = apply_change(parent["config"], top["change"])
    child, dc = trained(f"{name} → {top['why']}", child_cfg)
    before, after = best_result(parent), best_result(child)
    print(f"\n{kind}: {top['change']} · best {before:.4g} → {after:.4g} · child {dc['labels']}")
    lower = after <= 0.9 * before
    fixed = dc["label"] == "healthy" and "still_improving" not in dc["labels"]
    # unfinished runs are healthy already: only a lower loss counts for them
    assert lower or (fixed and kind != "unfinished"), (kind, top, before, after, dc["labels"])
