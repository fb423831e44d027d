"""Losses and their gradients in closed form, for the loss explorer.

The explorer redraws hundreds of points on every slider move; NumPy does that at
once and keeps the page free of TensorFlow. Each formula follows the Keras loss
training uses, conventions included — error = prediction − target (as Keras's
Huber), Huber's quadratic branch at |e| ≤ δ, probabilities clipped to
[1e-7, 1 − 1e-7] — and the tests hold values *and* gradients to the real Keras
losses, so a picture cannot teach a formula the engine does not train with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-7  # keras.config.epsilon(): where Keras clips probabilities

REGRESSION = ("mse", "mae", "huber", "weighted_mse")
CLASSIFICATION = ("binary_crossentropy", "focal")
WRT = ("probability", "logit")


@dataclass(frozen=True)
class Curve:
    loss: np.ndarray
    grad: np.ndarray


def regression(name: str, error, *, delta: float = 1.0, under_weight: float = 2.0) -> Curve:
    """Loss of one output against its error e = ŷ − y, and dL/dŷ (= dL/de)."""
    e = np.asarray(error, dtype=np.float64)
    if name == "mse":
        return Curve(e**2, 2 * e)
    if name == "mae":
        return Curve(np.abs(e), np.sign(e))
    if name == "huber":
        small = np.abs(e) <= delta
        loss = np.where(small, 0.5 * e**2, delta * np.abs(e) - 0.5 * delta**2)
        return Curve(loss, np.clip(e, -delta, delta))
    if name == "weighted_mse":  # the documents' custom loss: under-predictions (e < 0) cost more
        w = np.where(e < 0, under_weight, 1.0)
        return Curve(w * e**2, 2 * w * e)
    raise ValueError(f"unknown regression loss {name!r} (one of {REGRESSION})")


def p_true(p, target: int) -> np.ndarray:
    """p_t: the probability the model gives the *true* class."""
    p = np.asarray(p, dtype=np.float64)
    return p if target == 1 else 1.0 - p


def alpha_t(alpha: float, target: int) -> float:
    """Focal loss's class weight: alpha for positives, 1 − alpha for negatives."""
    return alpha if target == 1 else 1.0 - alpha


def focal_weight(p, target: int, *, gamma: float, alpha: float) -> np.ndarray:
    """Focal loss ÷ cross-entropy at the same prediction: α_t (1 − p_t)^γ."""
    return alpha_t(alpha, target) * (1.0 - p_true(p, target)) ** gamma


def classification(
    name: str,
    p,
    target: int,
    *,
    gamma: float = 2.0,
    alpha: float = 0.25,
    wrt: str = "probability",
) -> Curve:
    """Loss of one sigmoid output p for a 0/1 target, and its gradient.

    ``wrt="probability"`` gives dL/dp; ``"logit"`` gives dL/dz for p = sigmoid(z),
    the gradient the last layer's weights actually receive (dL/dp · p(1 − p)).
    """
    if target not in (0, 1):
        raise ValueError(f"target must be 0 or 1, got {target!r}")
    if wrt not in WRT:
        raise ValueError(f"wrt must be one of {WRT}, got {wrt!r}")
    raw = np.asarray(p, dtype=np.float64)
    pc = np.clip(raw, EPS, 1.0 - EPS)
    pt = p_true(pc, target)
    sign = 1.0 if target == 1 else -1.0  # dp_t/dp
    ce = -np.log(pt)
    if name == "binary_crossentropy":
        loss, dpt = ce, -1.0 / pt
    elif name == "focal":
        a = alpha_t(alpha, target)
        mod = (1.0 - pt) ** gamma
        loss = a * mod * ce
        # d/dp_t of −a (1 − p_t)^γ log p_t
        dpt = a * (gamma * (1.0 - pt) ** (gamma - 1.0) * np.log(pt) - mod / pt)
    else:
        raise ValueError(f"unknown classification loss {name!r} (one of {CLASSIFICATION})")
    inside = (raw >= EPS) & (raw <= 1.0 - EPS)  # the clip passes no gradient outside
    grad = np.where(inside, sign * dpt, 0.0)
    if wrt == "logit":
        grad = grad * pc * (1.0 - pc)
    return Curve(loss, grad)


def outlier_pull(name: str, typical: float, outlier: float, **params) -> float:
    """How many times harder an outlier's error pulls on the weights than a typical
    one's: the ratio of their gradient magnitudes."""
    g = np.abs(regression(name, [typical, outlier], **params).grad)
    return float(g[1] / g[0])
