"""Diagnosis: constructed curves for each label and its boundaries, and a suite of
real short runs labelled as a practitioner reading the curves would."""

import math

import pytest

from engine.diagnosis import LABELS, diagnose, diagnose_result
from engine.training.train import train


def steps_from(per_epoch_losses, per_epoch=10, spikes=()):
    loss = [v for v in per_epoch_losses for _ in range(per_epoch)]
    for i in spikes:
        loss[i] *= 10
    return {"loss": loss}


def test_too_early():
    assert diagnose({"loss": [1.0, 0.8]})["label"] == "too_early"


def test_diverged_beats_everything_and_reports_the_update():
    d = diagnose(
        {"loss": [1.0, float("nan")]},
        {"loss": [1.0] * 12 + [math.nan]},
        status="diverged",
        diverged_at=13,
    )
    assert d["label"] == "diverged" and d["evidence"]["diverged_at_update"] == 13
    assert d["markers"]["diverged_at_update"] == 13
    assert any("3–10×" in a for a in d["advice"])


def test_healthy():
    loss = [1.0, 0.5, 0.3, 0.2, 0.15, 0.12]
    d = diagnose(
        {"loss": loss, "val_loss": [v * 1.05 for v in loss]}, steps_from(loss), baseline=1.0
    )
    assert d["label"] == "healthy", d


def test_overfitting_marks_the_best_epoch_and_the_start():
    train_l = [1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05]
    val_l = [1.0, 0.7, 0.6, 0.65, 0.75, 0.9, 1.1]
    d = diagnose({"loss": train_l, "val_loss": val_l}, steps_from(train_l))
    assert d["label"] == "overfitting"
    assert d["evidence"]["best_val_epoch"] == 3 and d["evidence"]["overfitting_from_epoch"] == 4
    assert d["markers"]["best_epoch"] == 3


def test_overfitting_boundary_needs_two_epochs_after_the_best():
    train_l = [1.0, 0.6, 0.4, 0.3, 0.2]
    val_l = [1.0, 0.7, 0.6, 0.5, 0.8]  # rose only in the last epoch
    assert diagnose({"loss": train_l, "val_loss": val_l})["label"] != "overfitting"


def test_lr_too_high_from_spikes():
    loss = [1.0, 0.9, 0.95, 0.85, 0.9, 0.88]
    d = diagnose({"loss": loss}, steps_from(loss, spikes=(15, 25, 33, 41, 52)))
    assert d["label"] == "lr_too_high" and d["evidence"]["first_spike_update"] == 16


def test_lr_too_low_crawls():
    loss = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95]
    d = diagnose({"loss": loss, "val_loss": loss}, steps_from(loss), baseline=1.0)
    assert d["label"] == "lr_too_low"


def test_underfitting_plateaus_high_without_gap():
    loss = [1.0, 0.82, 0.80, 0.80, 0.801, 0.80]
    d = diagnose(
        {"loss": loss, "val_loss": [v * 1.01 for v in loss]}, steps_from(loss), baseline=1.0
    )
    assert d["label"] == "underfitting"


def test_plateau_low_is_healthy_not_underfitting():
    loss = [1.0, 0.1, 0.05, 0.05, 0.05, 0.05]
    d = diagnose({"loss": loss, "val_loss": loss}, steps_from(loss), baseline=1.0)
    assert d["label"] == "healthy"


# A varied suite of real runs and what an experienced reader says of their curves.
SUITE = [
    ("healthy", {"task": "regression", "epochs": 15}),
    ("healthy", {"task": "regression-5"}),
    ("healthy", {"task": "binary-20"}),
    ("lr_too_high", {"task": "regression-5", "learning_rate": 0.2}),
    ("lr_too_high", {"task": "binary-20", "learning_rate": 0.3}),
    ("diverged", {"task": "regression-5", "learning_rate": 5.0}),
    ("lr_too_low", {"task": "regression-5", "learning_rate": 1e-4}),
    ("lr_too_low", {"task": "binary-20", "learning_rate": 1e-5}),
    (
        "overfitting",
        {
            "task": "regression",
            "epochs": 40,
            "model": {"width": 4},
            "data": {"learnable": False, "n_train": 300},
        },
    ),
    ("overfitting", {"task": "sequence", "epochs": 10}),
    (
        "overfitting",
        {"task": "multiclass-10", "epochs": 15, "callbacks": {}, "precision": "float32"},
    ),
]


@pytest.mark.slow
def test_real_run_suite_agreement():
    wrong = []
    for want, cfg in SUITE:
        r = train(cfg)
        d = diagnose_result(r)
        assert d["label"] in LABELS
        if r["status"] == "diverged":
            assert d["label"] != "healthy"
        ok = d["label"] == want or (want == "lr_too_high" and d["label"] == "diverged")
        if not ok:
            wrong.append((want, d["labels"], cfg))
    agreement = 1 - len(wrong) / len(SUITE)
    print(f"diagnosis agreement {agreement:.0%} on {len(SUITE)} runs")
    assert agreement >= 0.95, wrong


def test_diagnosis_is_stored_with_the_run_and_served_by_the_cli(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from engine.store import RunStore, StoreSink

    store = RunStore(tmp_path / "runs.db")
    cfg = {"task": "regression-5", "learning_rate": 5.0, "epochs": 5}
    (run_id,) = store.create_runs([cfg])
    assert store.claim_next("test")[0] == run_id
    train(cfg, sink=StoreSink(store, run_id))
    stored = store.get_run(run_id)["diagnosis"]
    assert stored["label"] == "diverged" and stored["evidence"]["diverged_at_update"]
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "diagnose",
            run_id,
            "--store",
            str(tmp_path / "runs.db"),
            "--json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["label"] == "diverged"
    bad = subprocess.run(
        [sys.executable, "-m", "engine", "diagnose", "nope", "--store", str(tmp_path / "runs.db")],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert bad.returncode == 2 and "run_id: unknown run" in bad.stderr
