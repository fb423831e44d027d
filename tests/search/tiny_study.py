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
