"""From one form config to the list of runs a launch creates, and advice on traps.

"Compare one knob" turns a base config and a list of values into one run per
value with everything else (seed included) equal; seed repeats multiply each run
by n seeds. The expansion is the engine's (``engine.sweep.plan``, the CLI's sweeps use
it too): the knob is one axis of labelled choices, overrides go into the *raw*
config before ``validate`` so automatic values (schedule lengths) follow each
run's own batch size and epochs.

``advice`` names the known traps a config walks into (mixed_float16 on a CPU, a
learning rate far outside the optimizer's usual range, XLA on a CPU) with the
engine's own wording, so the warning and the engine never disagree.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import json_input, sweep
from engine.config import shape_of, validate
from engine.errors import ConfigError
from engine.spec.losses import LOSSES
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.precision import CPU_WARNING, PRECISIONS
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import JIT_NOTE, TASKS
from engine.sweep import Choice
from ui.setting_text import summary

MAX_RUNS = 48
LR_SLACK = 3.0  # warn when the rate is this many times outside the usual range


@dataclass(frozen=True)
class Knob:
    """One setting "compare one knob" can vary.

    Numeric knobs take typed values; choice knobs offer labelled config values
    built from the base config (so the current optimizer keeps its form settings).
    """

    id: str
    title: str
    path: str
    kind: str  # "float" | "int" | "choice"
    help: str
    suggest: Callable[[dict], list] = field(default=lambda _cfg: [])
    short: str = ""


def _get(cfg: dict, path: str) -> Any:
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _around(v: float, factors: Sequence[float]) -> list[float]:
    return [float(f"{v * f:.3g}") for f in factors]


def _pow2_around(v: int, lo: int = 1) -> list[int]:
    vals = sorted({max(lo, v // 2), v, v * 2, v * 4})
    return [x for x in vals if x >= lo]


KNOBS: dict[str, Knob] = {
    k.id: k
    for k in [
        Knob(
            "optimizer",
            "Optimizer",
            "optimizer",
            "choice",
            "The update rule. Each optimizer runs with its default settings, except the "
            "one chosen in the form, which keeps the form's settings.",
        ),
        Knob(
            "learning_rate",
            "Learning rate",
            "learning_rate",
            "float",
            "Step size (peak with a schedule). Try factors of 3-10 apart: 1e-4, 1e-3, 1e-2.",
            lambda cfg: _around(cfg.get("learning_rate") or 1e-3, (0.1, 1, 10)),
            "lr",
        ),
        Knob(
            "batch_size",
            "Batch size",
            "batch_size",
            "int",
            "Examples per step: smaller = more, noisier updates per epoch.",
            lambda cfg: _pow2_around(int(cfg.get("batch_size") or 32)),
            "batch",
        ),
        Knob(
            "schedule",
            "LR schedule",
            "schedule",
            "choice",
            "How the learning rate moves over the run. Automatic lengths follow each run.",
        ),
        Knob(
            "clipping",
            "Gradient clipping",
            "clipping",
            "choice",
            "Limit the gradient before the update; the source article's thresholds are used.",
        ),
        Knob(
            "precision",
            "Precision",
            "precision",
            "choice",
            "Numeric precision of the layers. mixed_float16 is slow on a CPU.",
        ),
        Knob(
            "loss",
            "Loss",
            "loss",
            "choice",
            "What training minimises; only losses that fit this task's targets are offered.",
        ),
        Knob(
            "grad_accum_steps",
            "Gradient accumulation",
            "grad_accum_steps",
            "int",
            "Batches averaged per update: effective batch = batch size × this.",
            lambda _cfg: [1, 2, 4, 8],
            "accum",
        ),
        Knob(
            "epochs",
            "Epochs",
            "epochs",
            "int",
            "Passes over the data; with a schedule, its length follows.",
            lambda cfg: sorted(
                {
                    max(1, (cfg.get("epochs") or 10) // 2),
                    cfg.get("epochs") or 10,
                    (cfg.get("epochs") or 10) * 2,
                }
            ),
            "epochs",
        ),
        Knob(
            "model.width",
            "Model width",
            "model.width",
            "float",
            "Multiplies every hidden layer's units: capacity.",
            lambda _cfg: [0.5, 1.0, 2.0, 4.0],
            "width",
        ),
        Knob(
            "model.dropout",
            "Dropout",
            "model.dropout",
            "float",
            "Dropout after every hidden layer: regularisation against overfitting.",
            lambda _cfg: [0.0, 0.2, 0.5],
            "dropout",
        ),
        Knob(
            "model.depth",
            "Hidden layers",
            "model.depth",
            "int",
            "Number of hidden Dense/LSTM layers.",
            lambda _cfg: [1, 2, 3],
            "depth",
        ),
        Knob(
            "model.l2",
            "L2 penalty",
            "model.l2",
            "float",
            "Weight penalty added to the loss. Typical 1e-5 to 1e-3.",
            lambda _cfg: [0.0, 1e-4, 1e-3],
            "l2",
        ),
        Knob(
            "data.n_train",
            "Training examples",
            "data.n_train",
            "int",
            "More data: less overfitting, longer epochs.",
            lambda _cfg: [250, 500, 1000],
            "n_train",
        ),
        Knob(
            "data.noise",
            "Label noise",
            "data.noise",
            "float",
            "Regression: target noise std. Classification: share of labels randomised.",
            lambda _cfg: [0.0, 0.1, 0.3],
            "noise",
        ),
        Knob(
            "validation_split",
            "Validation split",
            "validation_split",
            "float",
            "Share of training data held out for the validation curve.",
            lambda _cfg: [0.1, 0.2, 0.3],
            "val split",
        ),
    ]
}

DOC_CLIPPING = {"clipvalue": 0.5, "clipnorm": 1.0, "global_clipnorm": 1.0}


def choice_options(knob_id: str, base: dict) -> dict[str, Any]:
    """Label → config value for a choice knob, built around the base config."""
    task = TASKS[base["task"]]
    if knob_id == "optimizer":
        current = base.get("optimizer")
        cur_name = current if isinstance(current, str) else (current or {}).get("name")
        out: dict[str, Any] = {}
        for e in OPTIMIZERS:
            out[e.name] = copy.deepcopy(current) if e.name == cur_name else {"name": e.name}
        out["sgd · momentum 0.9"] = {"name": "sgd", "momentum": 0.9}
        out["sgd · Nesterov 0.9"] = {"name": "sgd", "momentum": 0.9, "nesterov": True}
        return out
    if knob_id == "schedule":
        current = base.get("schedule")
        cur_name = (current or {}).get("name") if isinstance(current, dict) else current
        out = {"constant (no schedule)": None}
        for e in SCHEDULES:
            if e.name == "constant":
                continue
            out[e.name] = copy.deepcopy(current) if e.name == cur_name else {"name": e.name}
        return out
    if knob_id == "clipping":
        current = base.get("clipping") or {}
        out = {"no clipping": None}
        for mode, v in DOC_CLIPPING.items():
            v = current.get(mode, v)
            out[f"{mode} {v:g}"] = {mode: v}
        return out
    if knob_id == "precision":
        return {p: p for p in PRECISIONS}
    if knob_id == "loss":
        if task.multi_output:
            return {}
        head = task.heads[0]
        current = base.get("loss")
        cur_name = current if isinstance(current, str) else (current or {}).get("name")
        out = {}
        for e in LOSSES:
            if head.kind not in e.tags:
                continue
            if e.name == cur_name:
                out[e.name] = copy.deepcopy(current)
            elif "from_logits" in e.params:
                out[e.name] = {"name": e.name, "from_logits": head.activation is None}
            else:
                out[e.name] = {"name": e.name}
        return out
    raise KeyError(knob_id)


def default_choices(knob_id: str, base: dict) -> list[str]:
    """Two or three sensible labels to start from: the current value and its rivals."""
    opts = list(choice_options(knob_id, base))
    cur = _get(base, KNOBS[knob_id].path)
    cur_name = (
        cur if isinstance(cur, str) else (cur or {}).get("name") if isinstance(cur, dict) else None
    )
    first = next((label for label in opts if label == cur_name), None)
    rivals = {
        "optimizer": ["adam", "sgd", "sgd · momentum 0.9", "adamw", "rmsprop"],
        "schedule": ["constant (no schedule)", "cosine_decay", "exponential_decay"],
        "clipping": ["no clipping", "global_clipnorm 1", "clipvalue 0.5"],
        "precision": ["float32", "mixed_bfloat16"],
        "loss": ["mse", "huber", "mae", "binary_crossentropy", "focal"],
    }[knob_id]
    chosen = [first] if first else []
    for r in rivals:
        if r in opts and r not in chosen:
            chosen.append(r)
        if len(chosen) >= 2:
            break
    return chosen


def parse_value(text: Any, kind: str) -> float | int:
    """A typed knob value from a chip: ``"3e-4"`` → 0.0003. Raises ValueError with why."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a number")
    if isinstance(text, int | float):
        v = text
    else:
        s = str(text).strip().replace("_", "")
        try:
            v = float(s)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{text!r} is not a finite number")
    if kind == "int":
        if v != int(v):
            raise ValueError(f"{text!r} is not a whole number")
        return int(v)
    return float(v)


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class PlannedRun:
    name: str
    raw: dict
    label: str = ""  # the knob value this run stands for
    problems: list[tuple[str, str]] = field(default_factory=list)  # setting an override


def usual_lr(optimizer: Any) -> float | None:
    """The rate an optimizer is usually started at (its registry's ``usual_lr``)."""
    name = optimizer if isinstance(optimizer, str) else (optimizer or {}).get("name")
    if not isinstance(name, str) or name not in OPTIMIZERS:
        return None
    return OPTIMIZERS.entry(name).fixed.get("usual_lr")


def knob_axis(
    base: dict, knob_id: str, values: Sequence[Any], *, each_usual_lr: bool = False
) -> list[Choice]:
    """One knob's values as one axis of a sweep, each labelled as its run is named.

    ``each_usual_lr`` (optimizer knob only) runs each optimizer at its own usual rate
    instead of the form's: SGD at Adam's 1e-3 crawls, which says nothing about SGD.
    """
    knob = KNOBS[knob_id]
    if knob.kind != "choice":
        return [Choice(f"{knob.short or knob.id} {fmt_value(v)}", {knob.path: v}) for v in values]
    options = choice_options(knob_id, base)
    out = []
    for label in values:
        lr = usual_lr(options[label]) if each_usual_lr and knob_id == "optimizer" else None
        if lr is None:
            out.append(Choice(label, {knob.path: options[label]}))
        else:
            out.append(
                Choice(f"{label} · lr {lr:g}", {knob.path: options[label], "learning_rate": lr})
            )
    return out


def expand(
    base: dict,
    axis: Sequence[Choice] | None = None,
    *,
    repeats: int = 1,
    seed: int | None = None,
    name: str = "run",
) -> list[PlannedRun]:
    """The runs a launch creates, by the engine's sweep expansion (``engine.sweep.plan``):
    one per choice on ``axis`` (one run called ``name`` without an axis), each
    ``repeats`` times; with ``seed`` their seeds are seed, seed+1, … (the spread is seed
    noise), named ``… · seed N`` when there are several."""
    out = []
    for r in sweep.plan(base, [axis] if axis is not None else [], repeats=repeats, seed=seed):
        label = r.labels[0] if r.labels else ""
        shown = label or name
        if repeats > 1 and r.seed is not None:
            shown = f"{shown} · seed {r.seed}"
        out.append(PlannedRun(shown, r.raw, label, r.problems))
    return out


def expand_knob(
    base: dict,
    knob_id: str,
    values: Sequence[Any],
    *,
    each_usual_lr: bool = False,
    repeats: int = 1,
    seed: int | None = None,
) -> list[PlannedRun]:
    """One planned run per value of one knob (times ``repeats`` seeds); everything else
    equal."""
    axis = knob_axis(base, knob_id, values, each_usual_lr=each_usual_lr)
    return expand(base, axis, repeats=repeats, seed=seed)


def from_configs(
    names: Sequence[str],
    configs: Sequence[dict],
    *,
    repeats: int = 1,
    seed: int | None = None,
) -> list[PlannedRun]:
    """Runs given whole (a documented comparison, a demo): each config is one choice."""
    axis = [Choice(n, dict(c)) for n, c in zip(names, configs, strict=True)]
    return expand({}, axis, repeats=repeats, seed=seed)


def check_plan(runs: Sequence[PlannedRun]) -> tuple[list[dict | None], list[tuple[str, str]]]:
    """Each planned run's canonical config *in its place* (None where it is invalid), and
    every problem named by run and field: a bad value never shifts the others' labels."""
    configs: list[dict | None] = []
    problems: list[tuple[str, str]] = []
    for r in runs:
        if r.problems:
            configs.append(None)
            problems += [(f"{r.name} → {f}" if len(runs) > 1 else f, m) for f, m in r.problems]
            continue
        try:
            configs.append(validate(r.raw))
        except ConfigError as e:
            configs.append(None)
            problems += [(f"{r.name} → {f}" if len(runs) > 1 else f, m) for f, m in e.problems]
    if len(runs) > MAX_RUNS:
        problems.append(("runs", f"at most {MAX_RUNS} runs per launch, got {len(runs)}"))
    return configs, problems


def validate_plan(runs: Sequence[PlannedRun]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The valid runs' canonical configs and every problem (``check_plan`` without gaps)."""
    configs, problems = check_plan(runs)
    return [c for c in configs if c is not None], problems


# ----------------------------------------------------------------------------- names


def one_run_name(cfg: dict) -> str:
    """A single run named by what sets it apart from its task's defaults in its article:
    ``regression · sgd · lr 0.01 · batch_size 64 · cosine_decay``."""
    from engine.config import defaults_for

    task = cfg["task"]
    parts = [task, summary(cfg["optimizer"]), f"lr {cfg['learning_rate']:g}"]
    base = defaults_for(task)
    skip = {"task", "optimizer", "learning_rate", "data", "model", "metrics", "loss", "seed"}
    for k, v in cfg.items():
        if k in skip or v == base.get(k):
            continue
        if k == "schedule":
            parts.append(summary(v) if v else "constant")
        elif k == "callbacks":
            parts += sorted(set(v) - set(base.get(k) or {}))
        elif isinstance(v, bool):
            parts.append(k if v else f"no {k}")
        else:
            parts.append(f"{k} {summary(v)}")
    for section in ("data", "model"):
        for k, v in (cfg.get(section) or {}).items():
            if v != (base.get(section) or {}).get(k):
                parts.append(f"{k} {summary(v)}")
    name = " · ".join(parts[:6])
    return name if cfg.get("seed") == base.get("seed") else f"{name} · seed {cfg['seed']}"


def unique_names(names: Sequence[str], taken: Iterable[str]) -> list[str]:
    """``names`` with `` (2)``, `` (3)``… added where a run of that name already exists,
    so every run in the table can be told apart. A seed suffix stays last
    (``lr 0.01 (2) · seed 43``) so seed repeats still group by name."""
    taken_bases = {_split_seed(t)[0] for t in taken}
    bases = list(dict.fromkeys(_split_seed(n)[0] for n in names))
    rename: dict[str, str] = {}
    for b in bases:
        new, i = b, 1
        while new in taken_bases:
            i += 1
            new = f"{b} ({i})"
        rename[b] = new
        taken_bases.add(new)
    out = []
    for n in names:
        b, seed = _split_seed(n)
        out.append(rename[b] + seed)
    return out


def _split_seed(name: str) -> tuple[str, str]:
    head, sep, tail = name.rpartition(" · seed ")
    return (head, sep + tail) if sep and tail.isdigit() else (name, "")


# ----------------------------------------------------------------------------- advice


@dataclass(frozen=True)
class Advice:
    field: str
    level: str  # "warning" | "info"
    message: str


def lr_advice(cfg: dict) -> Advice | None:
    opt = cfg["optimizer"]["name"]
    entry = OPTIMIZERS.entry(opt)
    rng = entry.fixed.get("lr_range")
    if not rng:
        return None
    lo, hi = rng
    lr = cfg["learning_rate"]
    usual = f"{entry.title}'s usual range ({lo:g} – {hi:g})"
    if lr > hi * LR_SLACK:
        return Advice(
            "learning_rate",
            "warning",
            f"Learning rate {lr:g} is {lr / hi:,.0f}× the top of {usual}: expect loss spikes "
            "or a NaN (divergence).",
        )
    if lr < lo / LR_SLACK:
        return Advice(
            "learning_rate",
            "warning",
            f"Learning rate {lr:g} is {lo / lr:,.0f}× below the bottom of {usual}: the curves "
            "will crawl.",
        )
    return None


def advice(cfg: dict, *, gpu: bool = False) -> list[Advice]:
    """Known traps in a *validated* config, as field-named warnings and notes."""
    out: list[Advice] = []
    task = TASKS[cfg["task"]]
    if cfg["precision"] == "mixed_float16" and not gpu:
        out.append(Advice("precision", "warning", CPU_WARNING))
    lr = lr_advice(cfg)
    if lr:
        out.append(lr)
    if cfg["jit_compile"] and not gpu:
        out.append(Advice("jit_compile", "warning", JIT_NOTE))
    if cfg["run_eagerly"]:
        out.append(
            Advice("run_eagerly", "info", "run_eagerly is for debugging: many times slower.")
        )
    opt = cfg["optimizer"]
    if opt["name"] == "sgd" and opt.get("nesterov") and not opt.get("momentum"):
        out.append(
            Advice(
                "optimizer.nesterov",
                "warning",
                "Nesterov needs momentum > 0 to change anything: set momentum (0.9 is typical).",
            )
        )
    if task.random_targets_by_default and not cfg["data"]["learnable"]:
        out.append(
            Advice(
                "data.learnable",
                "info",
                "Targets are random, as in the article: the model can only memorise them, so "
                "validation loss rises while training loss falls — a deliberate overfitting "
                "demo. Turn on learnable targets for a task that can be solved.",
            )
        )
    shape = shape_of(cfg)
    sched = cfg["schedule"]
    if sched:
        steps = sched.get("decay_steps")
        decays = sched["name"] in ("exponential_decay", "inverse_time_decay")
        if decays and steps and steps > 2 * shape.total_updates:
            out.append(
                Advice(
                    "schedule.decay_steps",
                    "info",
                    f"decay_steps {steps} is much longer than the run's "
                    f"{shape.total_updates} updates: the rate will barely move.",
                )
            )
        if sched["name"] == "piecewise_constant":
            late = [b for b in sched["boundaries"] if b > shape.total_updates]
            if late:
                out.append(
                    Advice(
                        "schedule.boundaries",
                        "info",
                        f"Boundaries {late} come after the run's last update "
                        f"({shape.total_updates}): those segments never happen.",
                    )
                )
    if shape.steps_per_epoch < 4:
        out.append(
            Advice(
                "batch_size",
                "info",
                f"Only {shape.steps_per_epoch} batch(es) per epoch: per-update charts will be "
                "sparse; a smaller batch gives more updates.",
            )
        )
    return out


# ----------------------------------------------------------------------------- import

MAX_IMPORT_BYTES = json_input.MAX_BYTES
# The upload widget takes files up to this size so that a too-large one reaches the
# page, which names it and clears the widget; past it, Streamlit's own message shows.
UPLOAD_LIMIT_MB = 20


def parse_config_text(data: bytes | str) -> tuple[dict | None, list[tuple[str, str]]]:
    """A config from uploaded or pasted JSON: ``(raw config, [])`` or ``(None, problems)``.

    The text is only ever parsed as JSON, never executed, by the engine's reader that
    CLI config and sweep files go through (``engine.json_input``): a config object, a
    run (``{"config": {...}}``) or an HP Lab runs export (its first run's config). The
    result still has to pass ``validate``, which names any bad field.
    """
    try:
        return json_input.config_of(json_input.loads(data, "file")), []
    except ConfigError as e:
        return None, e.problems
