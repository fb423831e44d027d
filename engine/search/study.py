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
that step.

A trial may have several runs. With ``repeats`` R > 1 it is trained at R seeds (one
run per repeat) and Optuna is told the mean: the mean of the runs' best values, and
per epoch the mean of the runs that reached it; it is COMPLETE once every repeat is,
RUNNING while any is in flight, FAIL if any failed. And a run ``interrupted`` (its
pool stopped or died under it: nobody judged the trial) is trained again, the same
config under the same trial number and repeat (a *retry*); the newest run of each
repeat is the one that counts. Writes (``top_up``, ``prune_check``) run in one ``BEGIN IMMEDIATE``
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
    repeat: int = 0  # which of the trial's ``repeats`` seeds this run trains


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


def latest(rec: StudyRecord, runs: dict[str, TrialRun]) -> dict[int, list[TrialRun]]:
    """Each trial's runs that count, by trial number: per repeat the newest one (a
    retry supersedes the interrupted run it retries). A run gone from the store
    counts as failed."""
    by: dict[int, dict[int, TrialRun]] = {}
    for run_id, t in rec.trials.items():  # the order they were queued in
        run = runs.get(run_id) or TrialRun(run_id, "failed", {})
        by.setdefault(t.number, {})[t.repeat] = run
    return {n: [reps[k] for k in sorted(reps)] for n, reps in sorted(by.items())}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _frozen(rec: StudyRecord, trial: TrialRecord, runs: list[TrialRun]):
    """The Optuna trial of one stored trial, from its runs that count (one per repeat)."""
    optuna = _quiet_optuna()
    TS = optuna.trial.TrialState
    minimize = rec.plan.search.direction == "minimize"
    best = min if minimize else max
    finite = [{k: v for k, v in r.intermediate.items() if math.isfinite(v)} for r in runs]
    epochs = sorted({e for f in finite for e in f})
    intermediate = {e: _mean([f[e] for f in finite if e in f]) for e in epochs}
    statuses = [r.status for r in runs]
    value = None
    if any(s in IN_FLIGHT for s in statuses):
        state = TS.RUNNING
    elif "pruned" in statuses:
        state = TS.PRUNED
    elif runs and all(s == "completed" for s in statuses) and all(finite):
        state, value = TS.COMPLETE, _mean([best(f.values()) for f in finite])
    else:  # diverged, failed, cancelled, interrupted, a completed run without its metric
        state = TS.FAIL
    return optuna.trial.create_trial(
        state=state,
        value=value,
        params=trial.params,
        distributions=rec.plan.distributions(trial.params),
        intermediate_values=intermediate,
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
    for _number, counted in latest(rec, runs).items():
        study.add_trial(_frozen(rec, rec.trials[counted[0].run_id], counted))  # number-th
    return study, {run_id: t.number for run_id, t in rec.trials.items()}


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


@dataclass(frozen=True)
class Progress:
    """Where a study stands: trials asked (of its budget), runs in flight, runs to
    retry (interrupted, not retried yet), and whether a person stopped it."""

    asked: int
    budget: int
    in_flight: int
    to_retry: int
    stopped: bool

    @property
    def finished(self) -> bool:
        """Nothing in flight and nothing left to ask or retry (or stopped)."""
        if self.in_flight:
            return False
        return self.stopped or (self.asked >= self.budget and not self.to_retry)


def _progress(rec: StudyRecord, runs: dict[str, TrialRun]) -> Progress:
    counted = [r for rs in latest(rec, runs).values() for r in rs]
    return Progress(
        asked=len({t.number for t in rec.trials.values()}),
        budget=rec.plan.search.trials,
        in_flight=sum(1 for r in counted if r.status in IN_FLIGHT),
        to_retry=sum(1 for r in counted if r.status == "interrupted"),
        stopped=stopped(r.status for r in runs.values()),
    )


def progress(store, study_id: str) -> Progress:
    with store._read() as conn:
        rec = _load(conn, study_id)
        return _progress(rec, {r.run_id: r for r in _runs(conn, study_id, rec.plan.search.metric)})


# Optuna's bookkeeping of a pruner on a trial: a retry starts its epochs again.
_PRUNER_ATTRS = ("completed_rung_",)


def _retry(conn, rec: StudyRecord, run_id: str) -> str:
    """Queue the interrupted run ``run_id`` again: its config, its trial and repeat."""
    name, config = conn.execute("SELECT name, config FROM runs WHERE id = ?", (run_id,)).fetchone()
    old = rec.trials[run_id]
    new_id = _insert_run(conn, rec, json.loads(config), name)
    attrs = {k: v for k, v in old.system_attrs.items() if not k.startswith(_PRUNER_ATTRS)}
    rec.trials[new_id] = TrialRecord(old.number, dict(old.params), attrs, old.repeat)
    return new_id


def top_up(store, study_id: str, slots: int) -> list[str]:
    """Fill the study's free slots (``slots`` minus its queued and running runs), in
    one write transaction: first retry its interrupted runs, then ask the sampler for
    new trials (never past ``trials`` in all; each is ``repeats`` runs), validated and
    queued. Returns the new run ids."""
    new: list[str] = []
    with store._write() as conn:
        rec = _load(conn, study_id)
        plan = rec.plan
        runs = {r.run_id: r for r in _runs(conn, study_id, plan.search.metric)}
        p = _progress(rec, runs)
        if p.stopped:
            return []
        free = slots - p.in_flight
        for counted in latest(rec, runs).values():
            for run in counted:
                if run.status == "interrupted" and free > 0:
                    new.append(_retry(conn, rec, run.run_id))
                    free -= 1
        grid = plan.grid() if plan.search.sampler == "grid" else {}
        for number in range(p.asked, plan.search.trials):
            if free <= 0:
                break
            sampler = samplers.make(
                plan.search.sampler, plan.search.seed, number, grid, plan.search.sampler_args
            )
            study, _numbers = rebuild_from(conn, rec, sampler=sampler)
            trial = study.ask()
            values = plan.sample(trial)
            configs = plan.configs(values)  # validated before they are queued
            frozen = study._storage.get_trial(trial._trial_id)
            for repeat, cfg in enumerate(configs):
                run_id = _insert_run(conn, rec, cfg, plan.trial_name(number, values, cfg))
                rec.trials[run_id] = TrialRecord(number, values, dict(frozen.system_attrs), repeat)
                new.append(run_id)
            rec.study_attrs = dict(study._storage.get_study_system_attrs(study._study_id))
            free -= len(configs)
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
