"""A worker's share of a sweep, trained as one stacked model.

When a worker claims a run of a sweep whose queued runs can share a stack
(``engine.training.stacked.stack_key``), it claims its share of them too and trains
them in one graph: one build and one trace instead of one per run, which is most of
a short run's cost. The share is the matching runs divided by the pool's workers, so
two workers split a 16-run grid into two stacks of 8 and both cores stay busy.
Each member still gets its own sink, cancel check and orphan guard: in the store
it is an ordinary run.
"""

from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger("engine.executor")

MAX_STACK = 64  # members per graph; beyond this the stacked epoch stops being cheap


def claim_share(
    store, run_id: str, config: dict[str, Any], worker_id: str, workers: int
) -> list[tuple[str, dict[str, Any]]]:
    """The claimed run, plus this worker's share of the queued runs of its sweep that
    can train in the same stack (claimed here; another worker may take some first)."""
    from engine.training.stacked import stack_key

    claimed = [(run_id, config)]
    key = stack_key(config)
    sweep_id = store.get_run(run_id)["sweep_id"] if key is not None else None
    if sweep_id is None:
        return claimed
    runs = store.list_runs(status=("queued", "running"), sweep_id=sweep_id)
    matching = [r for r in runs if stack_key(r["config"]) == key]
    queued = [r for r in matching if r["status"] == "queued"]
    share = min(MAX_STACK, math.ceil(len(matching) / max(1, workers)))
    for r in queued:
        if len(claimed) >= share:
            break
        cfg = store.claim(r["id"], worker_id)
        if cfg is not None:
            claimed.append((r["id"], cfg))
    return claimed


def run_stack(
    store, claimed: list[tuple[str, dict[str, Any]]], worker_id: str, *, should_stop, sink
) -> list[str]:
    """Train the claimed runs as one stack; every member ends in a terminal status.

    ``should_stop(run_id)`` and ``sink(run_id)`` make each member's cancel check and
    store writer, as the single-run path has them."""
    from engine.executor.run_loop import fail_run, failure_reason
    from engine.training.stacked import train_stacked

    ids = [rid for rid, _ in claimed]
    try:
        results = train_stacked(
            [cfg for _, cfg in claimed],
            sinks=[sink(rid) for rid in ids],
            should_stop=[(lambda rid=rid: should_stop(rid)) for rid in ids],
        )
        return [r["status"] for r in results]
    except Exception as e:  # invalid or incompatible configs, or the store failed
        log.warning("worker %s: stack of %d failed: %s", worker_id, len(ids), e)
        for rid in ids:
            fail_run(store, rid, failure_reason(e))
        return ["failed"] * len(ids)
