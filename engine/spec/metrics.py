"""Metrics: what is reported, never what is optimised."""

from engine.spec.params import Entry, KerasCall, Param
from engine.spec.registry import Registry

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
        Entry(
            "accuracy",
            "Accuracy",
            "keras.metrics.BinaryAccuracy",
            help="Share of correct predictions.",
            tags=("binary", "multiclass"),
        ),
        Entry(
            "auc",
            "AUC",
            "keras.metrics.AUC",
            help="Area under the ROC curve: ranking quality, threshold-free.",
            tags=("binary",),
        ),
        Entry(
            "precision",
            "Precision",
            "keras.metrics.Precision",
            {"thresholds": _THRESH},
            help="Of predicted positives, the share that are positive.",
            keras_args={"thresholds": "thresholds"},
            tags=("binary",),
        ),
        Entry(
            "recall",
            "Recall",
            "keras.metrics.Recall",
            {"thresholds": _THRESH},
            help="Of real positives, the share found.",
            tags=("binary",),
        ),
        Entry(
            "f1",
            "F1 (stateful)",
            "engine.keras_parts.metrics:F1Score",
            {"threshold": _THRESH},
            help="Harmonic mean of precision and recall, from counts kept across batches.",
            tags=("binary",),
        ),
        Entry(
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
        Entry(
            "mae",
            "MAE",
            "keras.metrics.MeanAbsoluteError",
            help="Mean absolute error.",
            tags=("regression",),
        ),
        Entry(
            "mse",
            "MSE",
            "keras.metrics.MeanSquaredError",
            help="Mean squared error.",
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
