"""Pruner replay: what a pruner would have done to a finished grid or study.

The stored per-epoch metric series of every finished run of a sweep (or a study) is
fed, run by run in launch order (as one worker would have trained them), through the
real Optuna pruner on an in-memory study: ``trial.report`` each epoch, then
``trial.should_prune``. A run the pruner stops is told ``PRUNED`` at that epoch and
counts only the epochs up to it, as the live study would have. The answer: which runs
it would have stopped and when, the epochs that would have saved, and whether the
eventual winner (the best run as trained) would have survived.

Runs still queued or running are left out; a run that ended early on its own
(diverged, pruned, cancelled) is replayed over the epochs it has and can only be
stopped earlier than it was.
"""

from __future__ import annotations

import math
from typing import Any

from engine.search import pruners
from engine.search import study as study_mod

FINISHED = ("completed", "diverged", "pruned", "cancelled", "failed", "interrupted")
PRUNER_NAMES = tuple(pruners.PRUNERS.names())


def _direction(metric: str) -> str:
    from engine.spec.metrics import metric_direction

    return "maximize" if metric_direction(metric) == "up" else "minimize"


def _target(store, sweep_id: str, metric: str | None) -> tuple[list[dict], str, str]:
    """The sweep's finished runs (launch order), its metric and direction."""
    runs = store.list_runs(sweep_id=sweep_id)
    if not runs:
        raise KeyError(f"no sweep or study {sweep_id!r}")
    if metric is None:
        try:
            metric = study_mod.load(store, sweep_id).plan.search.metric
        except KeyError:  # a grid: its validation loss if it has one
            metric = "val_loss" if any("val_loss" in (r["last"] or {}) for r in runs) else "loss"
    return [r for r in runs if r["status"] in FINISHED], metric, _direction(metric)


def replay(
    store,
    sweep_id: str,
    pruner: Any = "median",
    *,
    metric: str | None = None,
) -> dict[str, Any]:
    """Replay ``sweep_id``'s finished runs through ``pruner`` (a registry name or
    ``{"name", **Optuna arguments}``, checked like a sweep file's ``search.pruner``)."""
    study_mod._quiet_optuna()
    import optuna

    runs, metric, direction = _target(store, sweep_id, metric)
    epochs = max((r["config"].get("epochs", 0) for r in runs), default=0)
    spec = pruners.parse_pruner(pruner, epochs)
    if spec is None:
        raise ValueError("replay needs a pruner, got none")
    series = store.epoch_series([r["id"] for r in runs], keys=[metric], max_points=None)
    minimize = direction == "minimize"
    study = optuna.create_study(
        # Hyperband assigns a trial's bracket by a hash of the study's name: named as the
        # engine names a study (its sweep id), the replay is the same in every process and
        # a study's replay through its own pruner repeats what the pruner did.
        study_name=sweep_id,
        direction=direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=pruners.make(spec),
    )
    out_runs = []
    for r in runs:
        s = series[r["id"]].get(metric)
        points = [] if s is None else list(zip(s.epoch, s.value, strict=True))
        trial = study.ask()
        total = r["config"].get("epochs", epochs)
        stop_at = None
        for epoch, value in points:
            if value is None or not math.isfinite(value):
                break  # a diverged run's last epoch: the engine stopped it there itself
            trial.report(float(value), int(epoch))
            if epoch < total and trial.should_prune():
                stop_at = int(epoch)
                break
        finite = [v for e, v in points if v is not None and math.isfinite(v)]
        best = (min if minimize else max)(finite) if finite else None
        if stop_at is not None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif r["status"] in ("completed",) and best is not None:
            study.tell(trial, best)
        elif r["status"] == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        done = r["epochs_done"]
        out_runs.append(
            {
                "run_id": r["id"],
                "name": r["name"],
                "status": r["status"],
                "value": best,
                "epochs_done": done,
                "stopped_at": stop_at,
                "epochs_saved": 0 if stop_at is None else max(0, done - stop_at),
            }
        )
    ranked = [x for x in out_runs if x["status"] == "completed" and x["value"] is not None]
    winner = (min if minimize else max)(ranked, key=lambda x: x["value"]) if ranked else None
    kept = [x for x in ranked if x["stopped_at"] is None]
    best_kept = (min if minimize else max)(kept, key=lambda x: x["value"]) if kept else None
    trained = sum(x["epochs_done"] for x in out_runs)
    saved = sum(x["epochs_saved"] for x in out_runs)
    return {
        "sweep_id": sweep_id,
        "pruner": {"name": spec.name, **spec.args},
        "metric": metric,
        "direction": direction,
        "runs": out_runs,
        "stopped": sum(1 for x in out_runs if x["stopped_at"] is not None),
        "epochs_trained": trained,
        "epochs_saved": saved,
        "saved_fraction": saved / trained if trained else 0.0,
        "winner": None
        if winner is None
        else {
            **_named(winner),
            "survives": winner["stopped_at"] is None,
            "stopped_at": winner["stopped_at"],
        },
        "best_surviving": None if best_kept is None else _named(best_kept),
    }


def _named(run: dict) -> dict:
    return {k: run[k] for k in ("run_id", "name", "value")}
