"""What the TensorFlow service computes, keyed by kind like ``keras.optimizers.get``.

Each kind owns everything about itself: the lane (process) that runs it, how it is
described to a person, whether it is re-run when its process dies under it, and the
function that computes it inside that process. Two lanes, so the two classes of work
never queue behind each other: ``preview`` answers schedule previews (milliseconds
each, the setup page and the Schedule explorer ask on every edit) and ``jobs`` runs
LR range tests (seconds each, a short training job).

The ``run_*`` functions execute in the service process only (``tf_process``); this
module imports no TensorFlow itself, so the server can read the registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OnUpdates = Callable[[dict[str, list]], None]
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class Lane:
    """One service process: the modules it imports and the work it does once before it
    says it is ready, so its first answer is as quick as any later one."""

    name: str
    warm_up: tuple[str, ...]
    intra_threads: int
    inter_threads: int = 1
    prime: Callable[[], Any] | None = None


@dataclass(frozen=True)
class JobKind:
    name: str
    lane: str
    what: str  # "the schedule preview": how messages name it
    run: Callable[..., Any]
    retries: int = 0  # times it is re-run after its process died under it
    one_per_owner: bool = False  # a session's newer request replaces its queued older one


# Every lane's job takes the same keywords; a preview is too short to stream or stop.
def run_preview(payload: dict, *, on_updates: OnUpdates, should_stop: ShouldStop) -> dict:  # noqa: ARG001
    """``engine.schedule_preview.preview``: the very schedule object training builds."""
    from engine.schedule_preview import preview

    return preview(payload["config"])


def run_lr_find(payload: dict, *, on_updates: OnUpdates, should_stop: ShouldStop) -> dict:
    """``engine.lr_finder.lr_find``, streaming its curve as it grows."""
    from engine.lr_finder import lr_find

    return lr_find(
        payload["config"],
        min_lr=payload["min_lr"],
        max_lr=payload["max_lr"],
        updates=payload["updates"],
        on_updates=on_updates,
        should_stop=should_stop,
    )


def prime_preview() -> None:
    """TensorFlow's first eager ops take seconds (kernel registry, thread pools): pay
    them before the first person waits for a preview."""
    from engine.config import validate

    run_preview({"config": validate({"task": "regression"})}, on_updates=_drop, should_stop=_no)


def _drop(columns: dict[str, list]) -> None:
    pass


def _no() -> bool:
    return False


_CORES = os.cpu_count() or 1

LANES: dict[str, Lane] = {
    "preview": Lane(
        "preview",
        ("keras", "engine.schedule_preview", "engine.keras_parts.build"),
        intra_threads=1,
        prime=prime_preview,
    ),
    "jobs": Lane(
        "jobs",
        ("keras", "engine.lr_finder", "engine.training.train", "engine.keras_parts.build"),
        intra_threads=max(1, _CORES // 2),
    ),
}

JOBS: dict[str, JobKind] = {
    "preview": JobKind("preview", "preview", "the schedule preview", run_preview, retries=1),
    "lr_find": JobKind("lr_find", "jobs", "the LR range test", run_lr_find, one_per_owner=True),
}


def get(kind: str) -> JobKind:
    try:
        return JOBS[kind]
    except KeyError:
        raise ValueError(f"kind: must be one of {', '.join(JOBS)}, got {kind!r}") from None
