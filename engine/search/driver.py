"""The study on the pool: the store sink's two hooks, and the loop ``engine sweep`` runs.

A run's records reach the store through a ``StoreSink`` wherever it trains: in the
local worker process (``executor.worker``) and on the Ray driver, which replays an
actor's records (``executor.ray_backend``). ``study_sink`` wraps that sink for a run
of a study, so both backends, and both training paths (one run, or a stack), get the
same two hooks without knowing about searches:

- after each epoch is written, the study's pruner is asked; a run to prune is
  flagged in the store exactly as a cancel is (the flag every training loop already
  polls between epochs), and when its ``cancelled`` result comes back it is recorded
  ``pruned`` with the epoch, the rule and the sentence that explains it;
- when a run ends, the study is topped up: the sampler is asked for the next trials,
  which the pool then claims like any queued run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from engine.search import study as study_mod

log = logging.getLogger("engine.search")

POLL = 0.2


class StudySink:
    """A run sink that forwards everything to ``inner`` (the run's ``StoreSink``) and
    adds the study's hooks."""

    def __init__(
        self, inner, store, run_id: str, study_id: str, slots: int, epochs: int, prunes=True
    ):
        self.inner, self.store = inner, store
        self.run_id, self.study_id = run_id, study_id
        self.slots, self.epochs = max(1, slots), epochs
        self.prunes = prunes  # the study has a pruner: each epoch may end the run
        self.decision: study_mod.PruneDecision | None = None

    def on_start(self, info):
        self.inner.on_start(info)

    def on_updates(self, columns):
        self.inner.on_updates(columns)

    def on_epoch(self, record):
        self.inner.on_epoch(record)
        epoch = record["epoch"]
        if self.decision is not None or epoch >= self.epochs:
            return  # the last epoch ends the run anyway: nothing to save by pruning it
        try:
            self.decision = study_mod.prune_check(self.store, self.study_id, self.run_id, epoch)
        except Exception as e:  # a busy store is no reason to stop a run: ask next epoch
            log.warning("study %s: prune check of %s failed: %s", self.study_id, self.run_id, e)
            return
        if self.decision is not None:
            self.store.request_cancel(self.run_id)

    def on_finish(self, result):
        d = self.decision
        if d is not None and result.get("status") == "cancelled":
            result = {
                **result,
                "status": "pruned",
                "pruned": {"epoch": d.epoch, "rule": d.rule, "reason": d.reason},
            }
        self.inner.on_finish(result)
        try:
            study_mod.top_up(self.store, self.study_id, self.slots)
        except Exception as e:  # the next finish, or the sweep's own loop, asks again
            log.warning("study %s: cannot ask for more trials: %s", self.study_id, e)

    def __getattr__(self, name: str) -> Any:  # cancel_requested and the like
        return getattr(self.inner, name)


def study_sink(inner, store, run_id: str, *, slots: int):
    """``inner`` itself for a run outside any study, else a ``StudySink`` around it."""
    try:
        run = store.get_run(run_id)
    except KeyError:
        return inner
    study_id = run["study_id"]
    if study_id is None:
        return inner
    try:
        prunes = study_mod.load(store, study_id).plan.search.pruner is not None
    except KeyError:  # a run whose study row is gone: no hooks to run
        return inner
    epochs = run["config"].get("epochs", 0)
    return StudySink(inner, store, run_id, study_id, slots, epochs, prunes)


def start(store, plan, study_id: str, slots: int) -> list[str]:
    """Store the study and queue its first trials (as many as there are slots)."""
    study_mod.create(store, plan, study_id)
    return study_mod.top_up(store, study_id, slots)


def finished(store, study_id: str) -> bool:
    """No run in flight, and no trial left to ask or run to retry (or stopped)."""
    return study_mod.progress(store, study_id).finished


def top_up_after_loss(store, run_ids, slots: int) -> list[str]:
    """Runs that ended without their sink's word (their worker was killed, its Ray
    actor died): top their studies up, as the sink would have at their end."""
    new: list[str] = []
    for sid in {_study_of(store, rid) for rid in run_ids} - {None}:
        try:
            new += study_mod.top_up(store, sid, slots)
        except Exception as e:  # the next finish, or a waiting loop, asks again
            log.warning("study %s: cannot ask for more trials: %s", sid, e)
    return new


def _study_of(store, run_id: str) -> str | None:
    try:
        return store.get_run(run_id)["study_id"]
    except KeyError:
        return None


def resume(store, slots: int) -> list[str]:
    """Every unfinished study of the store topped up: what a pool does on a store whose
    studies lost their driver (``sweep --detach``, a killed ``engine sweep`` or pool).
    Interrupted runs are retried, the remaining trials asked. Returns the new runs."""
    new: list[str] = []
    for sid in study_mod.study_ids(store):
        try:
            if not finished(store, sid):
                new += study_mod.top_up(store, sid, slots)
        except Exception as e:  # one broken study must not stop the pool serving the rest
            log.warning("study %s: cannot resume: %s", sid, e)
    return new


def wait(store, study_id: str, slots: int, timeout: float | None = None) -> bool:
    """Keep the study's slots filled until it has finished (True) or ``timeout``
    seconds passed (False). The workers top up as their runs end; this loop also
    does, so a trial whose worker died without a word still gets its successor."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not finished(store, study_id):
        if deadline is not None and time.monotonic() > deadline:
            return False
        try:
            study_mod.top_up(store, study_id, slots)
        except Exception as e:
            log.warning("study %s: cannot ask for more trials: %s", study_id, e)
        time.sleep(POLL)
    return True
