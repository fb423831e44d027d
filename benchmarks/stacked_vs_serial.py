"""The stacked fast path vs the same configs trained one after another by ``train()``.

Two scenarios (regression, 20 epochs, document defaults otherwise):
- ``four``: adam at 4 learning rates (the stack of one optimizer group);
- ``sixteen``: the issue's sweep, sgd / adam / rmsprop / adagrad × 4 learning rates
  (one stack of four optimizer groups).

Sides, alternated, several repeats, medians and spread, all in this warm process
(TensorFlow imported, a run already trained):
- ``serial``: ``train(config)`` for each config, one after another (a fresh trace each);
- ``serial_warm``: the same with a pre-warmed ``WarmCache`` (trace reuse: the runs of
  one optimizer share one traced model), what a warm worker does without stacking;
- ``stacked``: ``train_stacked(configs)``: one model, one graph, one trace.
Every side's final training loss per config is compared with the serial side's. They
agree to ~1e-5 except where training is chaotic: rmsprop at lr ≥ 1e-2 amplifies
last-bit float differences over its 500 updates to percent-level final losses, as the
plain path does against itself with ``TF_ENABLE_ONEDNN_OPTS=0`` (measured here: 2e-4
relative per-update loss difference after 100 updates, O(1) after 300, for both).

Ratio > 1 means stacking is faster. Run: ``.venv/bin/python benchmarks/stacked_vs_serial.py``.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import alternate, summary, write

REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "3"))
LRS = (1e-3, 3e-3, 1e-2, 3e-2)
BASE = {"task": "regression", "epochs": 20}
SCENARIOS = {
    "four": [{**BASE, "optimizer": "adam", "learning_rate": lr} for lr in LRS],
    "sixteen": [
        {**BASE, "optimizer": opt, "learning_rate": lr}
        for opt in ("sgd", "adam", "rmsprop", "adagrad")
        for lr in LRS
    ],
}


def _final_losses(results: list[dict]) -> list[float]:
    assert {r["status"] for r in results} == {"completed"}, [r.get("error") for r in results]
    return [r["history"]["loss"][-1] for r in results]


def measure(configs: list[dict]) -> dict:
    from engine.training.stacked import train_stacked
    from engine.training.train import train
    from engine.training.warm import WarmCache

    cache = WarmCache(capacity=len(configs))
    for c in configs:  # every graph the warm side needs is traced before timing
        train(c, warm=cache)

    def timed(fn):
        def side() -> dict:
            t = time.perf_counter()
            losses = _final_losses(fn())
            return {"s": time.perf_counter() - t, "losses": losses}

        return side

    res = alternate(
        {
            "serial": timed(lambda: [train(c) for c in configs]),
            "serial_warm": timed(lambda: [train(c, warm=cache) for c in configs]),
            "stacked": timed(lambda: train_stacked(configs)),
        },
        REPEATS,
    )
    s = {k: summary([r["s"] for r in v]) for k, v in res.items()}
    losses = {k: v[-1]["losses"] for k, v in res.items()}
    serial = losses["serial"]
    rel = {
        side: [abs(a - b) / abs(b) for a, b in zip(losses[side], serial, strict=True)]
        for side in ("serial_warm", "stacked")
    }
    return {
        "configs": len(configs),
        "seconds": s,
        "speedup_stacked_over_serial": s["serial"]["median"] / s["stacked"]["median"],
        "speedup_stacked_over_serial_warm": s["serial_warm"]["median"] / s["stacked"]["median"],
        "final_losses": losses,
        "rel_final_loss_difference_vs_serial": rel,
    }


def main() -> dict:
    from engine.training.train import train

    train(SCENARIOS["four"][0])  # warm this process: no side pays the import
    out = {name: measure(configs) for name, configs in SCENARIOS.items()}
    path = write(
        "stacked_vs_serial",
        {"cpu_count": os.cpu_count(), "repeats": REPEATS, "scenarios": out},
    )
    for name, r in out.items():
        for side, v in r["seconds"].items():
            print(
                f"{name:8} {side:12} median {v['median']:6.2f} s "
                f"(min {v['min']:.2f}, max {v['max']:.2f}, spread {v['spread_pct']:.0f}%)"
            )
        diffs = sorted(r["rel_final_loss_difference_vs_serial"]["stacked"])
        print(
            f"{name:8} stacked is {r['speedup_stacked_over_serial']:.1f}× serial, "
            f"{r['speedup_stacked_over_serial_warm']:.1f}× serial_warm; final losses vs "
            f"serial: median {diffs[len(diffs) // 2]:.0e}, max {diffs[-1]:.0e} relative"
        )
    print(f"written to {path}")
    return out


if __name__ == "__main__":
    main()
