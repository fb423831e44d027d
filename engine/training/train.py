"""``train(config)``: the documents' compile → fit → evaluate → predict, recorded.

Fast path: NumPy data into tf.data, one ``tf.function`` call per epoch
(``steps_per_execution`` = batches per epoch), per-update values recorded in the
graph. A NaN loss stops the run; a cancel request is honoured between epochs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from engine.config import shape_of, validate
from engine.data import make_data
from engine.records import RunResult, RunSink, TrainResult
from engine.spec.tasks import TASKS
from engine.training import runtime
from engine.training.outcome import RunLog, run_info
from engine.training.warm import Compiled, WarmCache, copy_state, graph_key


def load_data(cfg: dict):
    """The run's (train, val, test) arrays, one-hot where the loss wants it."""
    import numpy as np

    from engine.keras_parts.build import onehot_labels

    task = TASKS[cfg["task"]]
    d = cfg["data"]
    train, val, test = make_data(
        task.id,
        cfg["seed"],
        d["n_train"],
        d["n_val"],
        d["n_test"],
        d["noise"],
        d["learnable"],
        cfg["validation_split"] or 0.0,
    )

    def encode(y):
        if task.multi_output:
            return {
                h.name: (
                    np.eye(h.n_classes, dtype=np.float32)[y[h.name]]
                    if onehot_labels(cfg, h.name)
                    else y[h.name]
                )
                for h in task.heads
            }
        h = task.heads[0]
        return np.eye(h.n_classes, dtype=np.float32)[y.reshape(-1)] if onehot_labels(cfg) else y

    return [None if s is None else (s[0], encode(s[1])) for s in (train, val, test)]


def _heads(task):
    return [(h.name, h.units, h.activation) for h in task.heads]


def train(
    config: dict[str, Any],
    sink: RunSink | None = None,
    should_stop: Callable[[], bool] | None = None,
    workdir: str | None = None,
    warm: WarmCache | None = None,
) -> TrainResult:
    """Train one run. Raises ConfigError on bad input (before any work); any other
    failure is reported as status ``failed`` in the returned result.

    ``warm``: reuse compiled models across runs of this process (workers pass
    ``engine.training.warm.CACHE``); the curves are identical either way."""
    cfg = validate(config)
    log = RunLog(cfg, sink, should_stop)
    own_dir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="hplab-run-")
    try:
        result = _train(cfg, log, workdir, warm)
    except Exception as exc:  # a run that raises is failed with its message
        if warm is not None:  # its model may be half-updated: never reuse it
            warm.evict(graph_key(cfg))
        result = log.failed(exc)
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    log.finish(result)
    return log.returned(result)


def _build(cfg: dict, task, *, recorder_steps: int | None = None) -> Compiled:
    """Model, schedule and built optimizer exactly as a fresh run starts with them;
    compiled (with its update recorder) when ``recorder_steps`` is given."""
    from engine.keras_parts import build
    from engine.keras_parts.models import build_model, hidden_layers
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.training.instrumented import InstrumentedModel, UpdateRecorder

    m = cfg["model"]
    layers = hidden_layers(task.layers, m["width"], m["depth"], m["dropout"])
    model = build_model(
        task.input_shape,
        layers,
        _heads(task),
        cfg["precision"],
        m["l2"],
        model_cls=InstrumentedModel,
    )
    k = cfg["grad_accum_steps"]
    schedule = UpdateSchedule(build.build_base_schedule(cfg), accum_steps=k)
    optimizer = build.build_optimizer(cfg, schedule)
    recorder = None
    if recorder_steps is not None:
        model.compile(
            optimizer=optimizer,
            **build.build_compile_args(cfg),
            steps_per_execution=recorder_steps,
            jit_compile=cfg["jit_compile"],
            run_eagerly=cfg["run_eagerly"],
        )
    # Built now (not lazily inside the first step) so the recorder can read the
    # gradient accumulators while tracing, and a warm model can copy the slots.
    optimizer.build(model.trainable_variables)
    if recorder_steps is not None:
        recorder = UpdateRecorder(recorder_steps + 1, k, cfg["clipping"])
        model.attach_recorder(recorder)
    return Compiled(model, optimizer, schedule, recorder)


def _train(cfg, log: RunLog, workdir, warm=None) -> RunResult:
    import keras

    from engine.spec.callbacks import plateau_args
    from engine.training.callbacks import ReduceLROnPlateau, RunRecorder
    from engine.training.evaluation import predictions
    from engine.training.pipeline import eval_dataset, train_dataset

    device = runtime.configure()
    key = graph_key(cfg) if warm is not None else None
    compiled = warm.get(key) if key is not None else None
    if compiled is None:
        runtime.isolate(cfg["seed"])
    else:
        runtime.reseed(cfg["seed"])
    task = TASKS[cfg["task"]]
    shape = shape_of(cfg)
    (x, y), val, test = load_data(cfg)
    bs = cfg["batch_size"]
    train_ds, steps = train_dataset(x, y, bs, cfg["seed"], cfg["epochs"])
    val_ds = eval_dataset(*val, bs) if val is not None else None

    if compiled is None:
        compiled = _build(cfg, task, recorder_steps=steps)
        if key is not None:
            warm.put(key, compiled)
    else:
        copy_state(compiled, _build(cfg, task))
    compiled.runs += 1
    model, optimizer, schedule, recorder = (
        compiled.model,
        compiled.optimizer,
        compiled.schedule,
        compiled.recorder,
    )
    inner = getattr(optimizer, "inner_optimizer", optimizer)

    def lr_now():
        return float(keras.ops.convert_to_numpy(schedule(inner._iterations)))

    rec_cb = RunRecorder(recorder, log, lr_now)
    callbacks = []
    cbs = cfg["callbacks"]
    plateau = None
    if "reduce_lr_on_plateau" in cbs:
        plateau = ReduceLROnPlateau(schedule, cfg["learning_rate"], **plateau_args(cbs))
        callbacks.append(plateau)
    if "early_stopping" in cbs:
        callbacks.append(keras.callbacks.EarlyStopping(**cbs["early_stopping"]))
    ckpt_path = None
    if "checkpoint" in cbs:
        ckpt_path = os.path.join(workdir, "best.weights.h5")
        callbacks.append(
            keras.callbacks.ModelCheckpoint(ckpt_path, save_weights_only=True, **cbs["checkpoint"])
        )
    callbacks.append(rec_cb)  # last: its epoch record then shows this epoch's plateau cut
    log.start(run_info(cfg, task, shape, model, device, y, val, warm_graph=compiled.runs > 1))
    model.fit(
        train_ds,
        epochs=cfg["epochs"],
        steps_per_epoch=steps,
        validation_data=val_ds,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )

    if ckpt_path and os.path.exists(ckpt_path) and log.status == "completed":
        model.load_weights(ckpt_path)

    test_metrics, preds = {}, {}
    if log.evaluates_test and test is not None:
        xt, yt = test
        tds = eval_dataset(xt, yt, bs)
        test_metrics = {
            k: float(v) for k, v in model.evaluate(tds, verbose=0, return_dict=True).items()
        }
        raw = model.predict(tds, verbose=0)
        preds = predictions(task, cfg, yt, raw)
    return log.result(
        test=test_metrics, predictions=preds, plateau_cuts=plateau.cuts if plateau else []
    )
