"""The task catalog: the synthetic models of the source documents.

Each task keeps the document's data, model and training defaults. ``learnable``
says whether targets are a function of the inputs; where a document trains on pure
random targets that is the default (a perfect overfitting demo) and
``learnable: true`` swaps in a fixed random teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.spec.params import Param


@dataclass(frozen=True)
class Head:
    name: str
    kind: str  # regression | binary | multiclass
    units: int
    activation: str | None  # None = linear / logits
    n_classes: int = 0


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    source: str
    description: str
    input_shape: tuple[int, ...]
    heads: tuple[Head, ...]
    layers: tuple[dict, ...]  # hidden layers as the document writes them
    data: dict[str, Any]  # n_train, n_val (own validation set or 0), n_test, noise, learnable
    defaults: dict[str, Any]  # config defaults (the document's)
    random_targets_by_default: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def multi_output(self) -> bool:
        return len(self.heads) > 1

    @property
    def has_own_validation(self) -> bool:
        return self.data.get("n_val", 0) > 0

    @property
    def kind(self) -> str:
        return self.heads[0].kind if not self.multi_output else "multi"


REG = Head("output", "regression", 1, None)
BIN = Head("output", "binary", 1, "sigmoid")

_BASE = {
    "data": {},
    "model": {},
    "schedule": None,
    "batch_size": 32,
    "grad_accum_steps": 1,
    "clipping": None,
    "precision": "float32",
    "callbacks": {},
    "validation_split": 0.2,
    "seed": 42,
    "jit_compile": False,
    "run_eagerly": False,
}


def _d(**kw):
    out = dict(_BASE)
    out.update(kw)
    return out


TASKS: dict[str, Task] = {}


def _add(t: Task) -> None:
    TASKS[t.id] = t


_add(
    Task(
        "regression",
        "Linear regression (the training pipeline)",
        "000 · The Training Pipeline",
        "X ~ N(0,1) with 10 features, y = X·w + 0.5, the same w for training and test data "
        "(the article's code drew a new w for its test set, so its test loss measured "
        "nothing). Dense 64 → 32 → 1.",
        (10,),
        (REG,),
        ({"type": "dense", "units": 64}, {"type": "dense", "units": 32}),
        {"n_train": 1000, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": True},
        _d(loss="mse", optimizer="adam", learning_rate=1e-3, metrics=["mae"], epochs=10),
    )
)
_add(
    Task(
        "regression-5",
        "Regression, 5 features (SGD / momentum / Nesterov)",
        "000 · Optimizers · SGD & Momentum",
        "X 500×5, y = X·[1, -2, 3, -1, 0.5] + 0.1. Dense 32 → 1. The article compares SGD, "
        "SGD with momentum 0.9 and Nesterov momentum at lr 0.01.",
        (5,),
        (REG,),
        ({"type": "dense", "units": 32},),
        {"n_train": 500, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": True},
        _d(loss="mse", optimizer="sgd", learning_rate=0.01, metrics=["mae"], epochs=20),
    )
)
_add(
    Task(
        "regression-10",
        "Regression, 10 features (RMSprop / Adagrad / clipping)",
        "000 · Optimizers · RMSProp & Adagrad; Gradient Clipping",
        "X 500×10, y = X·w. Dense 32 → 1 (64 in the clipping section: set model.width to 2).",
        (10,),
        (REG,),
        ({"type": "dense", "units": 32},),
        {"n_train": 500, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": True},
        _d(loss="mse", optimizer="rmsprop", learning_rate=1e-3, metrics=["mae"], epochs=20),
    )
)
_add(
    Task(
        "binary-20",
        "Binary classification, 20 features (Adam vs AdamW)",
        "000 · Optimizers · Adam & AdamW",
        "X 1000×20, y = [x1+…+x5 > 0]. Dense 64 → 32 → 1 sigmoid.",
        (20,),
        (BIN,),
        ({"type": "dense", "units": 64}, {"type": "dense", "units": 32}),
        {"n_train": 1000, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": True},
        _d(
            loss="binary_crossentropy",
            optimizer="adam",
            learning_rate=1e-3,
            metrics=["accuracy"],
            epochs=15,
        ),
    )
)
_add(
    Task(
        "binary-10",
        "Binary classification, 10 features (metrics)",
        "000 · Metrics",
        "X 1000×10, y = [x1+x2+x3 > 0]. Dense 32 → 1 sigmoid, watched with accuracy, AUC, "
        "precision, recall and a stateful F1.",
        (10,),
        (BIN,),
        ({"type": "dense", "units": 32},),
        {"n_train": 1000, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": True},
        _d(
            loss="binary_crossentropy",
            optimizer="adam",
            learning_rate=1e-3,
            metrics=["accuracy", "auc", "precision", "recall", "f1"],
            epochs=10,
        ),
    )
)
_add(
    Task(
        "multi-output",
        "Multi-output: price (regression) + category (3 classes)",
        "000 · compile() Deep Dive · Multi-Output Models",
        "X 500×10; price ~ N(0,1) and category ∈ {0,1,2} drawn at random as in the article "
        "(learnable: true makes both functions of X). Shared Dense 64 → price (1) and "
        "category (3, softmax); losses mse + sparse CCE weighted 1.0 / 0.5.",
        (10,),
        (
            Head("price", "regression", 1, None),
            Head("category", "multiclass", 3, "softmax", n_classes=3),
        ),
        ({"type": "dense", "units": 64},),
        {"n_train": 500, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": False},
        _d(
            loss={"price": "mse", "category": "sparse_categorical_crossentropy"},
            loss_weights={"price": 1.0, "category": 0.5},
            optimizer="adam",
            learning_rate=1e-3,
            metrics={"price": ["mae"], "category": ["accuracy"]},
            epochs=5,
        ),
        random_targets_by_default=True,
    )
)
_add(
    Task(
        "sequence",
        "Sequence classification with stacked LSTMs (clipping for RNNs)",
        "000 · Gradient Clipping · Clipping for RNNs",
        "X 200×50×10 (50 steps, 10 features), y ∈ {0,1} at random as in the article "
        "(learnable: true labels by the sign of a fixed projection of the sequence mean). "
        "LSTM 64 (sequences) → LSTM 32 → Dense 1 sigmoid, Adam with global_clipnorm 1.0.",
        (50, 10),
        (BIN,),
        ({"type": "lstm", "units": 64, "return_sequences": True}, {"type": "lstm", "units": 32}),
        {"n_train": 200, "n_val": 0, "n_test": 100, "noise": 0.0, "learnable": False},
        _d(
            loss="binary_crossentropy",
            optimizer="adam",
            learning_rate=1e-3,
            clipping={"global_clipnorm": 1.0},
            metrics=["accuracy"],
            epochs=10,
        ),
        random_targets_by_default=True,
    )
)
_add(
    Task(
        "mixed-precision",
        "Mixed-precision MLP (loss scaling, float32 output)",
        "000 · Mixed Precision Training · Loss Scaling",
        "X 1000×20, y ~ N(0,1) at random as in the article (learnable: true uses a fixed "
        "random teacher network). Dense 128 → 64 → 1 with the output layer kept in float32.",
        (20,),
        (REG,),
        ({"type": "dense", "units": 128}, {"type": "dense", "units": 64}),
        {"n_train": 1000, "n_val": 0, "n_test": 200, "noise": 0.0, "learnable": False},
        _d(
            loss="mse",
            optimizer="adam",
            learning_rate=1e-3,
            metrics=["mae"],
            epochs=10,
            batch_size=64,
            precision="mixed_float16",
        ),
        random_targets_by_default=True,
    )
)
_add(
    Task(
        "multiclass-10",
        "The complete pipeline: 10 classes, BN + dropout, AdamW + warmup-cosine",
        "000 · Complete Example · End-to-End Training Pipeline",
        "X 5000×50 train and 1000×50 validation, labels of 10 classes at random as in the "
        "article: a network that can only memorise (learnable: true uses a fixed random "
        "teacher). 256-BN-Dropout .3-128-BN-Dropout .2-64-10 logits; AdamW wd 1e-4 with linear "
        "warmup (10%) and cosine decay, global_clipnorm 1.0, sparse CCE from logits, accuracy "
        "and top-3, early stopping and reduce-LR-on-plateau.",
        (50,),
        (Head("output", "multiclass", 10, None, n_classes=10),),
        (
            {"type": "dense", "units": 256},
            {"type": "batchnorm"},
            {"type": "dropout", "rate": 0.3},
            {"type": "dense", "units": 128},
            {"type": "batchnorm"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 64},
        ),
        {"n_train": 5000, "n_val": 1000, "n_test": 1000, "noise": 0.0, "learnable": False},
        _d(
            loss={"name": "sparse_categorical_crossentropy", "from_logits": True},
            optimizer={"name": "adamw", "weight_decay": 1e-4},
            learning_rate=1e-3,
            schedule={
                "name": "warmup_cosine",
                "warmup_steps": None,
                "total_steps": None,
                "alpha": 0.0,
            },
            clipping={"global_clipnorm": 1.0},
            metrics=["accuracy", {"name": "top_k", "k": 3}],
            callbacks={
                "early_stopping": {
                    "monitor": "val_loss",
                    "patience": 5,
                    "restore_best_weights": True,
                },
                "reduce_lr_on_plateau": {
                    "monitor": "val_loss",
                    "factor": 0.5,
                    "patience": 3,
                    "min_lr": 1e-6,
                },
            },
            epochs=30,
            batch_size=64,
            precision="mixed_float16",
            validation_split=None,
        ),
        random_targets_by_default=True,
    )
)

# The documents compile these two with ``jit_compile=True``. On this 2-core CPU, XLA
# took 164 s to compile multiclass-10's epoch (2 s without) and ran it 8× slower, so
# the option is offered but off by default; the dashboard says why.
JIT_NOTE = (
    "The document sets jit_compile=True; on a CPU XLA compile took minutes here and "
    "ran slower, so it is off by default. Turn it on with a GPU."
)

# Caps that keep one run from exhausting the machine (24 GiB shared by workers).
MAX_N_TRAIN = 200_000
MAX_N_TEST = 50_000
MAX_INPUT_FLOATS = 50_000_000  # n × features (× timesteps): 200 MB of float32

DATA_PARAMS = {
    "n_train": Param(
        "int",
        None,
        lo=8,
        hi=MAX_N_TRAIN,
        label="Training examples",
        help="Training examples (before the validation split).",
    ),
    "n_val": Param(
        "int",
        None,
        lo=0,
        hi=MAX_N_TEST,
        label="Validation examples",
        help="Size of the task's own validation set (only where the document has one).",
    ),
    "n_test": Param(
        "int",
        None,
        lo=1,
        hi=MAX_N_TEST,
        label="Test examples",
        help="Held-out test examples, evaluated once after training.",
    ),
    "noise": Param(
        "float",
        None,
        lo=0,
        hi=100,
        label="Noise",
        help="Regression: std of Gaussian noise on "
        "the target. Classification: share of labels replaced at random (≤ 0.5).",
    ),
    "learnable": Param(
        "bool",
        None,
        label="Learnable targets",
        help="Targets are a function of the inputs. false = "
        "random targets, which can only be memorised (an overfitting demo).",
    ),
}

MODEL_PARAMS = {
    "width": Param(
        "float",
        1.0,
        lo=0,
        lo_open=True,
        hi=8.0,
        label="Width multiplier",
        help="Multiplies every hidden layer's units. >1 adds capacity.",
    ),
    "depth": Param(
        "int",
        None,
        lo=0,
        hi=8,
        nullable=True,
        label="Hidden layers",
        help="Number of hidden Dense/LSTM layers. null = the document's.",
    ),
    "dropout": Param(
        "float",
        None,
        lo=0,
        hi=0.9,
        nullable=True,
        label="Dropout",
        help="Dropout after every hidden layer. null = the document's.",
    ),
    "l2": Param(
        "float",
        0.0,
        lo=0,
        hi=1.0,
        log=True,
        label="L2 penalty",
        help="L2 penalty on kernels (added to the loss). Typical 1e-5 to 1e-3.",
    ),
}
