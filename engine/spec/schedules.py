"""Learning-rate schedules. Steps count optimizer *updates* (after accumulation).

The initial / peak rate is always the config's top-level ``learning_rate``, so a
comparison of learning rates keeps its schedule shape. Parameters that default to
``null`` are worked out from the run's total number of updates.
"""

from engine.spec.params import Entry, Param
from engine.spec.registry import Registry

_AUTO = "null = worked out from the run's total updates."

SCHEDULES = Registry(
    "schedule",
    [
        Entry(
            "constant",
            "Constant",
            "engine.keras_parts.schedules:Constant",
            help="The same learning rate at every update.",
        ),
        Entry(
            "exponential_decay",
            "Exponential decay",
            "keras.optimizers.schedules.ExponentialDecay",
            {
                "decay_steps": Param(
                    "int",
                    1000,
                    lo=1,
                    hi=10_000_000,
                    label="Decay length in updates",
                    help="Updates over which the rate is multiplied by decay_rate.",
                ),
                "decay_rate": Param(
                    "float",
                    0.9,
                    lo=0,
                    lo_open=True,
                    hi=1.0,
                    label="Decay factor",
                    help="Multiplier per decay_steps. Typical 0.5-0.99.",
                ),
                "staircase": Param(
                    "bool",
                    False,
                    label="Staircase",
                    help="Drop in steps every decay_steps instead of smoothly.",
                ),
            },
            help="lr × decay_rate^(step / decay_steps).",
        ),
        Entry(
            "cosine_decay",
            "Cosine decay",
            "keras.optimizers.schedules.CosineDecay",
            {
                "decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Decay length in updates",
                    help="Updates of the cosine after warmup. " + _AUTO,
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Final fraction of the peak",
                    help="Final rate as a fraction of the peak (1e-5 in the docs).",
                ),
                "warmup_steps": Param(
                    "int",
                    0,
                    lo=0,
                    hi=10_000_000,
                    label="Warmup updates",
                    help="Linear warmup from 0 to the peak first.",
                ),
            },
            help="Smooth annealing from the peak to alpha × peak, optionally after a warmup.",
        ),
        Entry(
            "warmup_cosine",
            "Linear warmup + cosine (the documents')",
            "engine.keras_parts.schedules:WarmupCosineDecay",
            {
                "warmup_steps": Param(
                    "int",
                    None,
                    lo=0,
                    hi=10_000_000,
                    nullable=True,
                    label="Warmup updates",
                    help="Linear warmup updates. null = 10% of the total.",
                ),
                "total_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Total updates",
                    help="Warmup + decay updates. " + _AUTO,
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Floor as a fraction of the peak",
                    help="Floor as a fraction of the peak.",
                ),
            },
            help="The documents' WarmupCosineDecay: 0 → peak linearly, then cosine to the floor "
            "(held there after total_steps rather than rising again).",
        ),
        Entry(
            "piecewise_constant",
            "Piecewise constant",
            "keras.optimizers.schedules.PiecewiseConstantDecay",
            {
                "boundaries": Param(
                    "ints",
                    [1000, 3000, 5000],
                    lo=1,
                    hi=10_000_000,
                    label="Boundaries in updates",
                    help="Update numbers where the rate changes (increasing).",
                ),
                "factors": Param(
                    "floats",
                    [1.0, 0.5, 0.1, 0.05],
                    lo=0,
                    lo_open=True,
                    hi=1e3,
                    label="Rate multipliers",
                    help="Rate in each segment as a multiple of learning_rate; "
                    "one more than boundaries.",
                ),
            },
            help="Hand-set rates between update boundaries.",
        ),
        Entry(
            "polynomial_decay",
            "Polynomial decay",
            "keras.optimizers.schedules.PolynomialDecay",
            {
                "decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="Decay length in updates",
                    help="Updates to reach the end rate. " + _AUTO,
                ),
                "end_learning_rate": Param(
                    "float",
                    1e-4,
                    lo=0,
                    hi=10,
                    log=True,
                    label="End learning rate",
                    help="Rate reached at decay_steps.",
                ),
                "power": Param(
                    "float", 1.0, lo=0, lo_open=True, hi=10, label="Power", help="1 = linear decay."
                ),
                "cycle": Param(
                    "bool", False, label="Cycle", help="Restart the decay after decay_steps."
                ),
            },
            help="Polynomial ramp from learning_rate to end_learning_rate.",
        ),
        Entry(
            "inverse_time_decay",
            "Inverse time decay",
            "keras.optimizers.schedules.InverseTimeDecay",
            {
                "decay_steps": Param(
                    "int",
                    1000,
                    lo=1,
                    hi=10_000_000,
                    label="Decay length in updates",
                    help="Updates per unit of decay.",
                ),
                "decay_rate": Param(
                    "float",
                    0.5,
                    lo=0,
                    lo_open=True,
                    hi=100,
                    label="Decay rate",
                    help="lr / (1 + decay_rate × step / decay_steps).",
                ),
                "staircase": Param(
                    "bool", False, label="Staircase", help="Decay in discrete steps."
                ),
            },
            help="lr / (1 + decay_rate × step / decay_steps).",
        ),
        Entry(
            "cosine_decay_restarts",
            "Cosine decay with restarts",
            "keras.optimizers.schedules.CosineDecayRestarts",
            {
                "first_decay_steps": Param(
                    "int",
                    None,
                    lo=1,
                    hi=10_000_000,
                    nullable=True,
                    label="First cycle in updates",
                    help="Length of the first cycle. null = a quarter of the total updates.",
                ),
                "t_mul": Param(
                    "float",
                    2.0,
                    lo=0,
                    lo_open=True,
                    hi=100,
                    label="Cycle length multiplier",
                    help="Each cycle is t_mul times longer.",
                ),
                "m_mul": Param(
                    "float",
                    1.0,
                    lo=0,
                    lo_open=True,
                    hi=1,
                    label="Peak multiplier per restart",
                    help="Each restart peaks at m_mul times the previous peak.",
                ),
                "alpha": Param(
                    "float",
                    0.0,
                    lo=0,
                    hi=1,
                    label="Floor as a fraction of the peak",
                    help="Floor as a fraction of the peak.",
                ),
            },
            help="SGDR: cosine cycles that restart at a (possibly lower) peak.",
        ),
    ],
    aliases={
        "cosine": "cosine_decay",
        "exponential": "exponential_decay",
        "piecewise": "piecewise_constant",
        "warmup_cosine_decay": "warmup_cosine",
    },
)
