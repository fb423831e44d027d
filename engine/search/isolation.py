"""Isolation data: the best result per value (or bin) of one chosen knob, over all the
others. A knob's effect read this way is not confounded by the other knobs' luck:
each row is the best that value reached whatever else was tried with it (the tuning
playbook's isolation plot).

``isolation`` works on points ``(knob value, metric value, run id)``; ``of_sweep``
collects them from a finished study (the trial's sampled values) or grid (the run's
config at the knob's path). Only completed runs with a finite metric count; pruned,
diverged and failed ones are counted per row, never drawn as values.
"""

from __future__ import annotations

import math
from typing import Any

from engine.search import study as study_mod

DEFAULT_BINS = 8
MAX_VALUES = 12  # more distinct numbers than this are binned


def _numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _edges(lo: float, hi: float, bins: int, log: bool) -> list[float]:
    if log:
        a, b = math.log(lo), math.log(hi)
        return [math.exp(a + (b - a) * i / bins) for i in range(bins + 1)]
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


def isolation(
    points: list[tuple[Any, float | None, str, str]],
    *,
    minimize: bool = True,
    bins: int | None = None,
    log: bool | None = None,
) -> list[dict[str, Any]]:
    """Rows of the best result per knob value. ``points``: ``(knob value, metric
    value, run id, status)``. Distinct values are kept apart unless there are more
    than ``MAX_VALUES`` numbers (or ``bins`` is given): then ``bins`` equal bins
    (log-spaced when ``log``, or by default when every value is positive and they
    span more than a factor of 100)."""
    present = [p for p in points if p[0] is not None]
    numbers = sorted({p[0] for p in present if _numeric(p[0])})
    binned = len(numbers) == len({p[0] for p in present}) and (
        bins is not None or len(numbers) > MAX_VALUES
    )
    groups: dict[Any, list] = {}
    if binned and numbers:
        n = bins or DEFAULT_BINS
        lo, hi = numbers[0], numbers[-1]
        if log is None:
            log = lo > 0 and hi / lo > 100
        edges = _edges(lo, hi, n, bool(log)) if hi > lo else [lo, hi]
        for p in present:
            i = max(0, min(len(edges) - 2, sum(1 for e in edges[1:-1] if p[0] >= e)))
            groups.setdefault((edges[i], edges[i + 1]), []).append(p)
        keys = sorted(groups)
    else:
        for p in present:
            groups.setdefault(p[0], []).append(p)
        keys = sorted(groups, key=lambda k: (not _numeric(k), k if _numeric(k) else str(k)))
    rows = []
    for k in keys:
        members = groups[k]
        ok = [
            p for p in members if p[3] == "completed" and p[1] is not None and math.isfinite(p[1])
        ]
        best = (min if minimize else max)(ok, key=lambda p: p[1]) if ok else None
        row: dict[str, Any] = {"bin": list(k)} if binned else {"value": k}
        row.update(
            {
                "best": None if best is None else best[1],
                "run_id": None if best is None else best[2],
                "runs": len(members),
                "completed": len(ok),
                "not_values": len(members) - len(ok),  # pruned, diverged, failed
            }
        )
        rows.append(row)
    return rows


def _at(cfg: dict, path: str) -> Any:
    cur: Any = cfg
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def of_sweep(
    store, sweep_id: str, knob: str, *, metric: str | None = None, bins: int | None = None
) -> dict[str, Any]:
    """The isolation rows of ``knob`` over a finished study or grid in the store."""
    from engine.search.replay import _target

    runs, metric, direction = _target(store, sweep_id, metric)
    log = None
    try:
        rec = study_mod.load(store, sweep_id)
        values = {rid: t.params.get(knob) for rid, t in rec.trials.items()}
        for p in rec.plan.params:
            if p.path == knob and p.kind != "choice":
                log = p.log
    except KeyError:
        values = {r["id"]: _at(r["config"], knob) for r in runs}
    points = [
        (values.get(r["id"]), (r["best"] or {}).get(metric), r["id"], r["status"]) for r in runs
    ]
    if all(p[0] is None for p in points):
        raise ValueError(f"isolation: no run of {sweep_id!r} sets {knob!r}")
    return {
        "sweep_id": sweep_id,
        "knob": knob,
        "metric": metric,
        "direction": direction,
        "rows": isolation(points, minimize=direction == "minimize", bins=bins, log=log),
    }
