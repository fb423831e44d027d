"""Warm workers: a worker reuses the graph it traced for the next run of the same
shape, and a pool can trace a config before any run arrives (the dashboard's
default). Exact equality of warm and fresh curves is proven in tests/engine."""

from __future__ import annotations

from executor_helpers import TINY, tiny

from engine.errors import ConfigError
from engine.executor import LocalExecutor


def test_a_worker_reuses_the_graph_of_its_previous_run(tmp_path):
    with LocalExecutor(tmp_path / "runs.db", 1) as ex:
        first, second, other = ex.submit(
            [TINY, tiny(seed=7, learning_rate=0.003), tiny(optimizer="sgd")]
        )
        assert set(ex.wait([first, second, other], timeout=180).values()) == {"completed"}
        info = {rid: ex.store.get_run(rid)["info"] for rid in (first, second, other)}
    assert info[first]["warm_graph"] is False
    assert info[second]["warm_graph"] is True  # another seed and rate, the same graph
    assert info[other]["warm_graph"] is False  # another optimizer is another graph


def test_prewarm_traces_before_the_first_run(tmp_path):
    with LocalExecutor(tmp_path / "runs.db", 1, prewarm=[TINY]) as ex:
        [rid] = ex.submit([tiny(seed=3)])
        assert ex.wait([rid], timeout=180) == {rid: "completed"}
        run = ex.store.get_run(rid)
        assert run["info"]["warm_graph"] is True
        # The prewarm left nothing in the store.
        assert [r["id"] for r in ex.store.list_runs()] == [rid]


def test_prewarm_configs_are_validated_up_front(tmp_path):
    try:
        LocalExecutor(tmp_path / "runs.db", 1, prewarm=[{"task": "regression", "epochs": 0}])
    except ConfigError as e:
        assert any("epochs" in f for f, _ in e.problems), e.problems
    else:
        raise AssertionError("a bad prewarm config was accepted")
