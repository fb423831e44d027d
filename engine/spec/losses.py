"""Losses from the documents, keyed by Keras identifiers.

``targets`` says which target kinds a loss fits, so a loss that cannot work for
a task's labels is rejected before anything trains.
"""

from engine.spec.params import Entry, KerasCall, Param
from engine.spec.registry import Registry

FROM_LOGITS = Param(
    "bool",
    False,
    label="Output is raw scores",
    help="True when the output layer emits raw scores (no sigmoid/softmax). "
    "Must match the task's output layer; HP Lab checks this.",
)

LOSSES = Registry(
    "loss",
    [
        Entry(
            "mse",
            "Mean squared error",
            "keras.losses.MeanSquaredError",
            help="Squares each error: large errors dominate. Use for clean regression data.",
            tags=("regression",),
        ),
        Entry(
            "mae",
            "Mean absolute error",
            "keras.losses.MeanAbsoluteError",
            help="Absolute error: robust to outliers, constant gradient magnitude.",
            tags=("regression",),
        ),
        Entry(
            "huber",
            "Huber",
            "keras.losses.Huber",
            {
                "delta": Param(
                    "float",
                    1.0,
                    lo=0,
                    lo_open=True,
                    hi=1e6,
                    label="Huber threshold δ",
                    help="Errors below delta are squared, above it linear. Typical 0.5-2.",
                )
            },
            help="Quadratic for small errors, linear for large ones: MSE and MAE balanced.",
            tags=("regression",),
        ),
        Entry(
            "weighted_mse",
            "Weighted MSE (under-prediction ×2)",
            "engine.keras_parts.losses:WeightedMSE",
            {
                "under_weight": Param(
                    "float",
                    2.0,
                    lo=0,
                    lo_open=True,
                    hi=1e3,
                    label="Under-prediction weight",
                    help="Weight on errors where the model predicts too low.",
                )
            },
            help="The documents' custom loss: under-predictions cost more than over-predictions.",
            tags=("regression",),
        ),
        Entry(
            "binary_crossentropy",
            "Binary cross-entropy",
            "keras.losses.BinaryCrossentropy",
            {
                "from_logits": FROM_LOGITS,
                "label_smoothing": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=0.5,
                    label="Label smoothing",
                    help="Pulls hard 0/1 targets toward 0.5. Typical 0-0.1.",
                ),
            },
            help="For two classes with a sigmoid output.",
            tags=("binary",),
        ),
        Entry(
            "focal",
            "Focal loss",
            "engine.keras_parts.losses:FocalLoss",
            {
                "gamma": Param(
                    "float",
                    2.0,
                    lo=0,
                    hi=10,
                    label="Focusing γ",
                    help="Down-weights easy examples; 0 gives cross-entropy. Typical 2.",
                ),
                "alpha": Param(
                    "float",
                    0.25,
                    lo=0,
                    hi=1,
                    label="Positive-class weight α",
                    help="Weight of the positive class (1-alpha for negatives).",
                ),
                "from_logits": FROM_LOGITS,
            },
            help="Cross-entropy that focuses on hard, misclassified examples (imbalanced data).",
            tags=("binary", "multiclass"),
        ),
        Entry(
            "categorical_crossentropy",
            "Categorical cross-entropy (one-hot)",
            "keras.losses.CategoricalCrossentropy",
            {
                "from_logits": FROM_LOGITS,
                "label_smoothing": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=0.5,
                    label="Label smoothing",
                    help="Spreads some target mass over other classes.",
                ),
            },
            help="Multi-class with one-hot labels; HP Lab one-hot encodes the task's labels.",
            tags=("multiclass",),
        ),
        Entry(
            "sparse_categorical_crossentropy",
            "Sparse categorical cross-entropy",
            "keras.losses.SparseCategoricalCrossentropy",
            {"from_logits": FROM_LOGITS},
            help="Multi-class with integer labels: same as CCE without one-hot memory.",
            tags=("multiclass",),
        ),
    ],
    aliases={
        "mean_squared_error": "mse",
        "mean_absolute_error": "mae",
        "bce": "binary_crossentropy",
        "cce": "categorical_crossentropy",
        "scce": "sparse_categorical_crossentropy",
        "focal_loss": "focal",
    },
)


def fits(loss_name: str, target_kind: str) -> bool:
    return target_kind in LOSSES.entry(loss_name).tags


def loss_call(spec: dict) -> KerasCall:
    """How a checked loss becomes a Keras object (our param names mapped to the
    target's): ``keras_parts.build`` calls it, ``export_script`` writes it."""
    entry = LOSSES.entry(spec["name"])
    kwargs = {entry.keras_args.get(k, k): v for k, v in spec.items() if k != "name"}
    return KerasCall(entry.target, kwargs)
