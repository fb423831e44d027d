"""The expected duration shown before launch against a run's measured wall time.

``engine.run_cost.estimate(cfg).seconds`` is what Set up runs shows next to Launch
(issue 11: a 480,000-update run is allowed but says how long it will take). A worker
has TensorFlow imported before it takes a run, so each config here trains in one
warm process (after one warm-up run) and the wall time of ``train(cfg)`` is what
is compared: estimate / measured per config, and their spread. The machine's load
is printed; on a loaded machine every run is slower and the ratios fall together.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import write
from engine import run_cost
from engine.config import validate

CONFIGS = {
    "regression (document defaults)": {"task": "regression"},
    "regression, 40 epochs, batch 8": {"task": "regression", "epochs": 40, "batch_size": 8},
    "regression, 200 epochs, batch 256": {
        "task": "regression",
        "epochs": 200,
        "batch_size": 256,
    },
    "regression-10, width ×8, depth 4": {
        "task": "regression-10",
        "model": {"width": 8, "depth": 4},
        "epochs": 5,
    },
    "multiclass-10, 5 epochs": {"task": "multiclass-10", "epochs": 5},
    "multiclass-10, 20k examples, batch 64": {
        "task": "multiclass-10",
        "data": {"n_train": 20_000},
        "batch_size": 64,
        "epochs": 2,
    },
    "binary-10, width ×4, depth 3": {
        "task": "binary-10",
        "model": {"width": 4, "depth": 3},
        "epochs": 5,
    },
    "multi-output, 10 epochs": {"task": "multi-output", "epochs": 10},
    "sequence (document defaults)": {"task": "sequence", "epochs": 3},
    "sequence, batch 16": {"task": "sequence", "batch_size": 16, "epochs": 2},
    "sequence, width ×2, batch 128": {
        "task": "sequence",
        "model": {"width": 2},
        "batch_size": 128,
        "epochs": 2,
    },
}


def fit(rows: list[dict]) -> dict[str, float]:
    """Non-negative least squares on relative error (each run weighs the same, short or
    long): the coefficients to put into ``run_cost.SECONDS_PER``."""
    import numpy as np

    keys = list(run_cost.SECONDS_PER)
    a = np.array([[r["parts"][k] / r["measured_seconds"] for k in keys] for r in rows])
    b = np.ones(len(rows))
    active = list(range(len(keys)))
    while True:  # drop a negative coefficient and refit (tiny NNLS, no SciPy needed)
        coef, *_ = np.linalg.lstsq(a[:, active], b, rcond=None)
        if (coef >= 0).all():
            break
        del active[int(np.argmin(coef))]
    out = dict.fromkeys(keys, 0.0)
    for i, c in zip(active, coef, strict=True):
        out[keys[i]] = float(c)
    return out


def main() -> None:
    from engine.training.train import train

    train(validate({"task": "regression", "epochs": 1}))  # warm: imports, first trace
    rows = []
    for name, raw in CONFIGS.items():
        cfg = validate(raw)
        est = run_cost.estimate(cfg)
        t0 = time.perf_counter()
        result = train(cfg)
        took = time.perf_counter() - t0
        rows.append(
            {
                "config": name,
                "updates": est.updates,
                "status": result["status"],
                "measured_seconds": round(took, 2),
                "estimate_seconds": round(est.seconds, 2),
                "ratio": round(est.seconds / took, 3),
                "parts": est.time_parts,
            }
        )
        print(
            f"{name:45s} {est.updates:7d} updates  measured {took:6.1f} s  "
            f"estimate {est.seconds:6.1f} s  ×{est.seconds / took:.2f}",
            flush=True,
        )
    fitted = fit(rows)
    print("fitted SECONDS_PER:", {k: float(f"{v:.3g}") for k, v in fitted.items()})
    refit = [
        sum(fitted[k] * v for k, v in r["parts"].items()) / r["measured_seconds"] for r in rows
    ]
    print(f"with them, estimate / measured: {min(refit):.2f}–{max(refit):.2f}")
    ratios = [r["ratio"] for r in rows]
    load = os.getloadavg()
    print(
        f"estimate / measured: {min(ratios):.2f}–{max(ratios):.2f} "
        f"(median {statistics.median(ratios):.2f}); load {load[0]:.1f}"
    )
    write(
        "duration_estimate",
        {
            "note": "train(cfg) wall time in one warm process vs run_cost.estimate(cfg).seconds",
            "load_average": [round(x, 2) for x in load],
            "rows": rows,
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "ratio_median": statistics.median(ratios),
            "fitted_seconds_per": fitted,
            "fitted_ratio_range": [min(refit), max(refit)],
        },
    )


if __name__ == "__main__":
    main()
