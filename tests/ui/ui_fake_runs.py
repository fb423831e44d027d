"""Runs written straight into a store, in every state the pages must draw.

Rendering tests need many shapes of run (live, diverged, failed, seed repeats,
multi-output) more than they need real training, so records are written by hand
in the exact shapes of ``engine/records.py``; ``real_runs`` adds two genuinely
trained runs so the shapes cannot drift from the engine's.
"""

from __future__ import annotations

import math

from engine.config import shape_of, validate
from engine.store import RunStore


def _info(cfg: dict) -> dict:
    s = shape_of(cfg)
    return {
        "steps_per_epoch": s.steps_per_epoch,
        "updates_per_epoch": s.updates_per_epoch,
        "total_updates": s.total_updates,
        "n_train": s.n_train,
        "n_val": s.n_val,
        "n_test": s.n_test,
        "device": "CPU",
        "precision": cfg["precision"],
        "logged": ["loss", "mae"] if cfg["task"].startswith("regression") else ["loss", "accuracy"],
        "params": 1234,
    }


def _epochs(store: RunStore, run_id: str, cfg: dict, n: int, *, metric: str, nan_at=None):
    s = shape_of(cfg)
    upe = int(s.updates_per_epoch)
    for e in range(1, n + 1):
        loss = 2.0 / e + 0.1
        if nan_at is not None and e >= nan_at:
            loss = math.nan
        store.append_epoch(
            run_id,
            {
                "epoch": e,
                "values": {
                    "loss": loss,
                    "val_loss": 2.2 / e + 0.15,
                    metric: 0.5 + 0.04 * e,
                    f"val_{metric}": 0.45 + 0.04 * e,
                },
                "lr": cfg["learning_rate"],
                "epoch_time": 0.3,
                "examples_per_sec": 1500.0,
                "wall_time": 0.3 * e,
                "updates": e * upe,
            },
        )
        ups = list(range((e - 1) * upe + 1, e * upe + 1))
        store.append_updates(
            run_id,
            {
                "update": ups,
                "epoch": [e] * len(ups),
                "loss": [loss * (1 + 0.05 * (u % 3)) for u in ups],
                "lr": [cfg["learning_rate"]] * len(ups),
                "grad_norm": [0.5 + (u % 5) * 0.3 for u in ups],
                "clipped": [(u % 5) == 4 for u in ups],
            },
        )


def _finish(store: RunStore, run_id: str, status: str, cfg: dict, **kw) -> None:
    head = "output"
    if cfg["task"].startswith("regression"):
        preds = {
            head: {
                "kind": "regression",
                "target": [0.1, 1.0, -1.0, 2.0],
                "prediction": [0.2, 0.8, -0.7, 1.6],
            }
        }
        test = {"loss": 0.31, "mae": 0.4}
    else:
        preds = {
            head: {
                "kind": "binary",
                "target": [0, 1, 1, 0],
                "prediction": [0.2, 0.8, 0.4, 0.1],
                "predicted_class": [0, 1, 0, 0],
                "confusion": [[40, 5], [8, 47]],
                "labels": ["0", "1"],
            }
        }
        test = {"loss": 0.35, "accuracy": 0.87}
    result = {
        "status": status,
        "error": None,
        "diverged_at": None,
        "epochs_run": 3,
        "best_epoch": 3,
        "test": test if status == "completed" else {},
        "predictions": preds if status == "completed" else {},
        "duration": 1.0,
    }
    result.update(kw)
    store.finish(run_id, result)


def fill(path) -> dict[str, str]:
    """A store holding one run per state; returns ``{label: run_id}``."""
    store = RunStore(path)
    reg = validate(
        {
            "task": "regression",
            "epochs": 4,
            "data": {"n_train": 200, "n_test": 20},
            "clipping": {"global_clipnorm": 1.0},
        }
    )
    sgd = validate({**reg, "optimizer": "sgd", "learning_rate": 0.01})
    binary = validate({"task": "binary-10", "epochs": 4, "data": {"n_train": 200}})
    ids: dict[str, str] = {}

    def make(label, cfg, *, sweep=None, tags=None, name=None):
        (rid,) = store.create_runs([cfg], names=[name or label], sweep_id=sweep, tags=tags)
        ids[label] = rid
        return rid

    rid = make("adam", reg, sweep="sw-fake00001", tags=["knob:optimizer"])
    store.claim(rid, "w-test")
    store.record_start(rid, _info(reg))
    _epochs(store, rid, reg, 4, metric="mae")
    _finish(store, rid, "completed", reg)

    rid = make("sgd", sgd, sweep="sw-fake00001", tags=["knob:optimizer"])
    store.claim(rid, "w-test")
    store.record_start(rid, _info(sgd))
    _epochs(store, rid, sgd, 2, metric="mae")  # still running, half way

    make("queued", validate({**reg, "learning_rate": 0.5}))

    rid = make("failed", reg)
    store.claim(rid, "w-test")
    store.finish(
        rid,
        {
            "status": "failed",
            "error": "ValueError: something broke\nmore lines",
            "traceback": "Traceback (most recent call last):\n  ...\nValueError",
            "test": {},
            "predictions": {},
        },
    )

    hot = validate({**reg, "learning_rate": 5.0, "optimizer": "sgd"})
    rid = make("diverged", hot)
    store.claim(rid, "w-test")
    store.record_start(rid, _info(hot))
    _epochs(store, rid, hot, 3, metric="mae", nan_at=3)
    _finish(store, rid, "diverged", hot, diverged_at=7)

    for seed in (1, 2):
        cfg = validate({**binary, "seed": seed})
        rid = make(
            f"seed{seed}", cfg, sweep="sw-fake00002", name=f"binary · seed {seed}", tags=["seeds"]
        )
        store.claim(rid, "w-test")
        store.record_start(rid, _info(cfg))
        _epochs(store, rid, cfg, 4, metric="accuracy")
        _finish(store, rid, "completed", cfg)

    rid = make("cancelled", reg)
    store.claim(rid, "w-test")
    store.record_start(rid, _info(reg))
    _epochs(store, rid, reg, 1, metric="mae")
    _finish(store, rid, "cancelled", reg)
    return ids


def real_runs(path) -> list[str]:
    """Two genuinely trained tiny runs (adam vs sgd on regression) in one sweep."""
    from engine.store import StoreSink
    from engine.training.train import train

    store = RunStore(path)
    base = {"task": "regression", "epochs": 2, "data": {"n_train": 100, "n_test": 20}}
    configs = [validate({**base, "optimizer": o}) for o in ("adam", "sgd")]
    ids = store.create_runs(configs, names=["real adam", "real sgd"], sweep_id="sw-real00001")
    for rid, cfg in zip(ids, configs, strict=True):
        assert store.claim(rid, "w-real") is not None
        train(cfg, StoreSink(store, rid))
    return ids
