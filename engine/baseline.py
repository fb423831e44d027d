"""The loss of a model that ignores its inputs (predicts the training mean or
class prior). Diagnosis uses it as the yardstick for "still high": a loss near the
baseline has learned nothing, whatever its absolute value."""

from __future__ import annotations

import math


def _one(loss: dict, y_fit, y_eval, n_classes: int) -> float | None:
    import numpy as np  # here, so the diagnosis' noise floor needs no NumPy

    name = loss["name"]
    yf = np.asarray(y_fit, dtype=np.float64)
    ye = np.asarray(y_eval, dtype=np.float64)
    if name in ("mse", "weighted_mse"):
        err = ye - yf.mean(axis=0)
        if name == "weighted_mse":
            w = np.where(err > 0, loss["under_weight"], 1.0)
            return float(np.mean(w * err**2))
        return float(np.mean(err**2))
    if name == "mae":
        return float(np.mean(np.abs(ye - np.median(yf, axis=0))))
    if name == "huber":
        d = loss["delta"]
        err = np.abs(ye - yf.mean(axis=0))
        return float(np.mean(np.where(err <= d, 0.5 * err**2, d * (err - 0.5 * d))))
    eps = 1e-7
    if name == "binary_crossentropy":
        p = np.clip(yf.mean(), eps, 1 - eps)
        t = ye.reshape(-1)
        return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
    if name in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        lf = yf.argmax(-1) if yf.ndim == 2 else yf.reshape(-1).astype(int)
        le = ye.argmax(-1) if ye.ndim == 2 else ye.reshape(-1).astype(int)
        prior = np.clip(np.bincount(lf, minlength=n_classes) / len(lf), eps, 1)
        return float(-np.mean(np.log(prior[le])))
    return None  # focal: no simple closed form worth the confusion


def baseline_loss(task, cfg: dict, y_fit, y_eval) -> float | None:
    """Trivial-predictor loss on ``y_eval`` (validation if any, else training data)."""
    if task.multi_output:
        total = 0.0
        for h in task.heads:
            b = _one(cfg["loss"][h.name], y_fit[h.name], y_eval[h.name], h.n_classes)
            if b is None:
                return None
            total += cfg["loss_weights"][h.name] * b
        return total
    return _one(cfg["loss"], y_fit, y_eval, task.heads[0].n_classes)


def _entropy_floor(share: float, n_classes: int) -> float:
    """Cross-entropy of labels replaced at random with probability ``share``: even a
    perfect model cannot go below it (the true class keeps 1 − share + share/K)."""
    k = n_classes
    p_true = 1.0 - share + share / k
    p_other = share / k
    h = -p_true * math.log(p_true)
    if p_other > 0:
        h -= (k - 1) * p_other * math.log(p_other)
    return h


def _floor_one(loss: dict, kind: str, n_classes: int, noise: float) -> float | None:
    name = loss["name"]
    if kind == "regression":
        if name == "mse":
            return noise**2
        if name == "mae":
            return noise * math.sqrt(2 / math.pi)
        return 0.0 if noise == 0 else None  # weighted MSE, Huber: no simple closed form
    if name in (
        "binary_crossentropy",
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
    ):
        return _entropy_floor(noise, max(2, n_classes))
    return 0.0 if noise == 0 else None


def noise_floor(task, cfg: dict) -> float | None:
    """The loss a perfect model of learnable targets still has, from the data's own noise
    (``data.noise``: Gaussian noise on regression targets, a share of labels replaced at
    random for classification). Diagnosis measures "still high" between this floor and
    the trivial loss: with 20 % label noise a binary task cannot go below 0.33, so 0.45
    is not stuck at 65 % of the trivial 0.69 but 70 % of the way down. None when the
    targets are random (nothing is learnable) or the loss has no closed form."""
    d = cfg["data"]
    if not d.get("learnable", True):
        return None
    noise = float(d.get("noise") or 0.0)
    total = 0.0
    for h in task.heads:
        loss = cfg["loss"][h.name] if task.multi_output else cfg["loss"]
        f = _floor_one(loss, h.kind, h.n_classes, noise)
        if f is None:
            return None
        total += (cfg["loss_weights"][h.name] if task.multi_output else 1.0) * f
    return total
