"""Diagnosis: constructed curves for each label and its boundaries. The suite of real
short runs labelled as a practitioner reads them is ``test_diagnosis_suite.py``."""

import math

from engine.diagnosis import diagnose
from engine.training.train import train


def steps_from(per_epoch_losses, per_epoch=10, spikes=()):
    loss = [v for v in per_epoch_losses for _ in range(per_epoch)]
    for i in spikes:
        loss[i] *= 10
    return {"loss": loss}


def from_epochs(loss, val_loss=None, steps=None, **kw):
    """``diagnose`` on per-epoch ``loss`` (validation = training unless given) and its
    per-update series (``steps_from(loss)`` unless given)."""
    val = loss if val_loss is None else val_loss
    return diagnose({"loss": loss, "val_loss": val}, steps or steps_from(loss), **kw)


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
    d = from_epochs(loss, [v * 1.05 for v in loss], baseline=1.0)
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
    d = from_epochs(loss, baseline=1.0)
    assert d["label"] == "lr_too_low"


def test_underfitting_plateaus_high_without_gap():
    loss = [1.0, 0.82, 0.80, 0.80, 0.801, 0.80]
    d = from_epochs(loss, [v * 1.01 for v in loss], baseline=1.0)
    assert d["label"] == "underfitting"


def test_plateau_low_is_healthy_not_underfitting():
    loss = [1.0, 0.1, 0.05, 0.05, 0.05, 0.05]
    d = from_epochs(loss, baseline=1.0)
    assert d["label"] == "healthy"


def test_first_epoch_blowup_is_a_too_high_learning_rate():
    # Adam at 300× its usual rate: 4.5 → 6,000 within three updates, then a slow recovery
    # that alone would read as healthy.
    loss = [50.0, 4.0, 2.0, 1.2, 0.9, 0.7]
    steps = steps_from(loss)
    steps["loss"][:4] = [4.5, 208.0, 6020.0, 134.0]
    d = from_epochs(loss, steps=steps, baseline=6.6)
    assert d["label"] == "lr_too_high", d
    assert d["evidence"]["early_blowup_update"] == 2
    assert d["markers"]["spike_updates"][0] == 2


def test_first_epoch_blowup_boundary():
    loss = [5.0, 4.0, 2.0, 1.2, 0.9, 0.7]
    steps = steps_from(loss)
    # 9× the first update's loss: a rough start, not a blow-up
    steps["loss"][:3] = [4.5, 40.0, 30.0]
    assert diagnose({"loss": loss, "val_loss": loss}, steps, baseline=1.0)["label"] == "healthy"
    # the yardstick is the trivial loss when the run starts below it: 10× of 6.6, not of 0.5
    steps["loss"][:3] = [0.5, 40.0, 30.0]
    assert diagnose({"loss": loss, "val_loss": loss}, steps, baseline=6.6)["label"] == "healthy"
    steps["loss"][:3] = [0.5, 70.0, 30.0]
    assert diagnose({"loss": loss, "val_loss": loss}, steps, baseline=6.6)["label"] == "lr_too_high"
    # after the first epoch the median-based spike rule judges instead
    steps = steps_from(loss)
    steps["loss"][10] = 60.0
    d = diagnose({"loss": loss, "val_loss": loss}, steps, baseline=1.0)
    assert "early_blowup_update" not in d["evidence"]


def test_underfitting_with_heavy_dropout_training_loss_above_validation():
    # Dropout keeps the training loss near the trivial one and noisy, while validation
    # (no dropout) sits well below it: over-regularised, not healthy.
    loss = [0.85, 0.76, 0.68, 0.67, 0.66, 0.64, 0.63, 0.62, 0.60, 0.61, 0.60, 0.60]
    val = [0.70, 0.67, 0.66, 0.63, 0.60, 0.55, 0.52, 0.48, 0.45, 0.43, 0.42, 0.41]
    d = diagnose({"loss": loss, "val_loss": val}, steps_from(loss), baseline=0.695)
    assert d["label"] == "underfitting", d
    assert not d["evidence"]["steadily_falling"]


def test_underfitting_boundaries():
    loss = [1.0, 0.9, 0.8, 0.75, 0.7, 0.72, 0.69, 0.7, 0.68]
    # stuck near the trivial loss (0.68 of it) and no longer falling every epoch
    assert diagnose({"loss": loss}, steps_from(loss), baseline=1.0)["label"] == "underfitting"
    # the same curve at 0.55 of the trivial loss is low enough to be fine
    d = diagnose({"loss": loss}, steps_from(loss), baseline=1.0 / 0.55 * 0.68)
    assert d["label"] == "healthy", d
    # validation far above training is a gap, not underfitting
    val = [v * 1.4 for v in loss]
    d = diagnose({"loss": loss, "val_loss": val}, steps_from(loss), baseline=1.0)
    assert d["label"] != "underfitting", d
    # without a baseline only a flat curve is underfitting: this one still gains ~2%/epoch
    assert diagnose({"loss": loss}, steps_from(loss))["label"] == "healthy"


def test_still_falling_every_epoch_at_a_high_level_is_slow_not_stuck():
    # 4 % a epoch, still at 72 % of the trivial loss: not stuck (underfitting), not done
    # (healthy), but a crawl: at this pace it needs dozens more epochs.
    loss = [1.0, 0.95, 0.9, 0.86, 0.82, 0.78, 0.75, 0.72]
    d = from_epochs(loss, baseline=1.0)
    assert d["label"] == "lr_too_low" and d["evidence"]["steadily_falling"]
    assert d["findings"][0]["signs"] == ["slow and steady"]


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
