"""Run reuse and fair queueing with real worker processes.

A lesson launched again is not trained again (its runs are finished copies), launches
of one lesson queued at once train each config once, and a small launch queued behind
a big one is not starved. Reuse is honest only because the same config and seed train
the same curves on CPU: the first test checks exactly that.
"""

from __future__ import annotations

import pytest
from executor_helpers import tiny

from engine.executor import LocalExecutor

WAIT = 240
TIMINGS = ("epoch_time", "wall_time", "examples_per_sec")  # the clock, not the run
LESSON = [tiny(learning_rate=lr) for lr in (0.001, 0.01, 0.1)]


@pytest.fixture
def pool(tmp_path):
    ex = LocalExecutor(tmp_path / "runs.db", workers=2).start()
    yield ex
    ex.stop(timeout=20)


def _curves(store, run_id: str) -> dict:
    series = store.epoch_series(run_id, max_points=None)[run_id]
    return {k: list(v["value"]) for k, v in series.items() if k not in TIMINGS}


def _trained(store) -> list:
    """Runs a worker trained (a copy never has a worker)."""
    return [r for r in store.list_runs() if r["worker_id"]]


def test_same_config_and_seed_train_the_same_curves(pool):
    a = pool.submit([LESSON[1]], sweep_id="first")
    b = pool.submit([LESSON[1]], sweep_id="second", reuse=False)
    assert set(pool.wait(a + b, timeout=WAIT).values()) == {"completed"}
    assert _curves(pool.store, a[0]) == _curves(pool.store, b[0])
    assert pool.store.test_metrics(a[0]) == pool.store.test_metrics(b[0])
    assert len(_trained(pool.store)) == 2  # reuse=False trained it again


def test_a_relaunched_lesson_is_reused_not_trained(pool):
    first = pool.submit(LESSON, sweep_id="one", reuse=True)
    assert set(pool.wait(first, timeout=WAIT).values()) == {"completed"}
    again = pool.submit(LESSON, sweep_id="two", reuse=True)
    runs = [pool.store.get_run(r) for r in again]
    assert [r["status"] for r in runs] == ["completed"] * 3  # at once, no wait
    assert [r["reused_from"] for r in runs] == first
    assert all(r["sweep_id"] == "two" for r in runs)
    for src, copy in zip(first, again, strict=True):
        assert _curves(pool.store, copy) == _curves(pool.store, src)
    assert len(_trained(pool.store)) == 3


def test_launches_queued_together_train_each_config_once(pool):
    launches = [pool.submit(LESSON, sweep_id=f"s{i}", reuse=True) for i in range(4)]
    ids = [r for ids in launches for r in ids]
    assert set(pool.wait(ids, timeout=WAIT).values()) == {"completed"}
    assert len(_trained(pool.store)) == 3
    for ids in launches[1:]:
        for src, copy in zip(launches[0], ids, strict=True):
            assert pool.store.get_run(copy)["reused_from"] == src
            assert _curves(pool.store, copy) == _curves(pool.store, src)
    assert pool.store.integrity_check() == "ok"


def test_a_small_launch_is_not_starved_by_a_big_one(tmp_path):
    ex = LocalExecutor(tmp_path / "runs.db", workers=2)
    # Both launches are queued before any worker claims: a first-come pool would give
    # both workers the big launch's runs and start the small one last.
    big = ex.submit([tiny(seed=s, epochs=4) for s in range(12)], sweep_id="big")
    (small,) = ex.submit([tiny(seed=99)], sweep_id="small")
    ex.start()
    try:
        assert set(ex.wait([*big, small], timeout=WAIT).values()) == {"completed"}
        started = {r["id"]: r["started"] for r in ex.store.list_runs()}
        assert started[small] < max(started[b] for b in big), "the small launch waited"
    finally:
        ex.stop(timeout=20)
