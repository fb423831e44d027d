"""After training: the documents' evaluate → predict, as records."""

from __future__ import annotations

import numpy as np

from engine.spec.tasks import Task

SAMPLE = 100


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def confusion(y_true, y_pred, n_classes: int) -> list[list[int]]:
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y_true.astype(int), y_pred.astype(int)), 1)
    return m.tolist()


def head_predictions(head, from_logits: bool, y_true, raw) -> dict:
    """Sample of predictions vs targets and, for classifiers, the confusion matrix."""
    raw = np.asarray(raw, dtype=np.float64)
    y_true = np.asarray(y_true)
    if head.kind == "regression":
        return {
            "kind": "regression",
            "target": y_true.reshape(-1)[:SAMPLE].tolist(),
            "prediction": raw.reshape(-1)[:SAMPLE].tolist(),
        }
    if head.kind == "binary":
        p = raw.reshape(-1)
        p = _sigmoid(p) if from_logits else p
        labels = (p >= 0.5).astype(int)
        t = y_true.reshape(-1).astype(int)
        return {
            "kind": "binary",
            "target": t[:SAMPLE].tolist(),
            "prediction": p[:SAMPLE].tolist(),
            "predicted_class": labels[:SAMPLE].tolist(),
            "confusion": confusion(t, labels, 2),
            "labels": ["0", "1"],
        }
    probs = _softmax(raw) if from_logits else raw
    pred = probs.argmax(axis=-1)
    t = y_true.argmax(axis=-1) if y_true.ndim == 2 else y_true.reshape(-1).astype(int)
    return {
        "kind": "multiclass",
        "target": t[:SAMPLE].tolist(),
        "prediction": probs.max(axis=-1)[:SAMPLE].tolist(),
        "predicted_class": pred[:SAMPLE].tolist(),
        "confusion": confusion(t, pred, head.n_classes),
        "labels": [str(i) for i in range(head.n_classes)],
    }


def predictions(task: Task, cfg: dict, y_test, raw) -> dict:
    out = {}
    for head in task.heads:
        loss = cfg["loss"][head.name] if task.multi_output else cfg["loss"]
        yt = y_test[head.name] if task.multi_output else y_test
        r = raw[head.name] if isinstance(raw, dict) else raw
        out[head.name] = head_predictions(head, loss.get("from_logits", False), yt, r)
    return out
