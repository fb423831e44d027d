"""A study in the run store, and the Optuna study rebuilt from it.

A study is a sweep whose runs carry ``study_id`` (= the sweep id). What the runs
cannot hold lives in one row of the store's ``meta`` table, ``study:<id>``: the
checked plan (base, space, search) and, per trial, its number, its sampled values and
the system attributes Optuna's samplers and pruners keep on it (CMA-ES's state, a
grid's point, successive halving's rungs), plus the study's own. No migration: the
``meta`` table is a key-value table every store has.

Everything else is read from the runs: a ``completed`` run is a COMPLETE trial whose
value is its best ``metric`` (by the metric's direction), a ``pruned`` one PRUNED, a
queued or running one RUNNING, and a diverged, failed, cancelled or interrupted one
FAIL (never a value). Each epoch's ``metric`` is the trial's intermediate value at
that step. Writes (``top_up``, ``prune_check``) run in one ``BEGIN IMMEDIATE``
transaction, so two workers calling them at once are serialised.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from engine.search import pruners, samplers
from engine.search.space import StudyPlan
from engine.store.lifecycle import new_run_id
from engine.store.schema import decode
from engine.store.validation import check_name, dumps

log = logging.getLogger("engine.search")

META_PREFIX = "study:"
IN_FLIGHT = ("queued", "running")
FAIL_STATES = ("diverged", "failed", "cancelled", "interrupted")


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


@dataclass
class TrialRecord:
    """What the store keeps of one trial beyond its run."""

    number: int
    params: dict[str, Any]
    system_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyRecord:
    study_id: str
    plan: StudyPlan
    trials: dict[str, TrialRecord]  # run id -> trial
    study_attrs: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {
                "plan": self.plan.to_json(),
                "trials": {k: vars(t) for k, t in self.trials.items()},
                "study_attrs": self.study_attrs,
                "created": self.created,
            },
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, study_id: str, text: str) -> StudyRecord:
        d = json.loads(text)
        return cls(
            study_id,
            StudyPlan.from_json(d["plan"]),
            {k: TrialRecord(**t) for k, t in d["trials"].items()},
            d.get("study_attrs") or {},
            d.get("created") or 0.0,
        )


@dataclass(frozen=True)
class TrialRun:
    """One trial's run as the rebuild reads it."""

    run_id: str
    status: str
    intermediate: dict[int, float]


# ---------------------------------------------------------------- the meta row


def _load(conn: sqlite3.Connection, study_id: str) -> StudyRecord:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_PREFIX + study_id,)).fetchone()
    if row is None:
        raise KeyError(f"unknown study id {study_id!r}")
    return StudyRecord.from_json(study_id, row[0])


def _save(conn: sqlite3.Connection, rec: StudyRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (META_PREFIX + rec.study_id, rec.to_json()),
    )


def load(store, study_id: str) -> StudyRecord:
    with store._read() as conn:
        return _load(conn, study_id)


def study_ids(store) -> list[str]:
    with store._read() as conn:
        rows = conn.execute("SELECT key FROM meta WHERE key LIKE 'study:%'").fetchall()
    return [r[0].removeprefix(META_PREFIX) for r in rows]


def create(store, plan: StudyPlan, study_id: str) -> StudyRecord:
    """Store a new study (no trials yet)."""
    rec = StudyRecord(study_id, plan, {}, {}, time.time())
    with store._write() as conn:
        _save(conn, rec)
    return rec


# ---------------------------------------------------------------- the rebuild


def _runs(conn: sqlite3.Connection, study_id: str, metric: str) -> list[TrialRun]:
    rows = conn.execute(
        "SELECT id, status FROM runs WHERE study_id = ? ORDER BY created, seq", (study_id,)
    ).fetchall()
    values: dict[str, dict[int, float]] = {r[0]: {} for r in rows}
    for run_id, epoch, value, kind in conn.execute(
        "SELECT e.run_id, e.epoch, e.value, e.kind FROM epoch_values e"
        " JOIN runs r ON r.id = e.run_id WHERE r.study_id = ? AND e.key = ?",
        (study_id, metric),
    ):
        v = decode(value, kind)
        if v is not None:
            values[run_id][epoch] = v
    return [TrialRun(r[0], r[1], values[r[0]]) for r in rows]


def _frozen(rec: StudyRecord, trial: TrialRecord, run: TrialRun | None):
    """The Optuna trial of one stored trial."""
    optuna = _quiet_optuna()
    TS = optuna.trial.TrialState
    minimize = rec.plan.search.direction == "minimize"
    status = run.status if run is not None else "failed"
    finite = {k: v for k, v in (run.intermediate if run else {}).items() if math.isfinite(v)}
    value = None
    if status == "completed" and finite:
        state, value = TS.COMPLETE, (min if minimize else max)(finite.values())
    elif status == "pruned":
        state = TS.PRUNED
    elif status in IN_FLIGHT:
        state = TS.RUNNING
    else:  # diverged, failed, cancelled, interrupted, a completed run without its metric
        state = TS.FAIL
    return optuna.trial.create_trial(
        state=state,
        value=value,
        params=trial.params,
        distributions=rec.plan.distributions(trial.params),
        intermediate_values=finite,
        system_attrs=dict(trial.system_attrs),
    )


def rebuild_from(conn: sqlite3.Connection, rec: StudyRecord, *, sampler=None):
    """The in-memory Optuna study of ``rec``, its trials in number order; returns
    ``(study, {run_id: trial number})``."""
    optuna = _quiet_optuna()
    plan = rec.plan
    study = optuna.create_study(
        study_name=rec.study_id,
        direction=plan.search.direction,
        sampler=sampler or optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    for k, v in rec.study_attrs.items():
        study._storage.set_study_system_attr(study._study_id, k, v)
    runs = {r.run_id: r for r in _runs(conn, rec.study_id, plan.search.metric)}
    order = sorted(rec.trials.items(), key=lambda kv: kv[1].number)
    for run_id, trial in order:
        study.add_trial(_frozen(rec, trial, runs.get(run_id)))
    return study, {run_id: t.number for run_id, t in order}


def rebuild(store, study_id: str):
    """The Optuna study of ``study_id`` as the store has it now (read only)."""
    with store._read() as conn:
        rec = _load(conn, study_id)
        study, _numbers = rebuild_from(conn, rec)
    return study


# ---------------------------------------------------------------- ask and queue


def _insert_run(conn, rec: StudyRecord, cfg: dict, name: str) -> str:
    run_id = new_run_id()
    conn.execute(
        "INSERT INTO runs (id, name, task, tags, config, created, sweep_id, study_id, status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
        (
            run_id,
            check_name(name),
            cfg["task"],
            json.dumps(list(rec.plan.tags)),
            dumps("config", cfg),
            time.time(),
            rec.study_id,
            rec.study_id,
        ),
    )
    return run_id


def stopped(statuses) -> bool:
    """A trial cancelled by a person stops the study: no more are asked."""
    return any(s == "cancelled" for s in statuses)


def budget_used(statuses) -> int:
    """Trials that count against ``trials``: an interrupted one is asked again."""
    return sum(1 for s in statuses if s != "interrupted")


def top_up(store, study_id: str, slots: int) -> list[str]:
    """Ask the sampler for as many trials as there are free slots (``slots`` minus the
    study's queued and running trials; never past ``trials`` in all), validate and
    queue them, in one write transaction. Returns the new run ids."""
    new: list[str] = []
    with store._write() as conn:
        rec = _load(conn, study_id)
        plan = rec.plan
        statuses = [r.status for r in _runs(conn, study_id, plan.search.metric)]
        if stopped(statuses):
            return []
        in_flight = sum(1 for s in statuses if s in IN_FLIGHT)
        n = min(slots - in_flight, plan.search.trials - budget_used(statuses))
        grid = plan.grid() if plan.search.sampler == "grid" else {}
        for _ in range(max(0, n)):
            number = len(rec.trials)
            sampler = samplers.make(plan.search.sampler, plan.search.seed, number, grid)
            study, _numbers = rebuild_from(conn, rec, sampler=sampler)
            trial = study.ask()
            values = plan.sample(trial)
            cfg = plan.config(values)  # validated before it is queued
            run_id = _insert_run(conn, rec, cfg, plan.trial_name(number, values))
            frozen = study._storage.get_trial(trial._trial_id)
            rec.trials[run_id] = TrialRecord(number, values, dict(frozen.system_attrs))
            rec.study_attrs = dict(study._storage.get_study_system_attrs(study._study_id))
            new.append(run_id)
        if new:
            _save(conn, rec)
    return new


# ---------------------------------------------------------------- prune


@dataclass(frozen=True)
class PruneDecision:
    epoch: int
    rule: str
    reason: str


def prune_check(store, study_id: str, run_id: str, epoch: int) -> PruneDecision | None:
    """Ask the study's pruner about ``run_id`` after ``epoch`` (written already).
    What the pruner records on the trial (successive halving's rungs) is kept."""
    with store._write() as conn:
        rec = _load(conn, study_id)
        spec = rec.plan.search.pruner
        if spec is None or run_id not in rec.trials:
            return None
        study, numbers = rebuild_from(conn, rec)
        frozen = study.trials[numbers[run_id]]
        if epoch not in frozen.intermediate_values:
            return None
        pruner = pruners.make(spec)
        prune = pruner.prune(study, frozen)
        attrs = dict(study._storage.get_trial_system_attrs(frozen._trial_id))
        if attrs != rec.trials[run_id].system_attrs:
            rec.trials[run_id].system_attrs = attrs
            _save(conn, rec)
        if not prune:
            return None
        minimize = rec.plan.search.direction == "minimize"
        others = [
            t.intermediate_values[epoch]
            for t in study.trials
            if t.number != frozen.number
            and t.state.name == "COMPLETE"
            and epoch in t.intermediate_values
        ]
        values = list(frozen.intermediate_values.values())
        best = min(values) if minimize else max(values)
        reason = pruners.explain(
            spec,
            metric=rec.plan.search.metric,
            epoch=epoch,
            value=best if spec.name in ("median", "percentile") else values[-1],
            others=others,
            minimize=minimize,
        )
        return PruneDecision(epoch, spec.name, reason)
