"""The rules: one function per label, each reading ``Curves`` and returning a ``Finding``.

They follow the documents (001, "Reading training curves…" and "How learning rate
affects convergence"), the Google tuning playbook and AUTOTRAINER's published symptoms
(unstable loss as repeated swings, "test turns bad" as a *sustained* rise), with
thresholds chosen on real curves (``tests/engine/test_diagnosis_suite.py``) and
measured against the run's own scale and noise (``curves``):

- **diverged**: the loss became NaN/inf.
- **lr_too_high**: spikes that matter on the loss's scale, a first-epoch blow-up, a
  climb back up, epoch after epoch of rises, validation jumping about while training
  stalls, or a noisy plateau (training flat and jittery, validation zig-zagging, often
  with most updates clipped: the clip caps the spikes, not the cause).
- **overfitting**: validation rose since its best by more than its own epoch-to-epoch
  noise, by an amount that matters next to the learnable loss and is not within its
  sampling error, stayed up for several epochs, while training kept improving and the
  train/validation gap widened.
- **lr_too_low**: falling every epoch, but by a small share in all, or slowly and
  steadily (1-5 % an epoch) while still high.
- **underfitting**: validation (or training) at or above the trivial predictor's loss,
  however smoothly it fell getting there; or stuck high, no longer improving.
- **still_improving**: nothing wrong, but the result was still falling fast when the
  epochs ran out: the run is unfinished (the playbook: train longer).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from engine.diagnosis.curves import (
    Curves,
    gain_per_epoch,
    is_finite,
    median,
    noise,
    rel_noise,
)
from engine.diagnosis.findings import Check, Finding, Sign

MIN_EPOCHS = 3

# lr_too_high
SPIKE_FACTOR = 3.0  # an update loss 3× the median of the previous 25 ...
SPIKE_SCALE = 0.25  # ... and higher than it by a quarter of the trivial loss
SPIKES_FREQUENT = 0.03  # spikes on 3 % of the updates (at least 3)
BLOWUP_FACTOR = 10.0  # a first-epoch update 10× above where the run started
RISE = 0.05  # an epoch whose training loss rose 5 % ...
RISE_SCALE = 0.02  # ... and by 2 % of the trivial loss
CLIMB = 1.5  # training back up to 1.5× its best, near where it started
ERRATIC = 1.5  # validation 1.5× its best while training no longer improves
STALLED = 0.03  # training's best improved < 3 % per epoch over the last third ...
VAL_JITTER = 0.20  # ... while validation wanders ±20 % of its level (healthy runs: ≤ 13 %)
TRAIN_JITTER = 0.02  # ... and the training epoch loss ±2 %
TRAIN_JITTER_ALONE = 0.10  # without validation: training alone wanders ±10 %
UNSETTLED = 0.10  # training wandering ±10 % while validation wanders ±20 %: never settles
JITTER_SCALE = 0.02  # ... and the wandering is 2 % of the trivial loss: it matters

# overfitting
OVERFIT_AFTER = 3  # epochs since validation's best
OVERFIT_RISE = 0.05  # validation now ≥ 5 % above its best ...
OVERFIT_NOISE = 3.0  # ... by 3× its own epoch-to-epoch noise ...
OVERFIT_SCALE = 0.05  # ... and by 5 % of the learnable loss (trivial − noise floor) ...
OVERFIT_SAMPLING = 0.5  # ... and by half the validation loss's sampling error
OVERFIT_SUSTAINED = 2 / 3  # epochs after the best that stayed above best + noise

# fit and speed
PLATEAU = 0.01  # < 1 % improvement per epoch over the last third
CRAWL_TOTAL = 0.25  # moved less than 25 % since the first epoch ...
HIGH_LEVEL = 0.6  # ... still above 60 % of the trivial loss
AT_TRIVIAL = 0.9  # at (or above) the trivial loss: learned nothing worth having
VAL_ABOVE = 0.25  # validation 25 % above training is a gap, not underfitting

# still improving
STILL_GAIN = 0.05  # the result still falling 5 % per epoch over the last third ...
STILL_LEVEL = 0.03  # ... with at least 3 % of the learnable loss left to gain
STILL_BEST_LAG = 1  # ... and its best in the last two epochs


def new_low_gain(xs: list[float], k: int) -> float:
    """How much lower the series went in its last ``k`` epochs than ever before, per
    epoch: a noisy curve that stopped setting new lows has stalled, whatever its trend
    line says."""
    before, last = xs[:-k], xs[-k:]
    if not before or not last or min(before) <= 0:
        return 0.0
    return max(0.0, (min(before) - min(last)) / min(before)) / k


def _rel(a: float, b: float) -> float:
    return (a - b) / abs(b) if b else 0.0


def diverged(c: Curves, status: str, diverged_at: int | None) -> Finding:
    bad_upd = next((i for i, v in enumerate(c.updates) if not is_finite(v)), None)
    bad_epoch = next((i for i, v in enumerate(c.loss) if not is_finite(v)), None)
    hit = status == "diverged" or bad_upd is not None or bad_epoch is not None
    at = diverged_at or (bad_upd + 1 if bad_upd is not None else None)
    ev = {}
    if hit:
        ev = {
            "diverged_at_update": at,
            "diverged_in_epoch": (bad_epoch + 1) if bad_epoch is not None else c.n or None,
        }
    check = Check("loss became NaN/inf", 1.0 if hit else 0.0, 0.5)
    # Ranked first whatever it explains; the whole loss is lost.
    return Finding("diverged", [Sign("non-finite loss", (check,))], 1.0 if hit else 0.0, ev)


def spikes(c: Curves) -> list[int]:
    """Updates (0-based) whose loss is far above the recent median, on the loss's scale.

    The first epoch is left to ``early_blowup``; a bounce of a near-zero loss that stays
    small next to the trivial loss (a memorising run: 0.003 → 0.07) is not a spike.
    """
    out, window = [], []
    floor = SPIKE_SCALE * c.scale
    for i, v in enumerate(c.updates):
        if not is_finite(v):
            continue
        # v − median > floor needs v > floor (losses are ≥ 0): most updates stop here
        if v > floor and i >= c.updates_per_epoch and len(window) >= 5:
            med = median(window[-25:])
            if med > 0 and v > SPIKE_FACTOR * med and v - med > floor:
                out.append(i)
        window.append(v)
    return out


def early_blowup(c: Curves) -> tuple[int | None, float]:
    """The first first-epoch update far above where the run began, and its ratio.

    The spike rule needs a few updates of history, so it cannot judge the first epoch,
    where a too-large step does its worst: Adam at 300× its usual rate threw a
    regression from loss 4.5 to 6,000 in three updates, then spent the run recovering.
    The yardstick is the first update's loss, or the trivial loss when higher.
    """
    first = next((v for v in c.updates if is_finite(v)), None)
    if first is None:
        return None, 0.0
    ref = max(first, c.baseline or 0.0)
    if ref <= 0:
        return None, 0.0
    head = [(i, v) for i, v in enumerate(c.updates[: c.updates_per_epoch]) if is_finite(v)]
    if not head:
        return None, 0.0
    at = next((i for i, v in head if v > BLOWUP_FACTOR * ref), None)
    return at, max(v for _, v in head) / ref


def lr_too_high(c: Curves, clip_share: float | None) -> Finding:
    fl, fv, s = c.fl, c.fv, c.scale
    spk = spikes(c)
    blowup, blow_ratio = early_blowup(c)
    rises = sum(
        1 for a, b in itertools.pairwise(fl) if b > a * (1 + RISE) and b - a > RISE_SCALE * s
    )
    n_upd = len(c.updates)
    ev: dict = {"loss_spikes": len(spk), "epoch_loss_rises": rises}
    if spk:
        ev["first_spike_update"] = spk[0] + 1
    if blowup is not None:
        ev["early_blowup_update"] = blowup + 1
    signs = [
        Sign(
            "first-epoch blow-up",
            (Check("first-epoch update loss vs where it started", blow_ratio, BLOWUP_FACTOR),),
        ),
        Sign(
            "frequent spikes",
            (
                Check(
                    "loss spikes (3× the recent median and a quarter of the trivial loss above it)",
                    len(spk),
                    max(3, SPIKES_FREQUENT * n_upd) - 0.5,
                ),
            ),
        ),
        Sign(
            "bouncing",
            (
                Check("loss spikes", len(spk), 2.5),
                Check("epochs whose loss rose", rises, 1.5),
            ),
        ),
        Sign(
            "epoch loss keeps rising",
            (Check("epochs whose loss rose", rises, max(2, c.n // 3) - 0.5),),
        ),
    ]
    excess = [0.0]
    if len(fl) >= 2:
        climb = fl[-1] / min(fl) if min(fl) > 0 else 0.0
        signs.append(
            Sign(
                "climbed back up",
                (
                    Check("training loss now vs its best", climb, CLIMB),
                    Check(
                        "training loss now vs its first epoch", fl[-1] / fl[0] if fl[0] else 0, 0.9
                    ),
                    Check("climb, share of the trivial loss", (fl[-1] - min(fl)) / s, 0.1),
                ),
            )
        )
        excess.append((fl[-1] - min(fl)) / s)
    if c.has_val:
        b = c.best_val_epoch
        val_now = c.recent(fv)
        signs.append(
            Sign(
                "validation erratic while training stalls",
                (
                    Check("validation now vs its best", fv[-1] / fv[b] if fv[b] else 0, ERRATIC),
                    Check(
                        "training now vs at validation's best", fl[-1] / fl[b] if fl[b] else 0, 0.98
                    ),
                    Check("loss spikes + epochs whose loss rose", len(spk) + rises, 1.5),
                    Check("validation rise, share of the trivial loss", (fv[-1] - fv[b]) / s, 0.05),
                ),
            )
        )
        excess.append(max(0.0, val_now - fv[b]) / s)
    if len(fl) >= 6:
        level = c.recent(fl)
        stall = new_low_gain(fl, c.tail)
        train_jit = rel_noise(fl[len(fl) // 2 :])
        no_new_low = Check(
            "training's best, gain per epoch over the last third", stall, STALLED, above=False
        )
        if c.has_val:
            val_jit = rel_noise(fv[len(fv) // 2 :])
            jitter = Check("validation jitter (σ) vs its level, second half", val_jit, VAL_JITTER)
            # At a floor near zero a loss of 1e-5 that bounces ×2 is ±90 % of its level
            # and nothing on the loss's scale: a converged run, not a rate too high.
            matters = Check(
                "validation jitter (σ), share of the trivial loss",
                noise(fv[len(fv) // 2 :]) / s,
                JITTER_SCALE,
            )
        else:
            jitter = Check(
                "training jitter (σ) vs its level, second half", train_jit, TRAIN_JITTER_ALONE
            )
        plateau = [
            jitter,
            no_new_low,
            Check("training jitter (σ) vs its level, second half", train_jit, TRAIN_JITTER),
        ]
        if c.has_val:
            plateau.append(matters)
        else:  # a memorising loss near zero bounces ×10 and means nothing
            plateau.append(
                Check(
                    "training jitter (σ), share of the trivial loss",
                    noise(fl[len(fl) // 2 :]) / s,
                    JITTER_SCALE,
                )
            )
        signs.append(Sign("noisy plateau", tuple(plateau)))
        if c.has_val:
            signs.append(
                Sign(
                    "never settles",
                    (
                        jitter,
                        matters,
                        Check(
                            "training jitter (σ) vs its level, second half", train_jit, UNSETTLED
                        ),
                    ),
                )
            )
        if clip_share is not None:
            signs.append(
                Sign(
                    "clipped noisy plateau",
                    (Check("share of updates clipped", clip_share, 0.5), jitter, no_new_low),
                )
            )
        excess.append(c.level(level))
    spike_excess = sum(c.updates[i] for i in spk) / n_upd / s if spk and n_upd else 0.0
    excess.append(spike_excess)
    f = Finding("lr_too_high", signs, 0.0, ev, {"spike_updates": [i + 1 for i in spk[:50]]})
    if f.passed:
        f.explains = max(excess)
    return f


def longest_wait(xs: list[float], upto: int) -> int:
    """The most epochs in a row without a new best before index ``upto``: the patience
    early stopping needs to reach that epoch (it stops once ``patience`` epochs in a row
    bring no improvement)."""
    best, last, wait = math.inf, 0, 0
    for i, v in enumerate(xs[: upto + 1]):
        if v < best:
            wait = max(wait, i - last - 1) if i else 0
            best, last = v, i
    return wait


def overfitting(c: Curves, early_stop: Mapping[str, Any] | None = None) -> Finding:
    """``early_stop``: the run's early-stopping callback, if any. When it ended the run
    within its patience of the best epoch and restored that epoch's weights, the rise
    after the best is the patience window, not an overfit model."""
    ev: dict = {}
    if not c.has_val:
        return Finding("overfitting", [], 0.0, ev)
    fl, fv, s = c.fl, c.fv, c.scale
    b = c.best_val_epoch
    ev["best_val_epoch"] = b + 1
    ev["patience_to_reach_best"] = longest_wait(fv, b) + 1
    rise_last = _rel(fv[-1], fv[b])
    ev["val_rise_since_best"] = rise_last
    gap = [v - t for t, v in zip(fl, fv, strict=True)]
    ev["gap_last"] = gap[-1]
    ev["gap_at_best"] = gap[b]
    after = fv[b + 1 :]
    val_now = c.recent(fv) if len(after) >= 3 else fv[-1]
    train_now = c.recent(fl) if len(after) >= 3 else fl[-1]
    rise = val_now - fv[b]
    wander = noise(fv[max(0, b - 1) :]) if len(fv) - b >= 3 else noise(fv)
    ev["val_noise"] = wander
    above = sum(1 for v in after if v > fv[b] + wander)
    gap_now = val_now - train_now
    se = c.sampling_error(fv[b])
    if se:
        ev["val_sampling_error"] = se
    signs = [
        Sign(
            "validation turned up while training improved",
            (
                Check("epochs since validation's best", len(after), OVERFIT_AFTER - 0.5),
                Check("validation now vs its best", _rel(val_now, fv[b]), OVERFIT_RISE),
                Check(
                    "validation rise vs its own epoch-to-epoch noise",
                    rise / wander if wander > 0 else (1e9 if rise > 0 else 0.0),
                    OVERFIT_NOISE,
                ),
                Check(
                    "validation rise, share of the learnable loss (trivial − noise floor)",
                    rise / c.learnable,
                    OVERFIT_SCALE,
                ),
                *(
                    (
                        Check(
                            "validation rise vs its sampling error (± on this many examples)",
                            rise / se,
                            OVERFIT_SAMPLING,
                        ),
                    )
                    if se
                    else ()
                ),
                Check(
                    "epochs after the best that stayed above it",
                    above / len(after) if after else 0,
                    OVERFIT_SUSTAINED - 1e-9,
                ),
                Check(
                    "training loss now vs at validation's best",
                    _rel(train_now, fl[b]),
                    0.0,
                    above=False,
                ),
                Check("validation − training gap now", gap_now, 0.0),
                Check("gap widening since the best epoch", gap_now - gap[b], wander),
            ),
        )
    ]
    if early_stop and early_stop.get("monitor") == "val_loss":
        patience = int(early_stop.get("patience") or 0)
        kept = bool(early_stop.get("restore_best_weights"))
        signs[0] = Sign(
            signs[0].name,
            (
                *signs[0].checks,
                Check(
                    "epochs after the best beyond early stopping's patience (best weights kept)",
                    len(after) - (patience if kept else 0),
                    0.5,
                ),
            ),
        )
    f = Finding("overfitting", signs, 0.0, ev)
    if f.passed:
        f.explains = rise / s
        f.evidence["overfitting_from_epoch"] = b + 2
    return f


def _fit_numbers(c: Curves) -> dict:
    fl = c.fl
    k = max(1, len(fl) // 3)
    ref = fl[-1 - k]
    series = c.fv if c.has_val else fl
    return {
        "recent_gain_per_epoch": _rel(ref, fl[-1]) / k if ref else 0.0,
        "total_gain": _rel(fl[0], fl[-1]) if fl[0] else 0.0,
        "steadily_falling": c.steadily_falling,
        "result_gain_per_epoch": gain_per_epoch(series[-c.tail - 1 :]),
    }


def _level(c: Curves) -> float | None:
    """How much of the learnable loss the result still has (0 at the data's noise
    floor, 1 at the trivial loss): validation when there is one (the trivial loss is
    measured on it), else training."""
    if not c.baseline:
        return None
    series = c.fv if c.has_val else c.fl
    return c.level(c.recent(series))


def _steady(nums: dict) -> Check:
    return Check("training loss fell every recent epoch", float(nums["steadily_falling"]), 0.5)


def lr_too_low(c: Curves) -> Finding:
    nums = _fit_numbers(c)
    level = _level(c)
    moved = Check("loss improvement since epoch 1", nums["total_gain"], CRAWL_TOTAL, above=False)
    signs = [Sign("crawling", (_steady(nums), moved))]
    if level is not None:
        high = Check("result vs the trivial loss (0 = noise floor, 1 = trivial)", level, HIGH_LEVEL)
        signs = [
            Sign("crawling", (_steady(nums), moved, high)),
            Sign(
                "slow and steady",
                (
                    _steady(nums),
                    high,
                    Check(
                        "result vs the trivial loss (0 = noise floor, 1 = trivial)",
                        level,
                        AT_TRIVIAL,
                        above=False,
                    ),
                    Check(
                        "result's gain per epoch, last third",
                        nums["result_gain_per_epoch"],
                        STILL_GAIN,
                        above=False,
                    ),
                    Check(
                        "result's gain per epoch, last third",
                        nums["result_gain_per_epoch"],
                        PLATEAU,
                    ),
                ),
            ),
        ]
    f = Finding("lr_too_low", signs, 0.0, dict(nums))
    if level is not None:
        f.evidence["loss_vs_trivial"] = c.recent(c.fl) / c.scale
        f.explains = level
    return f


def underfitting(c: Curves) -> Finding:
    nums = _fit_numbers(c)
    fl, fv = c.fl, c.fv
    level = _level(c)
    train_level = c.level(c.recent(fl))
    val_gap = (fv[-1] - fl[-1]) / abs(fl[-1]) if c.has_val and fl[-1] else 0.0
    signs = []
    not_above = Check(
        "validation above training, share of training", val_gap, VAL_ABOVE, above=False
    )
    train_high = Check("training vs the trivial loss", train_level, HIGH_LEVEL)
    if level is not None:
        signs.append(
            Sign(
                "at the trivial loss",
                (
                    Check(
                        "result vs the trivial loss (0 = noise floor, 1 = trivial)",
                        level,
                        AT_TRIVIAL,
                    ),
                    Check("training vs the trivial loss", train_level, 0.5),
                    not_above,
                ),
            )
        )
        signs.append(
            Sign(
                "stuck high",
                (
                    train_high,
                    Check(
                        "still falling every epoch",
                        float(nums["steadily_falling"]),
                        0.5,
                        above=False,
                    ),
                    not_above,
                ),
            )
        )
    signs.append(
        Sign(
            "flat",
            (
                Check(
                    "loss improvement per epoch, last third",
                    nums["recent_gain_per_epoch"],
                    PLATEAU,
                    above=False,
                ),
                *((train_high,) if level is not None else ()),
                not_above,
            ),
        )
    )
    f = Finding("underfitting", signs, 0.0, dict(nums))
    if level is not None:
        f.evidence["loss_vs_trivial"] = c.recent(fl) / c.scale
        f.explains = level
    return f


def still_improving(c: Curves, status: str, planned_epochs: int | None) -> Finding:
    """Only for a run that ended on its own after all its epochs: while it trains it is
    of course still improving, and a run that early stopping ended has stopped improving."""
    series = c.fv if c.has_val else c.fl
    k = c.tail
    gain = gain_per_epoch(series[-k - 1 :])
    jitter = rel_noise(series[-k - 1 :])
    trend = gain / jitter if jitter > 0 else (1e9 if gain > 0 else 0.0)
    best = min(range(len(series)), key=series.__getitem__)
    level = c.level(c.recent(series))
    finished = status == "completed" and (planned_epochs is None or c.n >= planned_epochs)
    what = "validation" if c.has_val else "training"
    sign = Sign(
        "still falling fast at the last epoch",
        (
            Check("ran every planned epoch", 1.0 if finished else 0.0, 0.5),
            Check(f"{what} loss gain per epoch, last third", gain, STILL_GAIN),
            Check(f"{what} loss trend vs its own jitter, last third", trend, 1.0),
            Check(
                f"epochs since {what}'s best",
                len(series) - 1 - best,
                STILL_BEST_LAG + 0.5,
                above=False,
            ),
            Check(
                f"{what} loss left above the noise floor, share of the trivial", level, STILL_LEVEL
            ),
        ),
    )
    ev = {"final_gain_per_epoch": gain}
    f = Finding("still_improving", [sign], 0.0, ev)
    if f.passed:
        f.explains = level * (1 - (1 - min(gain, 0.99)) ** max(1, c.n // 2))
    return f
