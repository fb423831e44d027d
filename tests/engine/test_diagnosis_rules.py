"""The five patterns the first rules got wrong, on constructed curves shaped like the real
runs that showed them (issue 12), plus the clipping verdict and the findings' numbers.
The real runs themselves are in ``test_diagnosis_suite.py``."""

from __future__ import annotations

import math
import random

from engine.config import validate
from engine.diagnosis import LABELS, diagnose
from engine.diagnosis.clipping import clip_stats


def per_update(epoch_losses, per_epoch=10, jitter=0.0, seed=0):
    rng = random.Random(seed)
    return [v * (1 + jitter * rng.uniform(-1, 1)) for v in epoch_losses for _ in range(per_epoch)]


def wander(level, n, spread, seed, drift=0.0):
    rng = random.Random(seed)
    return [level + drift * i / max(1, n - 1) + rng.gauss(0, spread) for i in range(n)]


# ----------------------------------------------------------------- 1. overfitting on noise


def test_validation_wandering_at_its_noise_floor_is_not_overfitting():
    # regression at noise 2: validation levels off at the noise floor (MSE 4) and wanders
    # by ±0.1, drifting up 0.2 over 20 epochs, while training keeps creeping down.
    train = [8.8, 7.0, 5.5, 4.6, 4.0, 3.7, 3.6, 3.5] + [3.45 - 0.03 * i for i in range(22)]
    val = [8.8, 7.3, 5.6, 4.7, 4.4, 4.3, 4.25, 4.2, *wander(4.3, 22, 0.06, 1, drift=0.2)]
    d = diagnose(
        {"loss": train, "val_loss": val},
        {"loss": per_update(train, jitter=0.3)},
        status="completed",
        baseline=10.3,
        config=validate({"task": "regression", "data": {"n_train": 500, "noise": 2.0}}),
        info={"n_val": 100},
    )
    assert "overfitting" not in d["labels"], d["findings"]
    assert d["label"] == "healthy"


def test_a_rise_that_is_tiny_next_to_the_trivial_loss_is_not_overfitting():
    train = [1.0, 0.1, 0.05, 0.03, 0.02, 0.015, 0.012, 0.010, 0.008, 0.007]
    val = [1.0, 0.1, 0.05, 0.03, 0.025, 0.026, 0.027, 0.028, 0.029, 0.030]  # +20 %, of 9.9
    d = diagnose({"loss": train, "val_loss": val}, status="completed", baseline=9.9)
    assert "overfitting" not in d["labels"], d["findings"]


def test_validation_below_training_is_not_overfitting():
    # heavy dropout: training loss above validation; validation up 10 % from its best
    train = [0.9, 0.7, 0.6, 0.55, 0.52, 0.50, 0.49, 0.48, 0.47, 0.46]
    val = [0.6, 0.4, 0.3, 0.28, 0.29, 0.30, 0.305, 0.31, 0.31, 0.308]
    d = diagnose({"loss": train, "val_loss": val}, status="completed", baseline=0.69)
    assert "overfitting" not in d["labels"], d["findings"]


def test_a_sustained_rise_above_the_noise_is_overfitting_with_its_numbers():
    train = [1.0, 0.6, 0.4, 0.3, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05]
    val = [1.0, 0.7, 0.6, 0.62, 0.66, 0.72, 0.78, 0.85, 0.91, 0.98]
    d = diagnose({"loss": train, "val_loss": val}, status="completed", baseline=1.0)
    assert d["label"] == "overfitting"
    f = d["findings"][0]
    assert f["label"] == "overfitting" and 0.5 < f["confidence"] <= 1
    assert f["explains"] > 0.3  # validation rose by a third of the trivial loss
    checks = {c["what"]: c for c in f["checks"]}
    noise = checks["validation rise vs its own epoch-to-epoch noise"]
    assert noise["passed"] and noise["value"] > noise["threshold"] == 3.0
    assert all(c["passed"] for c in f["checks"])


# ----------------------------------------------------------------- 2. spikes on the loss's scale


def test_near_zero_bounces_of_a_memorising_run_are_not_spikes():
    # random labels: training falls to ~0.003 and bounces to 0.07 (a 20× "spike", but
    # 7 % of the trivial loss); validation climbs far above where it started
    n = 30
    train = [0.7 * 0.8**i + 0.003 for i in range(n)]
    val = [0.70 + 0.02 * max(0, i - 3) for i in range(n)]
    ups = per_update(train)
    for i in range(150, len(ups), 17):
        ups[i] = 0.07
    d = diagnose({"loss": train, "val_loss": val}, {"loss": ups}, status="completed", baseline=0.69)
    assert d["label"] == "overfitting", d["findings"]
    assert "lr_too_high" not in d["labels"]
    assert d["evidence"]["loss_spikes"] == 0


def test_findings_are_ranked_by_how_much_of_the_loss_they_explain():
    n = 20
    train = [1.0 * 0.85**i for i in range(n)]
    val = [1.0, 0.8, 0.7, 0.65, *(0.65 + 0.12 * i for i in range(1, n - 3))]  # up 1.9
    ups = per_update(train)
    for i in range(30, len(ups), 9):
        ups[i] = ups[i - 1] + 0.5  # real spikes: half the trivial loss each
    d = diagnose({"loss": train, "val_loss": val}, {"loss": ups}, status="completed", baseline=1.0)
    assert d["labels"][:2] == ["overfitting", "lr_too_high"], d["findings"]
    explains = [f["explains"] for f in d["findings"]]
    assert explains == sorted(explains, reverse=True)


def test_a_long_run_at_a_tiny_loss_with_its_best_at_the_end_is_healthy():
    # Adam for 300 epochs: loss 0.0005 bouncing ×10 per update, validation best last
    n = 300
    train = [max(0.0005, 10 * 0.9**i) for i in range(n)]
    val = [max(0.001, 12 * 0.9**i) * (1 - 0.0005 * i) for i in range(n)]
    ups = per_update(train, per_epoch=5)
    for i in range(1000, len(ups), 7):
        ups[i] = 0.006
    d = diagnose({"loss": train, "val_loss": val}, {"loss": ups}, status="completed", baseline=14.6)
    assert d["label"] == "healthy", d["findings"]


# ----------------------------------------------------------------- 3. at the trivial level


def test_a_smooth_fall_to_the_trivial_loss_is_underfitting():
    # LSTM, width 0.05, dropout 0.8, L2 0.1: the L2 penalty shrinks smoothly from 2.34
    # to 0.70 and the model ends where always predicting the majority class does (0.71)
    train = [0.70 + 1.64 * 0.7**i for i in range(15)]
    val = [0.71 + 1.6 * 0.7**i for i in range(15)]
    d = diagnose({"loss": train, "val_loss": val}, status="completed", baseline=0.71)
    assert d["label"] == "underfitting", d["findings"]
    assert d["findings"][0]["signs"] == ["at the trivial loss"]


def test_label_noise_lowers_the_bar_for_stuck():
    # 20 % label noise: 0.45 is 65 % of the trivial 0.69, but the data's own floor is 0.33
    train = [0.69, 0.6, 0.52, 0.48, 0.46, *[0.45 - 0.0005 * i for i in range(15)]]
    val = [0.65, 0.58, 0.52, 0.49, 0.47, *[0.455 - 0.0003 * i for i in range(15)]]
    hist = {"loss": train, "val_loss": val}
    noisy = validate({"task": "binary-10", "data": {"noise": 0.2}, "epochs": 20})
    assert diagnose(hist, status="completed", baseline=0.693, config=noisy)["label"] == "healthy"
    clean = validate({"task": "binary-10", "epochs": 20})
    d = diagnose(hist, status="completed", baseline=0.693, config=clean)
    assert d["label"] == "underfitting"


# ----------------------------------------------------------------- 4. noisy, clipped plateaus


REG10_SGD05 = validate(
    {
        "task": "regression-10",
        "optimizer": "sgd",
        "learning_rate": 0.5,
        "clipping": {"clipvalue": 0.5},
        "epochs": 12,
    }
)


def _clipped_plateau():
    # every update clipped; training flat at 1.19-1.34, validation zig-zagging 0.86-1.57
    train = [3.0, 1.6, 1.3, 1.25, 1.31, 1.19, 1.34, 1.22, 1.28, 1.21, 1.33, 1.24]
    val = [2.0, 1.2, 0.95, 1.4, 0.86, 1.57, 0.9, 1.45, 0.88, 1.5, 0.95, 1.42]
    n_upd = 12 * 13
    steps = {
        "loss": per_update(train, per_epoch=13, jitter=0.4),
        "grad_norm": [3.0 + (i % 7) * 0.5 for i in range(n_upd)],
        "clipped": [True] * n_upd,
    }
    return {"loss": train, "val_loss": val}, steps


def test_a_noisy_plateau_under_heavy_clipping_is_a_too_high_learning_rate():
    hist, steps = _clipped_plateau()
    d = diagnose(hist, steps, status="completed", baseline=10.0, config=REG10_SGD05)
    assert d["label"] == "lr_too_high", d["findings"]
    assert "clipped noisy plateau" in d["findings"][0]["signs"]
    assert d["clipping"]["aggressive"] and d["clipping"]["share"] == 1.0
    assert "lower the learning rate instead" in d["clipping"]["message"]
    top = d["suggestions"][0]
    assert top["change"] == {"learning_rate": 0.15}
    assert top["why"].startswith("More than half the updates clipped (100%)")
    assert d["advice"][0] != "Nothing to fix: loss falls steadily and validation follows."


def test_a_healthy_run_under_light_clipping_keeps_its_label():
    train = [1.0 * 0.8**i for i in range(12)]
    val = [1.1 * 0.8**i for i in range(12)]
    n_upd = 12 * 13
    steps = {
        "loss": per_update(train, per_epoch=13),
        "grad_norm": [0.5 + (i % 10) * 0.1 for i in range(n_upd)],  # 10 % above 1.3
        "clipped": [(0.5 + (i % 10) * 0.1) > 1.3 for i in range(n_upd)],
    }
    cfg = validate({"task": "regression-10", "clipping": {"global_clipnorm": 1.3}, "epochs": 12})
    d = diagnose({"loss": train, "val_loss": val}, steps, status="completed", config=cfg)
    assert d["label"] in ("healthy", "still_improving") and not d["clipping"]["aggressive"]
    assert d["clipping"]["share"] == 15 / 156


def test_clip_stats_follow_the_tuning_playbook():
    norms = [float(i) for i in range(1, 101)]  # 1..100
    s = clip_stats(norms, [n > 40 for n in norms], {"global_clipnorm": 40.0})
    assert (s.mode, s.threshold, s.updates, s.clipped) == ("global_clipnorm", 40.0, 100, 60)
    assert s.share == 0.6 and s.aggressive
    assert math.isclose(s.p90, 90.1) and math.isclose(s.p50, 50.5)
    assert "More than half the updates clipped: lower the learning rate instead" in s.message()
    light = clip_stats(norms, [n > 95 for n in norms], {"clipnorm": 95.0})
    assert light.share == 0.05 and not light.aggressive and "90th percentile" in light.message()
    off = clip_stats(norms, [False] * 100, None)
    assert off.mode is None and off.clipped == 0 and not off.aggressive
    assert clip_stats([math.nan, None], [False, False], None) is None


# ----------------------------------------------------------------- 5. still improving


REG_SGD = validate({"task": "regression", "optimizer": "sgd", "learning_rate": 0.001})


def _unfinished():
    val = [5.9, 5.5, 5.1, 4.6, 4.2, 3.7, 3.2, 2.75, 2.28, 1.85]
    train = [6.0, 5.6, 5.2, 4.8, 4.4, 3.9, 3.45, 2.97, 2.49, 2.04]
    return {"loss": train, "val_loss": val}


def test_a_run_still_improving_fast_at_its_last_epoch_is_unfinished():
    d = diagnose(_unfinished(), status="completed", baseline=6.65, config=REG_SGD)
    # a finding beside the main label: healthy, but not finished
    assert d["labels"] == ["healthy", "still_improving"], d["findings"]
    assert d["summary"].startswith("Healthy but unfinished")
    assert not any(a.startswith("Nothing to fix") for a in d["advice"])
    assert d["evidence"]["final_gain_per_epoch"] > 0.1
    assert d["suggestions"][0]["change"] == {"epochs": 20}
    assert "still falling" in d["suggestions"][0]["why"]
    assert "still_improving" in LABELS


def test_still_improving_needs_the_run_to_have_ended_on_its_own():
    assert diagnose(_unfinished(), status="running", baseline=6.65)["labels"] == ["healthy"]
    assert diagnose(_unfinished(), status="cancelled", baseline=6.65)["labels"] == ["healthy"]
    stopped = validate({**REG_SGD, "epochs": 30})  # early stopping ended it at epoch 10
    d = diagnose(_unfinished(), status="completed", baseline=6.65, config=stopped)
    assert d["labels"] == ["healthy"]


def test_every_finding_has_a_confidence_and_healthy_has_one_too():
    d = diagnose(_unfinished(), status="completed", baseline=6.65, config=REG_SGD)
    assert all(0.5 <= f["confidence"] <= 1 for f in d["findings"])
    flat = [1.0, 0.3, 0.1, 0.05, 0.04, 0.038, 0.037, 0.037]
    h = diagnose({"loss": flat, "val_loss": flat}, status="completed", baseline=1.0)
    assert h["label"] == "healthy" and 0.5 <= h["confidence"] <= 1 and h["findings"] == []


def test_a_memorising_run_without_validation_is_not_a_too_high_rate():
    # no validation data: training near zero bouncing 0.002 ↔ 0.012 (×6, but 1.4 % of the
    # trivial loss) is on no one's scale
    train = [0.7 * 0.6**i for i in range(8)] + [0.002, 0.012, 0.004, 0.011, 0.003, 0.012] * 2
    d = diagnose({"loss": train}, status="completed", baseline=0.69)
    assert "lr_too_high" not in d["labels"], d["findings"]


def test_early_stopping_that_kept_the_best_weights_is_not_overfitting():
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.22, 0.16, 0.12]
    val = [1.0, 0.8, 0.85, 0.82, 0.7, 0.78, 0.86, 0.95]  # best at epoch 5, then 3 up
    hist = {"loss": train, "val_loss": val}
    plain = validate({"task": "regression", "epochs": 8})
    d = diagnose(hist, status="completed", baseline=1.0, config=plain)
    assert d["label"] == "overfitting"
    # the suggested patience reaches epoch 5 (two epochs without a new best before it)
    stop = d["suggestions"][0]["change"]["callbacks.early_stopping"]
    assert stop == {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}
    stopped = validate({"task": "regression", "epochs": 30, "callbacks": {"early_stopping": stop}})
    d = diagnose(hist, status="completed", baseline=1.0, config=stopped)
    assert "overfitting" not in d["labels"], d["findings"]
    kept_not = {**stop, "restore_best_weights": False}
    loose = validate(
        {"task": "regression", "epochs": 30, "callbacks": {"early_stopping": kept_not}}
    )
    assert diagnose(hist, status="completed", baseline=1.0, config=loose)["label"] == "overfitting"
