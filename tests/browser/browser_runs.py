"""Finished runs written straight into a server's store, in the shapes workers write.

The compare page's defects show with particular runs (a diverged one among healthy
ones, identical runs with one seed, names full of markdown); training them for real
would take minutes and could not produce them on demand. The servers these tests
use have no worker pool (``HPLAB_WORKERS=0``), so a run created here is claimed
here and nobody else touches it. Each run is diagnosed by the engine itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from engine.config import shape_of, validate
from engine.diagnosis import diagnose
from engine.store import RunStore

Curve = Callable[[int], tuple[float, float]]


def falling(floor: float = 0.1, speed: float = 0.5) -> Curve:
    """Training and validation loss that fall towards ``floor``."""
    return lambda e: (floor + 1.5 / (1 + speed * e), floor + 0.05 + 1.5 / (1 + speed * e))


def diverging(at: int) -> Curve:
    """Falls, then NaN from epoch ``at`` on."""
    base = falling()
    return lambda e: (math.nan, math.nan) if e >= at else base(e)


def start_like_a_worker(
    store: RunStore, rid: str, cfg: dict, worker: str, logged: list[str], **info: Any
) -> int:
    """Claims queued run ``rid`` and records its start with the info a worker records;
    returns its updates per epoch."""
    shape = shape_of(cfg)
    upe = int(shape.updates_per_epoch)
    store.claim(rid, worker)
    store.record_start(
        rid,
        {
            "updates_per_epoch": upe,
            "total_updates": shape.total_updates,
            "n_train": shape.n_train,
            "device": "CPU",
            "precision": cfg["precision"],
            "logged": logged,
            **info,
        },
    )
    return upe


def add_run(
    store: RunStore,
    raw: dict[str, Any],
    *,
    name: str,
    curve: Curve | None = None,
    status: str = "completed",
    sweep_id: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    predictions: dict | None = None,
    result: dict | None = None,
) -> str:
    """One finished run of config ``raw`` (validated) named ``name``; returns its id."""
    cfg = validate({"epochs": 6, **raw})
    curve = curve or falling()
    (rid,) = store.create_runs([cfg], names=[name], sweep_id=sweep_id, tags=tags)
    metric = "mae" if cfg["task"].startswith("regression") else "accuracy"
    upe = start_like_a_worker(store, rid, cfg, "w-browser-test", ["loss", metric])
    records, history = [], {"loss": [], "val_loss": []}
    for e in range(1, cfg["epochs"] + 1):
        loss, val = curve(e)
        records.append(
            {
                "epoch": e,
                "values": {"loss": loss, "val_loss": val, metric: 0.5, f"val_{metric}": 0.5},
                "lr": cfg["learning_rate"],
                "epoch_time": 0.05,
                "examples_per_sec": 1000.0,
                "wall_time": 0.05 * e,
                "updates": e * upe,
            }
        )
        history["loss"].append(loss)
        history["val_loss"].append(val)
        if math.isnan(loss):
            status = "diverged"
            break
    store.append_epochs(rid, records)
    diverged_at = (len(records) - 1) * upe + 1 if status == "diverged" else None
    store.finish(
        rid,
        {
            "status": status,
            "epochs_run": len(records),
            "diverged_at": diverged_at,
            "test": {"loss": records[-1]["values"]["val_loss"]} if status == "completed" else {},
            "predictions": predictions or {},
            "duration": 0.05 * len(records),
            **(result or {}),
        },
    )
    store.set_diagnosis(rid, diagnose(history, None, status=status, diverged_at=diverged_at))
    if notes:
        store.set_notes(rid, notes)
    return rid
