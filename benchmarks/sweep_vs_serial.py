"""A 16-config sweep (4 optimizers × 4 learning rates, regression, 20 epochs): the
engine's sweep on a warm 2-worker pool vs 16 plain ``model.fit`` scripts one after
another in this process (the documents' way: one script per setting).

Sides, alternated, several repeats, medians and spread:
- ``plain_fits``: ``benchmarks.one_run.plain_fit`` × 16 in this warm process;
- ``engine_sweep``: submit the 16 as one sweep to a warm pool (TensorFlow imported
  in each worker, as the dashboard keeps it) and wait until all are finished in the
  store, curves, test metrics and predictions included.

Ratio > 1 means the engine is faster. Run: ``.venv/bin/python benchmarks/sweep_vs_serial.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import alternate, summary, write
from benchmarks.one_run import plain_fit

WORKERS = 2
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "3"))
SWEEP = {
    "base": {"task": "regression", "epochs": 20},
    "grid": {
        "optimizer.name": ["sgd", "adam", "rmsprop", "adagrad"],
        "learning_rate": [1e-3, 3e-3, 1e-2, 3e-2],
    },
}


def main() -> dict:
    from engine.executor import LocalExecutor
    from engine.sweep import expand

    configs = [r["config"] for r in expand(SWEEP)]
    assert len(configs) == 16
    tmp = tempfile.mkdtemp(prefix="hplab-bench-")
    plain_fit(configs[0])  # warm this process: the plain side never pays the import

    def plain_fits() -> dict:
        t = time.perf_counter()
        losses = [plain_fit(c)["final_loss"] for c in configs]
        return {"s": time.perf_counter() - t, "losses": losses}

    pool = LocalExecutor(os.path.join(tmp, "sweep.db"), WORKERS).start()
    # Warm as the dashboard's pool is once it has served a run per worker.
    pool.wait(pool.submit([{"task": "regression", "epochs": 1}] * WORKERS))

    def engine_sweep() -> dict:
        t = time.time()
        ids = pool.submit(configs, sweep_id=f"bench-{time.monotonic_ns()}")
        statuses = pool.wait(ids)
        assert set(statuses.values()) <= {"completed", "diverged"}, statuses
        finished = max(pool.store.get_run(r)["finished"] for r in ids)
        series = pool.store.epoch_series(ids, keys=["loss"], max_points=None)
        return {"s": finished - t, "losses": [series[r]["loss"]["value"][-1] for r in ids]}

    try:
        res = alternate({"plain_fits": plain_fits, "engine_sweep": engine_sweep}, REPEATS)
    finally:
        pool.stop()
    s = {k: summary([r["s"] for r in v]) for k, v in res.items()}
    speedup = s["plain_fits"]["median"] / s["engine_sweep"]["median"]
    losses = {k: v[-1]["losses"] for k, v in res.items()}
    path = write(
        "sweep_vs_serial",
        {
            "configs": len(configs),
            "workers": WORKERS,
            "cpu_count": os.cpu_count(),
            "repeats": REPEATS,
            "seconds": s,
            "speedup_engine_over_plain": speedup,
            "final_losses": losses,
        },
    )
    for k, v in s.items():
        print(
            f"{k:13} median {v['median']:6.2f} s  (min {v['min']:.2f}, max {v['max']:.2f}, "
            f"spread {v['spread_pct']:.0f}%)"
        )
    print(f"engine sweep is {speedup:.1f}x faster than 16 plain fits (target >= 10x)")
    for i, c in enumerate(configs):
        print(
            f"  {c['optimizer']['name']:8} lr {c['learning_rate']:<6g} final loss "
            f"plain {losses['plain_fits'][i]:.4f}  engine {losses['engine_sweep'][i]:.4f}"
        )
    print(f"written to {path}")
    return {"speedup": speedup}


if __name__ == "__main__":  # spawn re-imports this module in each worker
    main()
