"""Reading training curves the way the documents teach (001, "Reading training
curves…" and "How learning rate affects convergence"), as rules with evidence.

Pure Python on recorded series, so it runs in the engine, the store's readers and
the dashboard alike, while a run trains and after it ends. Labels:
``diverged``, ``lr_too_high``, ``overfitting``, ``lr_too_low``, ``underfitting``,
``healthy`` and ``too_early``. Where several apply, all are given, main first.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

LABELS = (
    "healthy",
    "underfitting",
    "overfitting",
    "lr_too_high",
    "lr_too_low",
    "diverged",
    "too_early",
)

MIN_EPOCHS = 3
SPIKE_FACTOR = 3.0  # an update whose loss exceeds 3× the recent median is a spike
OVERFIT_RISE = 0.10  # validation 10% above its best ...
OVERFIT_AFTER = 2  # ... at least 2 epochs after the best epoch
GAP_WIDENING = 0.15  # or: validation up a little and the gap widened by 15% of best val
PLATEAU = 0.01  # < 1% improvement per epoch over the last third is a plateau
CRAWL_TOTAL = 0.75  # still above 75% of the first epoch's loss after all epochs ...
HIGH_LEVEL = 0.6  # a plateau above 60% of the trivial predictor's loss is underfitting
BLOWUP_FACTOR = 10.0  # a first-epoch update 10× above where the run started overshot

ADVICE = {
    "diverged": [
        "Lower the learning rate 3–10×: a step that large throws the weights where the loss "
        "overflows.",
        "Add gradient clipping (global_clipnorm=1.0), the standard guard for recurrent nets "
        "and deep stacks.",
        "Check the loss matches the output layer (from_logits) and the labels.",
    ],
    "lr_too_high": [
        "Lower the learning rate 3–10×; the loss bounces instead of settling.",
        "Or keep the peak and add warmup plus a decaying schedule (cosine_decay).",
        "Clip gradients (global_clipnorm=1.0) if the spikes come from occasional huge gradients.",
    ],
    "overfitting": [
        "Stop earlier: early stopping on val_loss with restore_best_weights=True keeps the "
        "best epoch.",
        "Add regularisation: dropout 0.2–0.5, L2, or AdamW's weight decay.",
        "Reduce capacity (model width/depth) or get more training data.",
    ],
    "lr_too_low": [
        "Raise the learning rate 2–3× (the loss is falling steadily but slowly).",
        "Or train for more epochs; reduce-LR-on-plateau will cut it when progress stalls.",
    ],
    "underfitting": [
        "Increase capacity (model width/depth) or reduce regularisation (dropout, L2).",
        "Train longer, or raise the learning rate slightly if the curve is flat.",
        "If the targets are random (learnable: false) there is nothing to learn: that is the "
        "point of the demo.",
    ],
    "healthy": ["Nothing to fix: loss falls steadily and validation follows training."],
    "too_early": ["Wait for a few more epochs before judging."],
}

SUMMARY = {
    "diverged": "Diverged: the loss became NaN/inf.",
    "lr_too_high": "Learning rate too high: the loss spikes or climbs instead of settling.",
    "overfitting": "Overfitting: training keeps improving while validation gets worse.",
    "lr_too_low": "Learning rate too low: the loss crawls down.",
    "underfitting": "Underfitting: the training loss stays high, and validation is no worse.",
    "healthy": "Healthy: loss falls and validation follows.",
    "too_early": "Too early to judge.",
}


def _finite(xs):
    return [x for x in xs if x is not None and math.isfinite(x)]


def _median(xs):
    s = sorted(xs)
    n = len(s)
    return 0.5 * (s[(n - 1) // 2] + s[n // 2]) if n else float("nan")


def _spikes(losses: list[float], start: int) -> list[int]:
    """Indices of updates whose loss is far above the median of the previous ones."""
    out = []
    window = []
    for i, v in enumerate(losses):
        if v is None or not math.isfinite(v):
            continue
        if i >= start and len(window) >= 5:
            med = _median(window[-25:])
            if med > 0 and v > SPIKE_FACTOR * med:
                out.append(i)
        window.append(v)
    return out


def _early_blowup(losses: list[float], end: int, baseline: float | None) -> int | None:
    """The first update before ``end`` whose loss jumped far above where the run began.

    ``_spikes`` needs a few updates of history, so it cannot judge the first epoch,
    where a too-large step does its worst: Adam at 300× its usual rate threw a
    regression from loss 4.5 to 6,000 in three updates, then spent the run
    recovering. The yardstick is the first update's loss, or the trivial
    predictor's when that is higher (random initial weights can start above it).
    """
    first = next((v for v in losses if v is not None and math.isfinite(v)), None)
    if first is None:
        return None
    ref = max(first, baseline or 0.0)
    if ref <= 0:
        return None
    for i, v in enumerate(losses[:end]):
        if v is not None and math.isfinite(v) and v > BLOWUP_FACTOR * ref:
            return i
    return None


def diagnose(
    history: dict[str, list[float]],
    steps: dict[str, list] | None = None,
    *,
    status: str = "running",
    diverged_at: int | None = None,
    baseline: float | None = None,
) -> dict[str, Any]:
    """Label a run from its per-epoch ``history`` (Keras names) and per-update ``steps``."""
    loss = list(history.get("loss", []))
    val = list(history.get("val_loss", []))
    n = len(loss)
    ev: dict[str, Any] = {"epochs": n}
    found: list[str] = []
    markers: dict[str, Any] = {}

    # Diverged: NaN/inf anywhere in the training loss
    upd_loss = list((steps or {}).get("loss", []))
    bad_upd = next((i for i, v in enumerate(upd_loss) if v is None or not math.isfinite(v)), None)
    bad_epoch = next((i for i, v in enumerate(loss) if v is None or not math.isfinite(v)), None)
    if status == "diverged" or bad_upd is not None or bad_epoch is not None:
        at = diverged_at or (bad_upd + 1 if bad_upd is not None else None)
        ev["diverged_at_update"] = at
        ev["diverged_in_epoch"] = (bad_epoch + 1) if bad_epoch is not None else n or None
        markers["diverged_at_update"] = at
        found.append("diverged")

    fl, fv = _finite(loss), _finite(val)
    if not found and n < MIN_EPOCHS:
        return _result(["too_early"], ev, markers)

    # Learning rate too high: spikes in the per-update loss, or an epoch loss that climbs
    if fl:
        per_epoch = max(1, len(upd_loss) // max(n, 1))
        spikes = _spikes(upd_loss, start=per_epoch) if upd_loss else []
        blowup = _early_blowup(upd_loss, per_epoch, baseline) if upd_loss else None
        if blowup is not None:
            ev["early_blowup_update"] = blowup + 1
            markers["spike_updates"] = [blowup + 1]
        rises = sum(1 for a, b in itertools.pairwise(fl) if b > a * 1.05)
        ev["loss_spikes"] = len(spikes)
        ev["epoch_loss_rises"] = rises
        if spikes:
            ev["first_spike_update"] = spikes[0] + 1
            markers["spike_updates"] = [
                *markers.get("spike_updates", []),
                *(s + 1 for s in spikes[:50]),
            ]
        climbed = len(fl) >= 2 and fl[-1] > 1.5 * min(fl) and fl[-1] > fl[0] * 0.9
        frequent = upd_loss and len(spikes) >= max(3, 0.03 * len(upd_loss))
        bouncing = len(spikes) >= 3 and rises >= 2
        erratic = False
        if len(fv) >= MIN_EPOCHS and len(fl) == len(fv):
            b = min(range(len(fv)), key=fv.__getitem__)
            # validation jumps far above its best while training no longer improves
            erratic = fv[-1] > 1.5 * fv[b] and fl[-1] >= 0.98 * fl[b] and (rises >= 2 or spikes)
        if "diverged" not in found and (
            frequent
            or climbed
            or bouncing
            or erratic
            or blowup is not None
            or rises >= max(2, n // 3)
        ):
            found.append("lr_too_high")

    # Overfitting: validation bottoms out and rises while training keeps improving
    if len(fv) >= MIN_EPOCHS and len(fl) == len(fv):
        best = min(range(len(fv)), key=fv.__getitem__)
        ev["best_val_epoch"] = best + 1
        markers["best_epoch"] = best + 1
        rise = (fv[-1] - fv[best]) / abs(fv[best]) if fv[best] else 0.0
        ev["val_rise_since_best"] = rise
        gap = [v - t for t, v in zip(fl, fv, strict=False)]
        ev["gap_last"] = gap[-1]
        ev["gap_at_best"] = gap[best]
        train_improved = fl[-1] < fl[best]
        widened = gap[-1] - gap[best] > GAP_WIDENING * abs(fv[best])
        if (
            len(fv) - 1 - best >= OVERFIT_AFTER
            and train_improved
            and gap[-1] > gap[best]
            and (rise > OVERFIT_RISE or (rise > 0.01 and widened))
        ):
            ev["overfitting_from_epoch"] = best + 2
            markers["overfit_from"] = best + 2
            found.append("overfitting")

    # Slow or stalled: judged on the train loss's last third
    if len(fl) >= MIN_EPOCHS and not found:
        k = max(1, len(fl) // 3)
        ref = fl[-1 - k]
        per_epoch_gain = (ref - fl[-1]) / abs(ref) / k if ref else 0.0
        total_gain = (fl[0] - fl[-1]) / abs(fl[0]) if fl[0] else 0.0
        ev["recent_gain_per_epoch"] = per_epoch_gain
        ev["total_gain"] = total_gain
        level = fl[-1] / baseline if baseline else None
        if level is not None:
            ev["loss_vs_trivial"] = level
        # Validation far *below* training is regularisation at work (dropout, L2 in the
        # training loss), not a gap that argues against underfitting; far above is.
        val_not_above = not fv or fv[-1] - fl[-1] <= 0.25 * abs(fl[-1]) + 1e-12
        steady = all(b < a for a, b in itertools.pairwise(fl[-k - 1 :]))
        high = level is None or level > HIGH_LEVEL
        ev["steadily_falling"] = steady
        # Still near the trivial loss and no longer falling every epoch: stuck, whether
        # the last third is flat or just noisy (heavy dropout bounces the training loss).
        stuck_high = level is not None and high and not steady
        if steady and 1 - total_gain > CRAWL_TOTAL and high:
            found.append("lr_too_low")  # still falling every epoch, but barely moved
        elif (per_epoch_gain < PLATEAU or stuck_high) and val_not_above and high:
            found.append("underfitting")

    if not found:
        found.append("healthy")
    return _result(found, ev, markers)


def _result(labels, evidence, markers):
    advice = [a for lab in labels for a in ADVICE[lab]]
    return {
        "label": labels[0],
        "labels": labels,
        "summary": SUMMARY[labels[0]],
        "evidence": evidence,
        "advice": advice,
        "markers": markers,
    }


def diagnose_result(result: dict[str, Any]) -> dict[str, Any]:
    """Diagnose the dict returned by ``engine.training.train.train``."""
    return diagnose(
        result.get("history", {}),
        result.get("steps"),
        status=result.get("status", "completed"),
        diverged_at=result.get("diverged_at"),
        baseline=(result.get("info") or {}).get("baseline_loss"),
    )


def diagnose_stored(store, run_id: str) -> dict[str, Any]:
    """Diagnose a run from the store's full-resolution series (spikes need every update)."""
    run = store.get_run(run_id)
    series = store.epoch_series([run_id], max_points=None).get(run_id, {})
    history = {k: v["value"] for k, v in series.items()}
    steps = store.update_series(run_id, max_points=None)
    info = run.get("info") or {}
    result = run.get("result") or {}
    status = run["status"]
    return diagnose(
        history,
        steps,
        status=status,
        diverged_at=result.get("diverged_at"),
        baseline=info.get("baseline_loss"),
    )
