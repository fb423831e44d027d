"""Callbacks the documents use, each an optional object under ``callbacks``.

A registry like the others: each entry's ``target`` is the Keras (or HP Lab) class
that training and the exported script build with the entry's params.
"""

from engine.spec.metrics import monitor_mode
from engine.spec.params import Entry, Param
from engine.spec.registry import Registry

MONITOR = Param(
    "str",
    "val_loss",
    label="Watched value",
    help="Which logged value to watch: 'val_loss' (recommended) or any "
    "train/validation metric name.",
)
MODE = Param(
    "str",
    "auto",
    choices=("auto", "min", "max"),
    label="Direction",
    help="Whether lower or higher is better; auto guesses from the name.",
)

CALLBACKS = Registry(
    "callback",
    [
        Entry(
            "early_stopping",
            "Early stopping",
            "keras.callbacks.EarlyStopping",
            {
                "monitor": MONITOR,
                "patience": Param(
                    "int",
                    5,
                    lo=0,
                    hi=1000,
                    label="Patience in epochs",
                    help="Non-improving epochs tolerated: 2-3 for smooth curves, "
                    "5-10 for noisy validation.",
                ),
                "min_delta": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1e6,
                    label="Smallest improvement",
                    help="Smallest change that counts as improvement.",
                ),
                "restore_best_weights": Param(
                    "bool",
                    True,
                    label="Restore the best weights",
                    help="End with the best epoch's weights.",
                ),
                "mode": MODE,
            },
            help="Stop when the monitored value stops improving for `patience` epochs.",
        ),
        Entry(
            "reduce_lr_on_plateau",
            "Reduce LR on plateau",
            "engine.training.callbacks:ReduceLROnPlateau",
            {
                "monitor": MONITOR,
                "factor": Param(
                    "float",
                    0.5,
                    lo=0,
                    hi=1,
                    lo_open=True,
                    hi_open=True,
                    label="Cut factor",
                    help="Multiplier at each plateau: 0.1-0.5.",
                ),
                "patience": Param(
                    "int",
                    3,
                    lo=0,
                    hi=1000,
                    label="Patience in epochs",
                    help="Non-improving epochs before a cut: 1-3.",
                ),
                "min_lr": Param(
                    "float",
                    1e-6,
                    lo=0,
                    hi=10,
                    log=True,
                    label="Lowest learning rate",
                    help="Never cut the rate below this.",
                ),
                "min_delta": Param(
                    "float",
                    1e-4,
                    lo=0,
                    hi=1e6,
                    label="Smallest improvement",
                    help="Smallest change that counts as improvement.",
                ),
                "cooldown": Param(
                    "int",
                    0,
                    lo=0,
                    hi=1000,
                    label="Cooldown in epochs",
                    help="Epochs to wait after a cut.",
                ),
                "mode": MODE,
            },
            help="Multiply the learning rate by `factor` when progress stalls. Composes with "
            "any schedule: the factor multiplies the scheduled rate.",
        ),
        Entry(
            "checkpoint",
            "Best-weights checkpoint",
            "keras.callbacks.ModelCheckpoint",
            {
                "monitor": MONITOR,
                "save_best_only": Param(
                    "bool",
                    True,
                    label="Save only improvements",
                    help="Only overwrite on improvement.",
                ),
                "mode": MODE,
            },
            help="Save the weights of the best epoch so far; restored after training.",
        ),
    ],
)


def plateau_args(callbacks: dict) -> dict:
    """The config's ``reduce_lr_on_plateau`` arguments with "auto" mode resolved."""
    params = dict(callbacks["reduce_lr_on_plateau"])
    params["mode"] = monitor_mode(params.get("mode", "auto"), params.get("monitor", "val_loss"))
    return params
