"""A sweep of 8 configs on a 2-worker pool vs the same 8 run one after another by
``train()`` in one warm process (the "no executor" baseline).

Three sides, alternated, medians reported:
- ``serial``: ``train(config)`` × 8 in this process (TensorFlow already imported);
- ``pool_cold``: start a ``LocalExecutor`` (spawn + TensorFlow import per worker),
  submit, wait, stop: what ``python -m engine sweep`` costs end to end;
- ``pool_warm``: submit + wait on a pool started once: what the dashboard sees.

Ratios < 1 mean the pool is faster. Run: ``.venv/bin/python benchmarks/sweep_vs_serial.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import alternate, summary, write

WORKERS = 2
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "3"))
SWEEP = {
    "base": {"task": "regression", "epochs": 10, "data": {"n_train": 1000, "n_test": 100}},
    "grid": {"optimizer.name": ["sgd", "adam"], "learning_rate": [1e-3, 3e-3, 1e-2, 3e-2]},
}


def main() -> None:
    from engine.executor import LocalExecutor
    from engine.sweep import expand
    from engine.training.train import train

    configs = [r["config"] for r in expand(SWEEP)]
    assert len(configs) == 8
    tmp = tempfile.mkdtemp(prefix="hplab-bench-")
    train(configs[0])  # warm this process: the serial side never pays the import

    def serial() -> dict:
        t = time.perf_counter()
        statuses = [train(c)["status"] for c in configs]
        assert set(statuses) == {"completed"}, statuses
        return {"s": time.perf_counter() - t}

    counter = [0]

    def pool_cold() -> dict:
        counter[0] += 1
        t = time.perf_counter()
        with LocalExecutor(os.path.join(tmp, f"cold{counter[0]}.db"), WORKERS) as ex:
            statuses = ex.wait(ex.submit(configs))
        assert set(statuses.values()) == {"completed"}, statuses
        return {"s": time.perf_counter() - t}

    warm = LocalExecutor(os.path.join(tmp, "warm.db"), WORKERS).start()
    warm.wait(warm.submit(configs[:WORKERS]))  # both workers have imported TF and trained

    def pool_warm() -> dict:
        t = time.perf_counter()
        statuses = warm.wait(warm.submit(configs))
        assert set(statuses.values()) == {"completed"}, statuses
        return {"s": time.perf_counter() - t}

    try:
        res = alternate({"serial": serial, "pool_cold": pool_cold, "pool_warm": pool_warm}, REPEATS)
    finally:
        warm.stop()
    s = {k: summary([r["s"] for r in v]) for k, v in res.items()}
    ratios = {
        "pool_cold_over_serial": s["pool_cold"]["median"] / s["serial"]["median"],
        "pool_warm_over_serial": s["pool_warm"]["median"] / s["serial"]["median"],
    }
    path = write(
        "sweep_vs_serial",
        {
            "configs": len(configs),
            "workers": WORKERS,
            "cpu_count": os.cpu_count(),
            "repeats": REPEATS,
            "seconds": s,
            "ratios": ratios,
        },
    )
    for k, v in s.items():
        print(f"{k:10} median {v['median']:6.2f} s  (min {v['min']:.2f}, max {v['max']:.2f})")
    print(f"ratio pool_cold / serial: {ratios['pool_cold_over_serial']:.2f}")
    print(f"ratio pool_warm / serial: {ratios['pool_warm_over_serial']:.2f}")
    print(f"written to {path}")


if __name__ == "__main__":  # spawn re-imports this module in each worker
    main()
