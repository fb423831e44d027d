"""The schedule explorer's pure side: configs, formulas and Keras code per schedule.

Each curve on the page is a full run config (a fixed task, the explorer's data size,
batch, accumulation and epochs, one schedule), validated by ``engine.config`` like
any run. So a bad parameter gets the same field-named error as on the setup page,
automatic lengths are worked out the same way, and the curve comes from the very
schedule object training builds (``engine.schedule_preview``), not a re-derivation.

The code shown is ``engine.export_script``'s (the schedule expression and HP Lab's
schedule classes, copied verbatim), so it cannot drift from the exported scripts.
No TensorFlow here: the page imports this at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from engine.config import SCALARS, shape_of, validate
from engine.errors import ConfigError
from engine.export_script import _definitions, _lit, schedule_classes, schedule_expression
from engine.spec.formula import Formula
from engine.spec.formula import tex_num as tex_num  # the page and its tests read it here
from engine.spec.params import Param
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS

# Any single-output task will do: only its data size and validation split matter to a
# schedule. Regression has no validation set of its own, so the split is the person's.
TASK = "regression"
MAX_UPDATES = 200_000  # a preview is a point per update; past this it stops being instant
MAX_SCHEDULES = 8

_N = DATA_PARAMS["n_train"]
# The documents' complete example: 5000 examples, batch 64, 30 epochs (~2,370 updates).
SHARED: dict[str, Param] = {
    "n_train": Param(_N.kind, 5000, lo=_N.lo, hi=_N.hi, help=_N.help),
    "validation_split": Param(
        "float", 0.0, lo=0, hi=0.9, help=SCALARS["validation_split"].help.split(" null")[0]
    ),
    "batch_size": replace(SCALARS["batch_size"], default=64),
    "grad_accum_steps": SCALARS["grad_accum_steps"],
    "epochs": replace(SCALARS["epochs"], default=30),
}
FIELDS = {"n_train": "data.n_train"}  # the config path of a shared knob, when it differs

# The order "Add a schedule" offers them in: the documents' warmup + cosine against their
# exponential decay first (a fresh page shows those two), then the most distinct shapes.
ORDER = (
    "warmup_cosine",
    "exponential_decay",
    "cosine_decay_restarts",
    "piecewise_constant",
    "cosine_decay",
    "polynomial_decay",
    "inverse_time_decay",
    "constant",
)
START = ORDER[:2]


@dataclass(frozen=True)
class Shape:
    """What the shared knobs make of the data, in the words the page uses."""

    n_fit: int
    batches: int
    per_epoch: float
    total: int

    def text(self, accum: int, epochs: int) -> str:
        per = (
            f"{self.per_epoch:g}"
            if self.per_epoch == int(self.per_epoch)
            else f"{self.per_epoch:.2f}"
        )
        acc = f" ÷ {accum} accumulated" if accum > 1 else ""
        return (
            f"{self.n_fit:,} training examples → {self.batches:,} batches per epoch{acc} → "
            f"**{per} updates per epoch** → **{self.total:,} updates** in {epochs} epochs"
        )


def raw_config(shared: dict[str, Any], learning_rate: Any, schedule: dict | None) -> dict:
    """The run config one curve stands for (raw: ``validate`` decides if it is good)."""
    return {
        "task": TASK,
        "data": {"n_train": shared["n_train"]},
        "validation_split": shared["validation_split"],
        "batch_size": shared["batch_size"],
        "grad_accum_steps": shared["grad_accum_steps"],
        "epochs": shared["epochs"],
        "learning_rate": learning_rate,
        "schedule": schedule,
    }


def check(raw: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """``(canonical config, [])`` or ``(None, field-named problems)``; never raises."""
    try:
        cfg = validate(raw)
    except ConfigError as e:
        return None, list(e.problems)
    total = shape_of(cfg).total_updates
    if total > MAX_UPDATES:
        return None, [
            (
                "epochs",
                f"{total:,} updates: the explorer draws at most {MAX_UPDATES:,} "
                "(fewer epochs or examples, or a larger batch)",
            )
        ]
    return cfg, []


def check_shared(shared: dict[str, Any]) -> tuple[Shape | None, list[tuple[str, str]]]:
    """The data/batch knobs alone, checked with a constant rate (no schedule yet)."""
    cfg, problems = check(raw_config(shared, SCALARS["learning_rate"].default, None))
    if cfg is None:
        return None, problems
    s = shape_of(cfg)
    return Shape(s.n_train, s.steps_per_epoch, s.updates_per_epoch, s.total_updates), []


def is_shared(field: str) -> bool:
    return not field.startswith(("schedule", "learning_rate"))


def next_schedule(shown: list[str]) -> str:
    """The first schedule of ``ORDER`` (then the registry) not on the page yet."""
    names = list(dict.fromkeys([*ORDER, *SCHEDULES.names()]))
    return next((n for n in names if n not in shown), names[0])


# ---- formulas ---------------------------------------------------------------------------


def formula(spec: dict, learning_rate: float) -> Formula:
    """The formula of a *validated* schedule, as Keras computes it (the entry's own)."""
    entry = SCHEDULES.entry(spec["name"])
    if entry.formula is None:
        return Formula(r"\eta_t = \text{" + entry.name.replace("_", " ") + "}", [])
    return entry.formula(spec, learning_rate)


# ---- Keras code -------------------------------------------------------------------------


def keras_code(cfg: dict) -> str:
    """Standalone Keras code building this config's schedule, as the engine builds it.

    With gradient accumulation Keras evaluates a schedule at its micro-batch counter,
    so the code wraps the schedule in HP Lab's ``UpdateSchedule`` (as training does)
    to keep "step" meaning "optimizer update".
    """
    k = cfg["grad_accum_steps"]
    classes = schedule_classes(cfg) + (["UpdateSchedule"] if k > 1 else [])
    parts = ["import keras"]
    if classes:
        defs = _definitions(
            "keras_parts/schedules.py",
            classes,
            "HP Lab's own schedule classes: plain Keras, copied from the engine.",
        )
        parts = [
            ("import math\n\n" if "math." in defs else "") + "import keras\nfrom keras import ops",
            defs,
        ]
    lines = [f"LEARNING_RATE = {_lit(cfg['learning_rate'])}"]
    expr = schedule_expression(cfg)
    opt = "keras.optimizers.Adam(learning_rate=schedule)  # any Keras optimizer takes it"
    if k > 1:
        lines += [
            f"base_schedule = {expr}",
            f"# One update per {k} batches: Keras counts batches, the schedule counts updates.",
            f"schedule = UpdateSchedule(base_schedule, accum_steps={_lit(k)})",
        ]
        opt = (
            f"keras.optimizers.Adam(learning_rate=schedule, gradient_accumulation_steps={_lit(k)})"
        )
    else:
        lines.append(f"schedule = {expr}")
    lines.append(f"optimizer = {opt}")
    return "\n\n\n".join([*parts, "\n".join(lines)]) + "\n"


def lr_range(lrs: list[float]) -> str:
    """First, peak and last rate of a preview, for the card's one-line summary."""
    finite = [v for v in lrs if math.isfinite(v)]
    if not finite:
        return "no finite rate"
    return f"starts {lrs[0]:.3g} · peaks {max(finite):.3g} · ends {lrs[-1]:.3g}"
