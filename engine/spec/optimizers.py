"""Optimizers from the documents plus Nadam, Lion and Adafactor.

``fixed["lr_range"]`` is the usual learning-rate range for the optimizer: the
UI warns outside it, because a factor-100 slip is the commonest mistake.
``fixed["usual_lr"]`` is the rate to start from (the documents' and Keras's: SGD and
Adagrad 0.01, the Adam family 1e-3, Lion 3-10x below Adam): a comparison of
optimizers runs each at its own, or SGD would crawl at Adam's 1e-3.
"""

from engine.spec.clipping import clip_kwargs
from engine.spec.params import Entry, KerasCall, Param, Symbol
from engine.spec.registry import Registry

_UNIT = dict(lo=0.0, hi=1.0, hi_open=True)
_EPS = Param(
    "float",
    1e-7,
    lo=0,
    lo_open=True,
    hi=1.0,
    log=True,
    label="Stability constant",
    help="Added to denominators for numerical stability.",
)

# Shared by Adam, AdamW and Nadam: one definition, so their help and ranges agree.
_ADAM_MOMENTS = {
    "beta_1": Param(
        "float", 0.9, **_UNIT, label="Momentum decay", help="Decay of the gradient average."
    ),
    "beta_2": Param(
        "float",
        0.999,
        **_UNIT,
        label="Squared-gradient decay",
        help="Decay of the squared-gradient average.",
    ),
    "epsilon": _EPS,
}
_AMSGRAD = Param("bool", False, label="AMSGrad", help="Keep the max of past squared gradients.")

OPTIMIZERS = Registry(
    "optimizer",
    [
        Entry(
            "sgd",
            "SGD",
            "keras.optimizers.SGD",
            {
                "momentum": Param(
                    "float",
                    0.0,
                    **_UNIT,
                    label="Momentum",
                    help="Velocity kept from past steps; 0.9 is typical. "
                    "Speeds up progress along consistent directions.",
                ),
                "nesterov": Param(
                    "bool",
                    False,
                    label="Nesterov look-ahead",
                    help="Look ahead along the velocity before taking the "
                    "gradient; needs momentum > 0 to matter.",
                ),
            },
            help="Plain gradient descent: simple, sensitive to the learning rate.",
            fixed={"lr_range": (1e-4, 1.0), "usual_lr": 1e-2},
        ),
        Entry(
            "adam",
            "Adam",
            "keras.optimizers.Adam",
            {
                **_ADAM_MOMENTS,
                "amsgrad": _AMSGRAD,
            },
            help="Per-parameter adaptive steps; the usual default at 1e-3.",
            fixed={"lr_range": (1e-5, 1e-2), "usual_lr": 1e-3},
        ),
        Entry(
            "adamw",
            "AdamW",
            "keras.optimizers.AdamW",
            {
                "weight_decay": Param(
                    "float",
                    1e-4,
                    lo=0,
                    hi=1.0,
                    label="Weight decay",
                    help="Decoupled weight decay, applied outside the "
                    "adaptive step. Typical 1e-4 to 1e-2.",
                ),
                **_ADAM_MOMENTS,
                "amsgrad": _AMSGRAD,
            },
            help="Adam with decoupled weight decay: often generalises better.",
            fixed={"lr_range": (1e-5, 1e-2), "usual_lr": 1e-3},
        ),
        Entry(
            "rmsprop",
            "RMSprop",
            "keras.optimizers.RMSprop",
            {
                "rho": Param(
                    "float",
                    0.9,
                    **_UNIT,
                    label="Squared-gradient decay",
                    help="Decay of the squared-gradient average.",
                ),
                "momentum": Param(
                    "float", 0.0, **_UNIT, label="Momentum", help="Optional momentum."
                ),
                "epsilon": _EPS,
                "centered": Param(
                    "bool",
                    False,
                    label="Centred",
                    help="Normalise by the gradient variance.",
                ),
            },
            help="Normalises steps by a moving RMS of gradients; a good default for RNNs.",
            fixed={"lr_range": (1e-5, 1e-2), "usual_lr": 1e-3},
        ),
        Entry(
            "adagrad",
            "Adagrad",
            "keras.optimizers.Adagrad",
            {
                "initial_accumulator_value": Param(
                    "float",
                    0.1,
                    lo=0,
                    hi=10,
                    label="Starting accumulator",
                    help="Starting value of the accumulated squared gradients.",
                ),
                "epsilon": _EPS,
            },
            help="Per-parameter rates from all past gradients; the rate only ever shrinks.",
            fixed={"lr_range": (1e-4, 1.0), "usual_lr": 1e-2},
        ),
        Entry(
            "nadam",
            "Nadam",
            "keras.optimizers.Nadam",
            {
                **_ADAM_MOMENTS,
            },
            help="Adam with Nesterov momentum.",
            fixed={"lr_range": (1e-5, 1e-2), "usual_lr": 1e-3},
        ),
        Entry(
            "lion",
            "Lion",
            "keras.optimizers.Lion",
            {
                "beta_1": Param(
                    "float",
                    0.9,
                    **_UNIT,
                    label="Update interpolation",
                    help="Interpolation for the update sign.",
                ),
                "beta_2": Param(
                    "float", 0.99, **_UNIT, label="Momentum decay", help="Decay of the momentum."
                ),
            },
            help="Sign-based updates; use a learning rate 3-10× smaller than Adam's.",
            fixed={"lr_range": (1e-6, 1e-3), "usual_lr": 1e-4},
        ),
        Entry(
            "adafactor",
            "Adafactor",
            "keras.optimizers.Adafactor",
            {
                "beta_2_decay": Param(
                    "float",
                    -0.8,
                    lo=-1.0,
                    hi=0.0,
                    label="Second-moment decay exponent",
                    help="Decay-rate exponent of the second moment.",
                ),
                "epsilon_1": Param(
                    "float",
                    1e-30,
                    lo=0,
                    lo_open=True,
                    hi=1.0,
                    log=True,
                    label="Squared-gradient regulariser",
                    help="Regulariser of the squared gradient.",
                ),
                "epsilon_2": Param(
                    "float",
                    1e-3,
                    lo=0,
                    lo_open=True,
                    hi=1.0,
                    log=True,
                    label="Parameter-scale regulariser",
                    help="Regulariser of the parameter scale.",
                ),
                "clip_threshold": Param(
                    "float",
                    1.0,
                    lo=0,
                    lo_open=True,
                    hi=1e3,
                    label="Update clip threshold",
                    help="Clip threshold of the normalised update.",
                ),
                "relative_step": Param(
                    "bool",
                    True,
                    label="Relative step",
                    help="Scale the step by 1/sqrt(step) when the learning rate is constant.",
                ),
            },
            help="Memory-light adaptive optimizer with factored second moments.",
            fixed={"lr_range": (1e-4, 1e-1), "usual_lr": 1e-3},
        ),
    ],
)

SCHEDULE = Symbol("schedule")  # the run's UpdateSchedule, built before the optimizer


def optimizer_call(cfg: dict) -> KerasCall:
    """How a checked config's optimizer becomes a Keras object: its params, the
    schedule as its learning rate, the clip mode's arguments and gradient accumulation.
    ``keras_parts.build`` calls it, ``export_script`` writes it."""
    spec = cfg["optimizer"]
    kwargs = {"learning_rate": SCHEDULE, **{k: v for k, v in spec.items() if k != "name"}}
    kwargs |= clip_kwargs(cfg["clipping"])
    if cfg["grad_accum_steps"] > 1:
        kwargs["gradient_accumulation_steps"] = cfg["grad_accum_steps"]
    return KerasCall(OPTIMIZERS.entry(spec["name"]).target, kwargs)
