"""Task data, generated deterministically from the seed with NumPy only.

This module is copied verbatim into exported scripts, so it must stay free of
engine imports. ``learnable`` flips a task between the document's targets and
the other kind: random targets (memorisation only) or a fixed random teacher.
One weight vector serves train, validation and test (the first document drew a
new one for its test set, which made test loss meaningless).
"""

from __future__ import annotations

import numpy as np


def _labels_noise(rng, y, share, n_classes):
    """Replace a share of labels with random ones (label noise)."""
    if share <= 0:
        return y
    flat = y.reshape(len(y)).copy()
    mask = rng.rand(len(flat)) < share
    flat[mask] = rng.randint(0, n_classes, size=int(mask.sum())).astype(y.dtype)
    return flat.reshape(y.shape)


def _generate(task, n, rng, params, learnable):
    """Inputs and targets of ``n`` examples; ``params`` holds the fixed teacher weights."""
    if task in ("regression", "regression-5", "regression-10", "mixed-precision"):
        d = {"regression": 10, "regression-5": 5, "regression-10": 10, "mixed-precision": 20}[task]
        x = rng.randn(n, d).astype(np.float32)
        if task == "mixed-precision":
            if not learnable:
                return x, rng.randn(n, 1).astype(np.float32)
            y = x @ params["w"]
            return x, (y / params["scale"]).astype(np.float32)
        return x, (x @ params["w"] + params["b"]).astype(np.float32)
    if task in ("binary-20", "binary-10"):
        d, k = (20, 5) if task == "binary-20" else (10, 3)
        x = rng.randn(n, d).astype(np.float32)
        return x, (np.sum(x[:, :k], axis=1) > 0).astype(np.float32).reshape(-1, 1)
    if task == "multi-output":
        x = rng.randn(n, 10).astype(np.float32)
        if not learnable:
            price = rng.randn(n, 1).astype(np.float32)
            category = rng.randint(0, 3, size=(n,)).astype(np.int32)
        else:
            price = (x @ params["w_price"]).astype(np.float32)
            category = np.argmax(x @ params["w_cat"], axis=1).astype(np.int32)
        return x, {"price": price, "category": category}
    if task == "sequence":
        x = rng.randn(n, 50, 10).astype(np.float32)
        if not learnable:
            return x, rng.randint(0, 2, size=(n,)).astype(np.float32).reshape(-1, 1)
        score = x.mean(axis=1) @ params["w"]
        return x, (score > 0).astype(np.float32).reshape(-1, 1)
    if task == "multiclass-10":
        x = rng.randn(n, 50).astype(np.float32)
        if not learnable:
            return x, rng.randint(0, 10, size=(n,)).astype(np.int32)
        return x, np.argmax(x @ params["w"], axis=1).astype(np.int32)
    raise KeyError(task)


def _teacher_params(task, rng):
    if task == "regression":
        return {"w": rng.randn(10, 1).astype(np.float32), "b": 0.5}
    if task == "regression-5":
        return {"w": np.array([1, -2, 3, -1, 0.5], np.float32).reshape(-1, 1), "b": 0.1}
    if task == "regression-10":
        return {"w": rng.randn(10, 1).astype(np.float32), "b": 0.0}
    if task == "mixed-precision":
        w = rng.randn(20, 1).astype(np.float32)
        return {"w": w, "scale": float(np.linalg.norm(w))}
    if task == "multi-output":
        return {
            "w_price": rng.randn(10, 1).astype(np.float32),
            "w_cat": rng.randn(10, 3).astype(np.float32),
        }
    if task == "sequence":
        return {"w": rng.randn(10).astype(np.float32)}
    if task == "multiclass-10":
        return {"w": rng.randn(50, 10).astype(np.float32)}
    return {}


RANDOM_BY_DEFAULT = ("multi-output", "sequence", "mixed-precision", "multiclass-10")
CLASSES = {"binary-20": 2, "binary-10": 2, "sequence": 2, "multiclass-10": 10}


def _postprocess(task, y, rng, noise, learnable):
    """Random targets for learnable tasks made unlearnable, then noise."""

    def one(name, arr):
        if not learnable and task not in RANDOM_BY_DEFAULT:
            arr = arr[rng.permutation(len(arr))]  # same marginal, no relation to x
        n_classes = 3 if name == "category" else CLASSES.get(task, 0)
        if n_classes:
            return _labels_noise(rng, arr, noise, n_classes)
        if noise > 0:
            arr = arr + rng.randn(*arr.shape).astype(np.float32) * np.float32(noise)
        return arr.astype(np.float32)

    if isinstance(y, dict):
        return {k: one(k, v) for k, v in y.items()}
    return one("output", y)


def make_data(task, seed, n_train, n_val, n_test, noise=0.0, learnable=True, validation_split=0.0):
    """Return ``(train, val, test)`` as ``(x, y)`` pairs; ``val`` may be None.

    The validation split takes the *last* share of the training arrays, as Keras's
    ``validation_split`` does.
    """
    rng = np.random.RandomState(seed)
    params = _teacher_params(task, rng)
    splits = []
    for n in (n_train, n_val, n_test):
        if n <= 0:
            splits.append(None)
            continue
        x, y = _generate(task, n, rng, params, learnable)
        splits.append((x, _postprocess(task, y, rng, noise, learnable)))
    train, val, test = splits
    if validation_split:
        n_fit = int(np.ceil(n_train * (1.0 - validation_split)))
        x, y = train

        def cut(a, s):
            return {k: v[s] for k, v in a.items()} if isinstance(a, dict) else a[s]

        train = (x[:n_fit], cut(y, slice(None, n_fit)))
        val = (x[n_fit:], cut(y, slice(n_fit, None)))
    return train, val, test


def epoch_order(seed, n, epoch):
    """The shuffle order of one epoch: the same in the engine and in exported scripts."""
    return np.random.default_rng([seed, epoch]).permutation(n)
