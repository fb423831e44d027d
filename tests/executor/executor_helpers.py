"""Configs, a deadline poll, and the spawned "pool owner" entry point for the executor tests.

Entry points live in a module (not a test file) so ``spawn`` children can import them.
"""

from __future__ import annotations

import threading

from tests.proc_helpers import wait_for

TINY = {"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}}
# Long enough to be cancelled or killed mid-run, never to finish within a test.
SLOW = {"task": "regression", "epochs": 1000, "data": {"n_train": 2000}}


def tiny(**kw):
    return {**TINY, **kw}


poll = wait_for  # the executor tests' name for the one poll-with-a-deadline


def epochs_of(store, run_id: str, key: str = "loss") -> list[int]:
    return (
        store.epoch_series(run_id, keys=[key], max_points=None)[run_id]
        .get(key, {})
        .get("epoch", [])
    )


def assert_store_whole(store, completed_epochs: int = 3) -> None:
    """Integrity check passes and no epoch row is missing from any run."""
    assert store.integrity_check() == "ok"
    for run in store.list_runs():
        epochs = epochs_of(store, run["id"])
        assert epochs == list(range(1, run["epochs_done"] + 1)), run["id"]
        if run["status"] == "completed":
            assert run["epochs_done"] == completed_epochs


def own_pool(store_path: str, configs: list, sweep_id: str, workers: int = 2) -> None:
    """A process that owns a pool mid-sweep, to be SIGKILLed by the test."""
    from engine.executor import LocalExecutor

    ex = LocalExecutor(store_path, workers).start()
    ex.submit(configs, sweep_id=sweep_id)
    threading.Event().wait()
