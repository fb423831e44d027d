"""Reading training curves as a practitioner does, with evidence, and saying what to change.

Pure Python on recorded series, so it runs in the engine, the store's readers and the
dashboard alike, while a run trains and after it ends. ``diagnose`` returns one JSON-able
dict (stored with the run, printed by ``python -m engine diagnose``):

- ``label`` / ``labels``: the main finding and all of them, main first (``text.LABELS``);
- ``findings``: per rule that fired, its confidence, the share of the loss it explains
  and its checks (each number against its threshold);
- ``evidence`` and ``markers``: the plain numbers and the chart marks;
- ``clipping``: how hard clipping bit (share clipped, the 90th percentile of the
  pre-clip gradient norm as a threshold to use);
- ``suggestions``: ``[{"why", "change": {dotted.path: value}}]``, each valid under the
  config contract, most promising first (needs the run's config).

Ranking: a NaN is named first; a too-high learning rate and overfitting are ranked by
how much of the loss each explains; a crawl and underfitting are named only when
neither of those explains the curve (a too-high rate also leaves the loss high: the
cause is named, not the symptom); ``still_improving`` when nothing is wrong but the run
was cut short while still improving fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.diagnosis import rules
from engine.diagnosis.clipping import ClipStats, clip_stats
from engine.diagnosis.curves import Curves
from engine.diagnosis.findings import Finding
from engine.diagnosis.suggestions import Context, apply_change, suggest
from engine.diagnosis.text import ADVICE, LABELS, SUMMARY

VERSION = 2

__all__ = [
    "ADVICE",
    "LABELS",
    "SUMMARY",
    "VERSION",
    "apply_change",
    "diagnose",
    "diagnose_result",
    "diagnose_stored",
]


def _findings(
    c: Curves,
    *,
    status: str,
    diverged_at: int | None,
    clip: ClipStats | None,
    planned_epochs: int | None,
    early_stop: Mapping[str, Any] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(findings that fired, main first; every rule evaluated, for the evidence)."""
    div = rules.diverged(c, status, diverged_at)
    if not div.passed and c.n < rules.MIN_EPOCHS:
        return [], [div]
    evaluated = [div]
    found = [div] if div.passed else []
    if c.fl:
        high = rules.lr_too_high(c, clip.share if clip and clip.mode else None)
        over = rules.overfitting(c, early_stop)
        evaluated += [high, over]
        ranked = [f for f in (over, high) if f.passed and not (div.passed and f is high)]
        found += sorted(ranked, key=lambda f: -f.explains)
    if len(c.fl) >= rules.MIN_EPOCHS and not found:
        low, under = rules.lr_too_low(c), rules.underfitting(c)
        evaluated += [low, under]
        if low.passed:
            found.append(low)
        elif under.passed:
            found.append(under)
    if len(c.fl) >= rules.MIN_EPOCHS and all(f.label in ("underfitting",) for f in found):
        still = rules.still_improving(c, status, planned_epochs)
        evaluated.append(still)
        if still.passed:
            found.append(still)
    return found, evaluated


def diagnose(
    history: Mapping[str, list[float]],
    steps: Mapping[str, list] | None = None,
    *,
    status: str = "running",
    diverged_at: int | None = None,
    baseline: float | None = None,
    config: Mapping[str, Any] | None = None,
    info: Mapping[str, Any] | None = None,
    with_suggestions: bool = True,
) -> dict[str, Any]:
    """Label a run from its per-epoch ``history`` (Keras names) and per-update ``steps``.

    ``config`` (the run's) makes suggestions and the clipping verdict possible; ``info``
    (its start record) supplies the trivial loss and the validation size. Suggestions
    validate a config each (about a millisecond): ``with_suggestions=False`` skips them
    where a diagnosis is refreshed every epoch."""
    steps = steps or {}
    info = info or {}
    if baseline is None:
        baseline = info.get("baseline_loss")
    c = Curves(
        loss=list(history.get("loss", [])),
        val=list(history.get("val_loss", [])),
        updates=list(steps.get("loss", [])),
        grad_norm=list(steps.get("grad_norm", [])),
        clipped=list(steps.get("clipped", [])),
        baseline=baseline,
        n_val=info.get("n_val"),
        floor=_noise_floor(config),
        loss_spread=_loss_spread(config),
    )
    clipping = (config or {}).get("clipping") if isinstance(config, Mapping) else None
    clip = clip_stats(c.grad_norm, c.clipped, clipping)
    planned = (config or {}).get("epochs") if isinstance(config, Mapping) else None
    found, evaluated = _findings(
        c,
        status=status,
        diverged_at=diverged_at,
        clip=clip,
        planned_epochs=planned,
        early_stop=((config or {}).get("callbacks") or {}).get("early_stopping")
        if isinstance(config, Mapping)
        else None,
    )
    evidence: dict[str, Any] = {"epochs": c.n}
    for f in evaluated:
        evidence.update(f.evidence)
    if clip is not None and clip.mode is not None:
        evidence["clipped_share"] = clip.share
        evidence["grad_norm_p90"] = clip.p90
    labels = [f.label for f in found]
    if not labels or labels == ["still_improving"]:
        # unfinished is a finding beside a healthy run, not instead of it
        labels = ["too_early"] if c.n < rules.MIN_EPOCHS else ["healthy", *labels]
    ctx = Context(
        evidence=evidence,
        clipping=clip,
        epochs_run=c.n,
        signs=frozenset(s.name for f in found for s in f.fired),
    )
    fixes = (
        suggest([lab for lab in labels if lab not in ("healthy", "too_early")], config, ctx)
        if with_suggestions
        else []
    )
    main = found[0] if found and found[0].label == labels[0] else None
    return {
        "version": VERSION,
        "label": labels[0],
        "labels": labels,
        "summary": _summary(labels),
        "confidence": main.confidence if main else _healthy_confidence(evaluated),
        "findings": [f.to_dict() for f in found],
        "evidence": evidence,
        "advice": _advice(labels),
        "markers": _markers(found, evaluated),
        "clipping": clip.to_dict() if clip else None,
        "suggestions": [s.to_dict() for s in fixes],
    }


def _summary(labels: list[str]) -> str:
    if labels[:2] == ["healthy", "still_improving"]:
        return SUMMARY["still_improving"]
    return SUMMARY[labels[0]]


def _advice(labels: list[str]) -> list[str]:
    """Every finding's advice, main first; never "nothing to fix" beside a finding."""
    shown = [lab for lab in labels if not (lab == "healthy" and len(labels) > 1)]
    return [a for lab in shown for a in ADVICE[lab]]


def _noise_floor(config: Mapping[str, Any] | None) -> float | None:
    if not isinstance(config, Mapping):
        return None
    try:
        from engine.baseline import noise_floor
        from engine.spec.tasks import TASKS

        return noise_floor(TASKS[config["task"]], config)
    except (KeyError, TypeError, ValueError):  # an old or partial config: no floor
        return None


def _loss_spread(config: Mapping[str, Any] | None) -> float:
    loss = (config or {}).get("loss") if isinstance(config, Mapping) else None
    name = loss.get("name") if isinstance(loss, Mapping) else None
    return math.sqrt(2.0) if name in ("mse", "weighted_mse") else 1.0


def _healthy_confidence(evaluated: list[Finding]) -> float:
    """Sure when every rule was far from firing; less when one nearly did."""
    near = max((f.closest.score for f in evaluated if f.closest and not f.passed), default=0.0)
    return round(max(0.5, 1.0 - 0.5 * min(1.0, near)), 2)


def _markers(found: list[Finding], evaluated: list[Finding]) -> dict[str, Any]:
    ev = {k: v for f in evaluated for k, v in f.evidence.items()}
    marks = {k: v for f in evaluated for k, v in f.marks.items()}
    labels = {f.label for f in found}
    markers: dict[str, Any] = {}
    if "best_val_epoch" in ev:
        markers["best_epoch"] = ev["best_val_epoch"]
    if "overfitting" in labels:
        markers["overfit_from"] = ev["overfitting_from_epoch"]
    if "diverged" in labels:
        markers["diverged_at_update"] = ev.get("diverged_at_update")
    spikes = []
    if "early_blowup_update" in ev:
        spikes.append(ev["early_blowup_update"])
    spikes += marks.get("spike_updates", [])
    if spikes:
        markers["spike_updates"] = spikes[:51]
    return markers


def diagnose_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """Diagnose the dict returned by ``engine.training.train.train``."""
    return diagnose(
        result.get("history", {}),
        result.get("steps"),
        status=result.get("status", "completed"),
        diverged_at=result.get("diverged_at"),
        config=result.get("config"),
        info=result.get("info"),
    )


def diagnose_stored(store, run_id: str) -> dict[str, Any]:
    """Diagnose a run from the store's full-resolution series (spikes need every update)."""
    run = store.get_run(run_id)
    series = store.epoch_series([run_id], max_points=None).get(run_id, {})
    history = {k: v["value"] for k, v in series.items()}
    steps = store.update_series(run_id, max_points=None)
    result = run.get("result") or {}
    return diagnose(
        history,
        steps,
        status=run["status"],
        diverged_at=result.get("diverged_at"),
        config=run.get("config"),
        info=run.get("info") or {},
    )
