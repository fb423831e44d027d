"""ms/epoch: the engine's fast path vs the documents' plain ``model.fit`` on NumPy.

Same model (MLP 10-64-32-1), same data (regression, 800 training examples after
the 0.2 validation split), batch 32, Adam, MSE, 20 epochs, in one warm process.
Steady-state ms/epoch excludes the first (tracing) epoch; wall time includes it.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import alternate, summary, write

EPOCHS = 20
CONFIG = {"task": "regression", "epochs": EPOCHS, "seed": 42}


def plain_fit() -> dict:
    """The document's own code path (Keras 3 spelling)."""
    import keras
    import numpy as np

    from engine.data import make_data

    keras.utils.set_random_seed(42)
    (x, y), _, _ = make_data("regression", 42, 1000, 0, 200)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    t0 = time.perf_counter()
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h = model.fit(
        x, y, epochs=EPOCHS, batch_size=32, validation_split=0.2, verbose=0, callbacks=[Timer()]
    )
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "ms_epoch": 1000 * statistics.median(times[1:]),
        "final_loss": float(h.history["loss"][-1]),
        "first_epoch": times[0],
        "np": np.__version__,
    }


def engine_run() -> dict:
    from engine.training.train import train

    t0 = time.perf_counter()
    r = train(CONFIG)
    wall = time.perf_counter() - t0
    et = r["history"]["epoch_time"]
    return {
        "wall": wall,
        "ms_epoch": 1000 * statistics.median(et[1:]),
        "final_loss": r["history"]["loss"][-1],
        "first_epoch": et[0],
    }


def main(repeats: int = 5) -> dict:
    from engine.training import runtime

    runtime.configure()
    engine_run()  # warm the process once, as a worker is
    plain_fit()
    res = alternate({"plain_fit": plain_fit, "engine": engine_run}, repeats)
    out = {}
    for side, runs in res.items():
        out[side] = {
            k: summary([r[k] for r in runs])
            for k in ("ms_epoch", "wall", "final_loss", "first_epoch")
        }
    ratio_epoch = out["engine"]["ms_epoch"]["median"] / out["plain_fit"]["ms_epoch"]["median"]
    ratio_wall = out["engine"]["wall"]["median"] / out["plain_fit"]["wall"]["median"]
    payload = {
        "config": CONFIG,
        "repeats": repeats,
        "sides": out,
        "ratio_ms_epoch_engine_over_fit": ratio_epoch,
        "ratio_wall_engine_over_fit": ratio_wall,
    }
    path = write("engine_vs_fit", payload)
    for side in ("plain_fit", "engine"):
        s = out[side]
        print(
            f"{side:>10}: {s['ms_epoch']['median']:.1f} ms/epoch "
            f"(spread {s['ms_epoch']['spread_pct']:.0f}%), wall {s['wall']['median']:.2f} s, "
            f"first epoch {s['first_epoch']['median']:.2f} s, "
            f"final loss {s['final_loss']['median']:.4f}"
        )
    print(f"ratio engine/fit: ms/epoch {ratio_epoch:.3f}, wall {ratio_wall:.3f}  -> {path}")
    return payload


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
