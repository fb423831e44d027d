"""The launch the Set up runs page describes, built from session state alone.

The page draws it (the launch bar, the review, the preview) and the Launch button's
callback builds it again from the same state at click time, so what is queued is
exactly what the widgets hold when the person clicks: never a plan left over from
the rerun before, and never a value a widget clamped or rounded on its way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError
from engine.run_cost import estimate, fmt_seconds
from engine.spec.params import Param
from engine.spec.tasks import TASKS
from ui import form, plan
from ui.presets import PRESETS, Preset

MODES = ("One run", "Compare one knob", "Replay a documented comparison", "Search")
REPEATS = Param(
    "int",
    1,
    lo=1,
    hi=10,
    label="Seed repeats",
    help="Run each configuration with n seeds (seed, seed+1, …). The comparison then "
    "draws their mean with a ±1 std band: a difference smaller than the band is noise.",
)
REPEATS_FIELD = "Seed repeats"


def values_key(knob_id: str) -> str:
    return f"setup_values_{knob_id.replace('.', '_')}"


@dataclass
class Launch:
    """Everything one click on Launch would queue, and every reason it may not."""

    mode: str
    raw: dict
    base_cfg: dict | None
    base_problems: list[tuple[str, str]]
    advice: list[plan.Advice]
    runs: list[plan.PlannedRun] = field(default_factory=list)
    configs: list[dict | None] = field(default_factory=list)  # aligned with ``runs``
    problems: list[tuple[str, str]] = field(default_factory=list)  # beyond the base config's
    hint: str = ""  # why there is nothing to launch yet (not an error)
    tags: list[str] = field(default_factory=list)
    knob_id: str | None = None
    preset: Preset | None = None
    repeats: int = 1

    @property
    def uses_form(self) -> bool:
        """A documented comparison brings its own configs; the other modes use the form's."""
        return self.mode != MODES[2]

    @property
    def all_problems(self) -> list[tuple[str, str]]:
        base = self.base_problems if self.uses_form else []
        seen = set(base)
        return base + [p for p in self.problems if p not in seen]

    @property
    def valid(self) -> list[tuple[plan.PlannedRun, dict]]:
        return [(r, c) for r, c in zip(self.runs, self.configs, strict=True) if c is not None]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.all_problems and not self.hint

    def review_advice(self, *, gpu: bool) -> list[plan.Advice]:
        """The base config's warnings, then each run's own ones named by run (a learning
        rate of 5 in a learning-rate comparison), each message once."""
        out = list(self.advice) if self.uses_form else []
        seen = {a.message for a in out}
        if self.mode != MODES[0]:
            for r, cfg in self.valid:
                for a in plan.advice(cfg, gpu=gpu):
                    if a.message not in seen:
                        seen.add(a.message)
                        out.append(plan.Advice(f"{r.name} → {a.field}", a.level, a.message))
        return sorted(out, key=lambda a: a.level != "warning")


def _repeats(state: Mapping, problems: list) -> int:
    try:
        return REPEATS.check(state.get("setup_repeats", 1), REPEATS_FIELD)
    except ConfigError as e:
        problems += e.problems
        return 1


def knob_ids(task_id: str) -> list[str]:
    multi = TASKS[task_id].multi_output
    return [k for k in plan.KNOBS if not (k == "loss" and multi)]


def knob_values(state: Mapping, raw: dict, knob_id: str) -> list[Any]:
    """The values chosen for a knob as they stand in state (choices no longer offered
    for this task dropped)."""
    knob = plan.KNOBS[knob_id]
    chosen = state.get(values_key(knob_id))
    if chosen is None:
        if knob.kind == "choice":
            return plan.default_choices(knob_id, raw)
        return [plan.fmt_value(v) for v in knob.suggest(raw)][:3]
    if knob.kind == "choice":
        options = plan.choice_options(knob_id, raw)
        return [v for v in chosen if v in options]
    return list(chosen)


def _knob_runs(state: Mapping, launch: Launch, repeats: int, seed: int | None) -> None:
    raw = launch.raw
    knob_id = state.get("setup_knob") or "optimizer"
    if knob_id not in knob_ids(raw["task"]):
        knob_id = "optimizer"
    launch.knob_id = knob_id
    knob = plan.KNOBS[knob_id]
    launch.tags = [f"knob:{knob_id}"]
    parsed: list[Any] = []
    for v in knob_values(state, raw, knob_id):
        if knob.kind == "choice":
            parsed.append(v)
            continue
        try:
            parsed.append(plan.parse_value(v, knob.kind))
        except ValueError as e:
            launch.problems.append((f"values · {knob.title}", str(e)))
    parsed = list(dict.fromkeys(parsed))
    if len(parsed) < 2:
        launch.hint = "Give at least two values to compare."
    each_usual = knob_id == "optimizer" and bool(state.get("setup_usual_lr", True))
    launch.runs = plan.expand_knob(
        raw,
        knob_id,
        parsed,
        each_usual_lr=each_usual,
        repeats=repeats,
        seed=seed,
    )


def build(state: Mapping, *, gpu: bool = False) -> Launch:
    """The launch the widgets in ``state`` describe (never raises for bad input)."""
    raw = form.config_from_state(state)
    base_cfg, base_problems = form.check(raw)
    mode = state.get("setup_mode") or MODES[0]
    if mode not in MODES:
        mode = MODES[0]
    launch = Launch(
        mode=mode,
        raw=raw,
        base_cfg=base_cfg,
        base_problems=base_problems,
        advice=plan.advice(base_cfg, gpu=gpu) if base_cfg else [],
    )
    launch.repeats = _repeats(state, launch.problems)
    # Every run takes the form's seed (seed, seed+1, … when repeated); without a valid
    # form there is no seed, and nothing is repeated.
    seed = base_cfg["seed"] if base_cfg else (42 if mode == MODES[2] else None)
    repeats = launch.repeats if seed is not None else 1
    if mode == MODES[1]:
        _knob_runs(state, launch, repeats, seed)
    elif mode == MODES[2]:
        preset_id = state.get("setup_preset")
        launch.preset = PRESETS.get(preset_id) or next(iter(PRESETS.values()))
        p = launch.preset
        launch.runs = plan.from_configs(p.names, p.configs, repeats=repeats, seed=seed)
        launch.tags = [f"preset:{p.id}"]
    else:
        name = plan.one_run_name(base_cfg) if base_cfg else "run"
        launch.runs = plan.expand(raw, repeats=repeats, seed=seed, name=name)
    launch.configs, run_problems = plan.check_plan(launch.runs)
    if launch.uses_form and base_problems:
        # Every run inherits the base config's problems: name each once, as the base's.
        run_problems = []
    launch.problems += run_problems
    return launch


def summary(launch: Launch) -> str:
    """One line a person reads before clicking: how many runs, how long, what differs."""
    valid = launch.valid
    if not valid:
        return "Nothing to launch yet."
    from engine.config import shape_of

    cfgs = [c for _, c in valid]
    shapes = [shape_of(c) for c in cfgs]
    n = len(launch.runs)
    epochs = sorted({c["epochs"] for c in cfgs})
    per = sorted({s.updates_per_epoch for s in shapes})
    parts = [f"{n} run{'s' if n != 1 else ''}", cfgs[0]["task"]]
    parts.append(f"{epochs[0]} epochs" if len(epochs) == 1 else f"{epochs[0]}–{epochs[-1]} epochs")
    parts.append(
        f"{per[0]:g} updates/epoch" if len(per) == 1 else f"{per[0]:g}–{per[-1]:g} updates/epoch"
    )
    if launch.repeats > 1:
        parts.append(f"{launch.repeats} seeds each")
    return " · ".join(parts)


def expected_seconds(launch: Launch, workers: int) -> tuple[list[float], float]:
    """Each valid run's expected wall time, and the whole launch's on ``workers``
    workers (runs start in order on whichever worker is free), so a launch that will
    take hours says so before anyone clicks."""
    each = [estimate(c).seconds for _, c in launch.valid]
    free = [0.0] * max(1, workers)
    for s in each:
        i = free.index(min(free))
        free[i] += s
    return each, max(free) if each else 0.0


def duration_line(launch: Launch, workers: int) -> str:
    """``about 40 s per run, 2 min in all on 2 workers``: what the bar says."""
    each, total = expected_seconds(launch, workers)
    if not each:
        return ""
    lo, hi = min(each), max(each)
    per = (
        fmt_seconds(lo)
        if fmt_seconds(lo) == fmt_seconds(hi)
        else f"{fmt_seconds(lo)}–{fmt_seconds(hi)}"
    )
    if len(each) == 1:
        return f"expected about {per}"
    on = f"on {workers} worker{'s' if workers != 1 else ''}" if workers else "once a worker runs"
    return f"expected about {per} per run, {fmt_seconds(total)} in all {on}"
