"""Metrics: what is reported, never what is optimised.

Each entry declares its ``direction`` once ("up": higher is better, Keras's own word
for ``Metric._direction``); the run table's "best", the "auto" mode of early stopping
and of the plateau callback, and the comparison pages all read it through
``metric_direction``.
"""

import re
from dataclasses import dataclass

from engine.spec.params import Entry, KerasCall, Param
from engine.spec.registry import Registry


@dataclass(frozen=True)
class Metric(Entry):
    direction: str = "up"  # "up" or "down", as Keras's metric objects say it


_THRESH = Param(
    "float",
    0.5,
    lo=0,
    hi=1,
    lo_open=True,
    hi_open=True,
    label="Decision threshold",
    help="Probability above which a prediction counts as positive.",
)

METRICS = Registry(
    "metric",
    [
        Metric(
            "accuracy",
            "Accuracy",
            "keras.metrics.BinaryAccuracy",
            help="Share of correct predictions.",
            tags=("binary", "multiclass"),
        ),
        Metric(
            "auc",
            "AUC",
            "keras.metrics.AUC",
            help="Area under the ROC curve: ranking quality, threshold-free.",
            tags=("binary",),
        ),
        Metric(
            "precision",
            "Precision",
            "keras.metrics.Precision",
            {"thresholds": _THRESH},
            help="Of predicted positives, the share that are positive.",
            keras_args={"thresholds": "thresholds"},
            tags=("binary",),
        ),
        Metric(
            "recall",
            "Recall",
            "keras.metrics.Recall",
            {"thresholds": _THRESH},
            help="Of real positives, the share found.",
            tags=("binary",),
        ),
        Metric(
            "f1",
            "F1 (stateful)",
            "engine.keras_parts.metrics:F1Score",
            {"threshold": _THRESH},
            help="Harmonic mean of precision and recall, from counts kept across batches.",
            tags=("binary",),
        ),
        Metric(
            "top_k",
            "Top-k accuracy",
            "keras.metrics.SparseTopKCategoricalAccuracy",
            {
                "k": Param(
                    "int",
                    3,
                    lo=1,
                    hi=100,
                    label="Top k",
                    help="Correct if the label is in the top k.",
                )
            },
            help="Share of examples whose label is among the k highest scores.",
            tags=("multiclass",),
        ),
        Metric(
            "mae",
            "MAE",
            "keras.metrics.MeanAbsoluteError",
            help="Mean absolute error.",
            direction="down",
            tags=("regression",),
        ),
        Metric(
            "mse",
            "MSE",
            "keras.metrics.MeanSquaredError",
            help="Mean squared error.",
            direction="down",
            tags=("regression",),
        ),
    ],
    aliases={
        "acc": "accuracy",
        "top_k_accuracy": "top_k",
        "f1_score": "f1",
        "mean_absolute_error": "mae",
        "mean_squared_error": "mse",
    },
)


def metric_name(entry_name: str, kwargs: dict) -> str:
    """The Keras name the metric reports under (``val_`` is added for validation)."""
    if entry_name == "top_k":
        return f"top{kwargs['k']}_accuracy"
    return entry_name


def _label_dependent(name: str, kind: str, onehot: bool) -> str | None:
    """'accuracy' and 'top_k' are different Keras classes for different labels."""
    m = "keras.metrics."
    if name == "accuracy":
        if kind == "binary":
            return m + "BinaryAccuracy"
        return m + ("CategoricalAccuracy" if onehot else "SparseCategoricalAccuracy")
    if name == "top_k":
        return m + ("TopKCategoricalAccuracy" if onehot else "SparseTopKCategoricalAccuracy")
    return None


def metric_call(spec: dict, kind: str, onehot: bool) -> KerasCall:
    """How a checked metric becomes a Keras object, for a head of ``kind`` whose labels
    are one-hot or not: ``keras_parts.build`` calls it, ``export_script`` writes it."""
    name = spec["name"]
    kwargs = {"name": metric_name(name, spec), **{k: v for k, v in spec.items() if k != "name"}}
    target = _label_dependent(name, kind, onehot) or METRICS.entry(name).target
    return KerasCall(target, kwargs)


# ``metric_name`` of top_k read backwards; a bare ``top3`` is accepted too.
_TOP_K = re.compile(r"top\d+(_accuracy)?")


def _entry_for(name: str) -> Metric | None:
    if name in METRICS:
        return METRICS.entry(name)
    return METRICS.entry("top_k") if _TOP_K.fullmatch(name) else None


def metric_direction(key: str) -> str | None:
    """ "up", "down" or None (not a metric we know) for a logged key: ``val_`` and a
    multi-output head's prefix (``price_mae``) are looked through, as are Keras's
    longer names that end in one of ours (``sparse_categorical_accuracy``) and its
    ``_1`` suffix for a repeated name. Any loss goes down."""
    tokens = key.lower().removeprefix("val_").split("_")
    if "loss" in tokens:
        return "down"
    if len(tokens) > 1 and tokens[-1].isdigit():
        tokens = tokens[:-1]
    for i in range(len(tokens)):
        entry = _entry_for("_".join(tokens[i:]))
        if entry is not None:
            return entry.direction
    return None


def monitor_mode(mode: str, monitor: str) -> str:
    """Keras's ``mode`` for a callback watching ``monitor``: "auto" read from the
    metric's declared direction, so HP Lab's plateau callback and an exported script
    (which carries no registry) get "min" or "max" written out."""
    if mode != "auto":
        return mode
    return "max" if higher_is_better(monitor) else "min"


def higher_is_better(key: str) -> bool:
    """Direction used to pick a series' best value; an unknown key ranks like a loss."""
    return metric_direction(key) == "up"
