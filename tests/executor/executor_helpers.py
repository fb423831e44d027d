"""Configs, a deadline poll, and the spawned "pool owner" entry point for the executor tests.

Entry points live in a module (not a test file) so ``spawn`` children can import them.
"""

from __future__ import annotations

import threading
import time

TINY = {"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}}
# Long enough to be cancelled or killed mid-run, never to finish within a test.
SLOW = {"task": "regression", "epochs": 1000, "data": {"n_train": 2000}}


def tiny(**kw):
    return {**TINY, **kw}


def poll(fn, timeout: float, what: str, interval: float = 0.05):
    """Call ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def epochs_of(store, run_id: str, key: str = "loss") -> list[int]:
    return (
        store.epoch_series(run_id, keys=[key], max_points=None)[run_id]
        .get(key, {})
        .get("epoch", [])
    )


def own_pool(store_path: str, configs: list, sweep_id: str, workers: int = 2) -> None:
    """A process that owns a pool mid-sweep, to be SIGKILLed by the test."""
    from engine.executor import LocalExecutor

    ex = LocalExecutor(store_path, workers).start()
    ex.submit(configs, sweep_id=sweep_id)
    threading.Event().wait()
