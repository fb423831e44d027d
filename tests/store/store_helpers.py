"""Records shaped like engine/records.py, run-state setup, and spawned-process entry points.

Entry points live in a module (not a test file) so ``spawn`` children can import them.
"""

from __future__ import annotations

import math
import sqlite3

from engine.store import RunStore

CONFIG = {"task": "binary-20", "optimizer": "adam", "learning_rate": 0.001, "epochs": 3}
METRIC_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")
EXTRAS = ("lr", "epoch_time", "examples_per_sec", "wall_time", "updates")


def info(**kw):
    d = {
        "steps_per_epoch": 25,
        "updates_per_epoch": 25,
        "total_updates": 75,
        "n_train": 800,
        "n_val": 200,
        "n_test": 200,
        "device": "CPU",
        "precision": "float32",
        "logged": list(METRIC_KEYS),
    }
    d.update(kw)
    return d


def epoch_record(epoch, *, loss=None, val_loss=None, acc=None, updates_per_epoch=25, **values):
    vals = {
        "loss": 1.0 / epoch if loss is None else loss,
        "val_loss": 1.1 / epoch if val_loss is None else val_loss,
        "accuracy": 0.5 + 0.1 * epoch if acc is None else acc,
        "val_accuracy": 0.45 + 0.1 * epoch,
    }
    vals.update(values)
    return {
        "epoch": epoch,
        "values": vals,
        "lr": 0.001 / epoch,
        "epoch_time": 0.5,
        "examples_per_sec": 1600.0,
        "wall_time": 0.5 * epoch,
        "updates": epoch * updates_per_epoch,
    }


def update_columns(start, n, *, epoch=1, loss=None):
    ups = list(range(start, start + n))
    return {
        "update": ups,
        "epoch": [epoch] * n,
        "loss": [1.0 / u for u in ups] if loss is None else list(loss),
        "lr": [0.001] * n,
        "grad_norm": [0.5 + (u % 7) for u in ups],
        "clipped": [u % 7 == 6 for u in ups],
    }


def result(status="completed", **kw):
    d = {
        "status": status,
        "error": None,
        "diverged_at": None,
        "epochs_run": 3,
        "best_epoch": 3,
        "test": {"loss": 0.3, "accuracy": 0.9},
        "predictions": {"y_true": [0, 1, 1], "y_pred": [0.1, 0.8, 0.6]},
        "duration": 1.5,
    }
    d.update(kw)
    return d


def run_in_state(store: RunStore, status: str, config=None) -> str:
    """A fresh run driven through legal moves into ``status``."""
    (run_id,) = store.create_runs([config or CONFIG])
    if status == "queued":
        return run_id
    if status == "cancelled":
        store.request_cancel(run_id)
        return run_id
    assert store.claim(run_id, "w-setup") is not None
    if status != "running":
        store.set_status(run_id, status)
    return run_id


def table_counts(path, run_id=None) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for t in ("runs", "epoch_values", "run_summary", "updates", "test_metrics", "predictions"):
            col = "id" if t == "runs" else "run_id"
            if run_id is None:
                out[t] = conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            else:
                q = f"SELECT COUNT(*) FROM {t} WHERE {col} = ?"
                out[t] = conn.execute(q, (run_id,)).fetchone()[0]
        return out
    finally:
        conn.close()


def same(a, b) -> bool:
    """Equality that treats NaN as equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


# ----------------------------------------------------------- spawned-process entry points


def claim_worker(path_or_store, worker_id, barrier, queue):
    try:
        store = path_or_store if isinstance(path_or_store, RunStore) else RunStore(path_or_store)
        barrier.wait(timeout=60)
        got = []
        while (claimed := store.claim_next(worker_id)) is not None:
            got.append(claimed[0])
        queue.put((worker_id, got, None))
    except BaseException as e:  # report, never hang the parent
        queue.put((worker_id, [], repr(e)))


def open_and_create_worker(path, barrier, queue, n):
    try:
        barrier.wait(timeout=60)
        store = RunStore(path)
        queue.put((store.create_runs([CONFIG] * n), None))
    except BaseException as e:
        queue.put(([], repr(e)))


def writer_worker(path, run_id, n_epochs, batch, go, halfway, resume):
    """Writes a whole run, pausing at half way until the parent has seen partial data."""
    store = RunStore(path)
    assert store.claim(run_id, "writer") is not None
    if not go.wait(timeout=120):
        raise TimeoutError("parent never said go")
    store.record_start(run_id, info())
    for e in range(1, n_epochs + 1):
        store.append_updates(run_id, update_columns((e - 1) * batch + 1, batch, epoch=e))
        store.append_epoch(run_id, epoch_record(e, updates_per_epoch=batch))
        if e == n_epochs // 2:
            halfway.set()
            if not resume.wait(timeout=120):
                raise TimeoutError("parent never resumed the writer")
    store.finish(run_id, result(epochs_run=n_epochs))
