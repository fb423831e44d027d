"""One run, per task: the engine in a warm worker vs the documents' plain ``model.fit``.

For each of regression, binary-20, sequence and multiclass-10 (their document
defaults), three sides alternate, several repeats each:

- ``plain_fit``: the documents' script in this process: build, compile, ``model.fit``
  on NumPy arrays (batch after batch, one Python step each), evaluate on the test set;
- ``engine``: submit to a warm 1-worker pool (TensorFlow imported, this config's
  graph already traced: a person re-running a comparison with another seed or
  learning rate) and wait for the run to be finished in the store, test set and
  predictions included;
- ``engine_new_graph``: the same, but each repeat changes ``n_test`` so the
  worker meets a graph it has not traced (a new model shape or optimizer).

The engine sides are timed from submit to the run's ``finished`` stamp in the store,
so they include queueing, recording every update and storing the curves.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import alternate, summary, write

TASKS = ("regression", "binary-20", "sequence", "multiclass-10")
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "5"))
SEED = 42
N_TEST = itertools.count(201)


def plain_fit(config: dict) -> dict:
    """The documents' code path for ``config``: same data, model, loss, optimizer."""
    import keras

    from engine.config import validate
    from engine.keras_parts import build
    from engine.keras_parts.models import build_model, hidden_layers
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.spec.tasks import TASKS as CATALOG
    from engine.training.callbacks import ReduceLROnPlateau
    from engine.training.train import load_data

    t0 = time.perf_counter()
    cfg = validate(config)
    task = CATALOG[cfg["task"]]
    keras.utils.set_random_seed(cfg["seed"])
    (x, y), val, test = load_data(cfg)
    m = cfg["model"]
    model = build_model(
        task.input_shape,
        hidden_layers(task.layers, m["width"], m["depth"], m["dropout"]),
        [(h.name, h.units, h.activation) for h in task.heads],
        cfg["precision"],
        m["l2"],
    )
    # The run's schedule as the documents pass it (a schedule object in the optimizer);
    # reduce-LR-on-plateau as the engine's callback, since Keras's own refuses to
    # change a scheduled rate.
    schedule = UpdateSchedule(build.build_base_schedule(cfg), accum_steps=cfg["grad_accum_steps"])
    optimizer = build.build_optimizer(cfg, schedule)
    model.compile(optimizer=optimizer, **build.build_compile_args(cfg))
    cbs = cfg["callbacks"]
    callbacks = []
    if "early_stopping" in cbs:
        callbacks.append(keras.callbacks.EarlyStopping(**cbs["early_stopping"]))
    if "reduce_lr_on_plateau" in cbs:
        plateau = cbs["reduce_lr_on_plateau"]
        callbacks.append(ReduceLROnPlateau(schedule, cfg["learning_rate"], **plateau))
    h = model.fit(
        x,
        y,
        batch_size=cfg["batch_size"],
        epochs=cfg["epochs"],
        validation_data=val,
        callbacks=callbacks,
        verbose=0,
    )
    model.evaluate(*test, verbose=0)
    return {
        "s": time.perf_counter() - t0,
        "final_loss": float(h.history["loss"][-1]),
        "epochs": len(h.history["loss"]),
    }


def main() -> dict:
    from engine.executor import LocalExecutor

    tmp = tempfile.mkdtemp(prefix="hplab-bench-")
    ex = LocalExecutor(os.path.join(tmp, "one_run.db"), 1).start()
    results: dict[str, dict] = {}
    try:
        for task in TASKS:
            config = {"task": task, "seed": SEED}
            ex.wait(ex.submit([config]))  # warm: TF imported and this graph traced
            plain_fit(config)  # warm this process likewise

            def engine(cfg=config) -> dict:
                return _engine(ex, cfg)

            def engine_new_graph(cfg=config) -> dict:
                n_test = next(N_TEST)  # in the graph key, nearly free to train
                return _engine(ex, {**cfg, "data": {"n_test": n_test}})

            res = alternate(
                {
                    "plain_fit": lambda cfg=config: plain_fit(cfg),
                    "engine": engine,
                    "engine_new_graph": engine_new_graph,
                },
                REPEATS,
            )
            s = {k: summary([r["s"] for r in v]) for k, v in res.items()}
            losses = {k: summary([r["final_loss"] for r in v]) for k, v in res.items()}
            epochs = {k: summary([r["epochs"] for r in v]) for k, v in res.items()}
            results[task] = {
                "seconds": s,
                "final_loss": losses,
                "epochs": epochs,
                "ratio_engine_over_fit": s["engine"]["median"] / s["plain_fit"]["median"],
                "ratio_new_graph_over_fit": s["engine_new_graph"]["median"]
                / s["plain_fit"]["median"],
            }
            r = results[task]
            print(
                f"{task:>14}: engine/fit {r['ratio_engine_over_fit']:.2f} "
                f"(spread {s['engine']['spread_pct']:.0f}% / {s['plain_fit']['spread_pct']:.0f}%), "
                f"new graph/fit {r['ratio_new_graph_over_fit']:.2f}; final loss engine "
                f"{losses['engine']['median']:.4f} vs fit {losses['plain_fit']['median']:.4f}",
                flush=True,
            )
    finally:
        ex.stop()
    path = write("one_run", {"repeats": REPEATS, "workers": 1, "tasks": results})
    print(f"written to {path}")
    return results


def _engine(ex, config: dict) -> dict:
    t = time.time()
    (rid,) = ex.submit([config])
    status = ex.wait([rid])[rid]
    assert status == "completed", status
    run = ex.store.get_run(rid)
    loss = ex.store.epoch_series(rid, keys=["loss"], max_points=None)[rid]["loss"]["value"][-1]
    return {
        "s": run["finished"] - t,
        "final_loss": loss,
        "epochs": run["epochs_done"],
        "queued": run["started"] - t,
    }


if __name__ == "__main__":  # spawn re-imports this module in each worker
    main()
