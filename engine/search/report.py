"""What ``engine study ID`` tells about a study: its best trial, which parameters
mattered (Optuna's own importance evaluator), and what pruning stopped and saved."""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine.search import study as study_mod
from engine.search.edges import edge_warnings

MIN_FOR_IMPORTANCE = 2


def trial_of(rec: study_mod.StudyRecord, run_id: str) -> dict[str, Any] | None:
    """``{"number", "params", "repeat", "repeats", "runs"}`` of a study's run (None: not one
    of its trials): its trial, which of the trial's ``repeats`` it trains, and every
    run queued for that trial (each repeat, and a retry of an interrupted one)."""
    t = rec.trials.get(run_id)
    if t is None:
        return None
    return {
        "number": t.number,
        "params": t.params,
        "repeat": t.repeat,
        "repeats": rec.plan.repeats,
        "runs": [rid for rid, o in rec.trials.items() if o.number == t.number],
    }


def importances(study) -> tuple[dict[str, float] | None, str | None]:
    """Optuna's parameter importances, or why there are none (a sentence)."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) < MIN_FOR_IMPORTANCE:
        return None, (
            f"parameter importances need at least {MIN_FOR_IMPORTANCE} completed trials;"
            f" this study has {len(done)}"
        )
    import warnings

    try:
        with warnings.catch_warnings():  # "few trials in a regime": the note says so
            warnings.simplefilter("ignore", UserWarning)
            return dict(optuna.importance.get_param_importances(study)), None
    except (ValueError, RuntimeError) as e:  # e.g. no parameter common to every trial
        return None, f"parameter importances cannot be computed here: {e}"


def report(store, study_id: str) -> dict[str, Any]:
    rec = study_mod.load(store, study_id)
    study = study_mod.rebuild(store, study_id)
    runs = store.list_runs(sweep_id=study_id)
    by_number: dict[int, list[str]] = {}
    for run_id, t in rec.trials.items():
        by_number.setdefault(t.number, []).append(run_id)
    s = rec.plan.search
    best = None
    try:
        b = study.best_trial
        best = {
            "run_id": by_number[b.number][0],
            "run_ids": by_number[b.number],
            "number": b.number,
            "value": b.value,
            "params": b.params,
        }
    except ValueError:  # no completed trial yet
        pass
    imp, note = importances(study)
    pruned = [r for r in runs if r["status"] == "pruned"]
    at = Counter((r["result"] or {}).get("pruned", {}).get("epoch") for r in pruned)
    saved = sum(r["config"]["epochs"] - r["epochs_done"] for r in pruned)
    return {
        "study_id": study_id,
        "sampler": s.sampler,
        "sampler_args": dict(s.sampler_args),
        "pruner": None if s.pruner is None else {"name": s.pruner.name, **s.pruner.args},
        "metric": s.metric,
        "direction": s.direction,
        "trials": {
            "asked": len(by_number),
            "budget": s.trials,
            **Counter(r["status"] for r in runs),
        },
        "best": best,
        "edges": [] if best is None else edge_warnings(rec.plan.params, best["params"]),
        "importances": imp,
        "importances_note": note,
        "pruning": {
            "pruned": len(pruned),
            "at_epochs": {str(k): v for k, v in sorted(at.items(), key=lambda kv: kv[0] or 0)},
            "epochs_saved": saved,
            "epochs_trained": sum(r["epochs_done"] for r in runs),
            "reasons": [(r["result"] or {}).get("pruned", {}).get("reason") for r in pruned],
        },
    }
