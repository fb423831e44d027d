"""A tiny real study for the study view's tests: a grid over a learning rate that
trains, one that crawls and one that diverges (SGD at 10), on two batch sizes, with
the median pruner. With one worker and seed 0 its six trials end 3 completed, 1
pruned at epoch 1 and 2 diverged (one at epoch 1, with no finite value at all), in
about ten seconds of real training."""

from __future__ import annotations

from engine.executor import get_executor
from engine.search import driver
from engine.search.space import parse_study
from engine.store import RunStore

SWEEP = {
    "base": {
        "task": "regression",
        "data": {"n_train": 128, "n_test": 32},
        "epochs": 3,
        "optimizer": "sgd",
    },
    "space": {
        "learning_rate": {"choice": [0.01, 1e-7, 10.0]},
        "batch_size": {"choice": [32, 64]},
    },
    "search": {
        "sampler": "grid",
        "trials": 6,
        "seed": 0,
        "pruner": {"name": "median", "n_startup_trials": 1},
    },
    "name": "tiny",
}


def queue(store: RunStore, study_id: str, sweep: dict | None = None) -> None:
    """Store the study and queue its first trial (nothing trains yet)."""
    driver.start(store, parse_study(sweep or SWEEP), study_id, slots=1)


def train(path, *study_ids: str, timeout: float = 600, backend: str = "local") -> None:
    """Serve the queued studies on a one-worker pool until each has finished (one worker:
    a study's trials run one after the other, so a designed pruning holds)."""
    store = RunStore(path)
    ex = get_executor(backend, store_path=path, workers=1)
    ex.start()
    try:
        for sid in study_ids:
            assert driver.wait(store, sid, slots=1, timeout=timeout), sid
    finally:
        ex.stop(timeout=20)


def train_grid(path, configs: list[dict], sweep_id: str, timeout: float = 600) -> list[str]:
    """A plain grid trained to the end on a one-worker pool, in launch order; its ids."""
    ex = get_executor("local", store_path=path, workers=1)
    ex.start()
    try:
        ids = ex.submit(configs, sweep_id=sweep_id)
        statuses = ex.wait(ids, timeout=timeout)
    finally:
        ex.stop(timeout=20)
    assert set(statuses.values()) == {"completed"}, statuses
    return ids


def run_study(path, study_id: str, sweep: dict | None = None) -> RunStore:
    store = RunStore(path)
    queue(store, study_id, sweep)
    train(path, study_id)
    return store


def check_pruned_study(store: RunStore, study_id: str, rule: str, epochs: int = 3) -> None:
    """A pruner study of 4 learning rates (the good one first) pruned hopeless trials:
    each stopped where the rule said, its partial curve kept, the report agreeing."""
    from engine.search.report import report

    runs = store.list_runs(sweep_id=study_id)
    assert len(runs) == 4
    assert runs[0]["config"]["learning_rate"] == 0.01 and runs[0]["status"] == "completed"
    pruned = [r for r in runs if r["status"] == "pruned"]
    assert pruned, [(r["status"], r["epochs_done"]) for r in runs]
    for r in pruned:
        info = r["result"]["pruned"]
        assert info["rule"] == rule and 1 <= info["epoch"] < epochs
        assert r["epochs_done"] == info["epoch"]  # not one epoch more: the curve it had
        assert len(store.epoch_series(r["id"])[r["id"]]["val_loss"].value) == info["epoch"]
        assert info["reason"].startswith(f"pruned at epoch {info['epoch']} by {rule}: val_loss")
    out = report(store, study_id)
    assert out["pruning"]["pruned"] == len(pruned)
    assert out["pruning"]["epochs_saved"] == sum(epochs - r["epochs_done"] for r in pruned)
    assert out["best"]["params"] == {"learning_rate": 0.01}
