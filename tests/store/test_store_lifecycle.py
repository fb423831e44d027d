"""engine/store/lifecycle.py: creating, the status machine, claiming, cancel and recovery."""

import itertools
import sqlite3

import pytest
from store_helpers import (
    CONFIG,
    epoch_record,
    info,
    result,
    run_in_state,
    table_counts,
    update_columns,
)

from engine.store import STATUSES, TERMINAL, TRANSITIONS, IllegalTransition

# ------------------------------------------------------------------ creation


def test_create_runs_queues_all_in_one_go(store):
    configs = [dict(CONFIG, learning_rate=lr) for lr in (0.1, 0.01, 0.001)]
    ids = store.create_runs(configs, names=["a", "b", "c"], sweep_id="sw1", tags=["cmp", "lr"])
    assert len(set(ids)) == 3
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)
    for run_id, cfg, name in zip(ids, configs, "abc", strict=True):
        run = store.get_run(run_id)
        assert run["status"] == "queued"
        assert run["config"] == cfg
        assert run["name"] == name
        assert run["tags"] == ["cmp", "lr"]
        assert run["sweep_id"] == "sw1"
        assert run["task"] == "binary-20"
        assert run["cancel_requested"] is False
        assert run["started"] is None and run["finished"] is None
        assert run["info"] is None and run["diagnosis"] is None


def test_default_names_are_readable_and_distinct(store):
    ids = store.create_runs([CONFIG, CONFIG])
    names = [store.get_run(i)["name"] for i in ids]
    assert names[0] != names[1]
    assert all(n.startswith("binary-20 adam lr=0.001") for n in names)
    (bare,) = store.create_runs([{}])
    assert store.get_run(bare)["name"] == f"run {bare}"


def test_config_round_trips_exactly(store):
    cfg = {
        "task": "multiclass-10",
        "optimizer": {"name": "adamw", "weight_decay": 1e-4},
        "schedule": {"name": "cosine_decay", "decay_steps": 2000, "alpha": 1e-5},
        "clipping": None,
        "metrics": ["accuracy", "top_k_categorical_accuracy"],
        "callbacks": {"early_stopping": {"patience": 5, "restore_best_weights": True}},
        "seed": 42,
    }
    (run_id,) = store.create_runs([cfg])
    assert store.get_run(run_id)["config"] == cfg
    assert store.claim_next("w") == (run_id, cfg)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"names": ["only one"]}, "names"),
        ({"names": ["ok", "x" * 201]}, "names[1]"),
        ({"names": ["ok", "two\nlines"]}, "names[1]"),
        ({"names": ["ok", "   "]}, "names[1]"),
        ({"tags": ["t"] * 0 + [f"t{i}" for i in range(51)]}, "tags"),
        ({"tags": ["x" * 51]}, "tags[0]"),
        ({"tags": "not-a-list"}, "tags"),
        ({"sweep_id": ""}, "sweep_id"),
    ],
)
def test_create_runs_validates_and_writes_nothing(store, kwargs, field):
    with pytest.raises(ValueError) as info_:
        store.create_runs([CONFIG, CONFIG], **kwargs)
    assert str(info_.value).startswith(field)
    assert store.list_runs() == []


def test_unserialisable_config_writes_nothing(store):
    with pytest.raises(ValueError, match=r"configs\[1\]"):
        store.create_runs([CONFIG, {"task": object()}])
    with pytest.raises(ValueError, match=r"configs\[0\]"):
        store.create_runs(["not a dict"])
    assert store.list_runs() == []
    assert store.create_runs([]) == []


# ------------------------------------------------------------------ status machine


ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition(store, src, dst):
    run_id = run_in_state(store, src)
    before = store.get_run(run_id)
    assert before["status"] == src
    legal = (src, dst) in {
        ("queued", "running"),
        ("queued", "cancelled"),
        *(("running", t) for t in TERMINAL),
    }
    assert legal == (dst in TRANSITIONS[src])
    if legal:
        store.set_status(run_id, dst, error="boom" if dst == "failed" else None)
        after = store.get_run(run_id)
        assert after["status"] == dst
        if dst == "running":
            assert after["started"] is not None
        else:
            assert after["finished"] is not None
        if dst == "failed":
            assert after["error"] == "boom"
    else:
        with pytest.raises(IllegalTransition) as e:
            store.set_status(run_id, dst, error="nope")
        assert run_id in str(e.value) and src in str(e.value)
        assert store.get_run(run_id) == before  # nothing written


def test_terminal_states_accept_no_data(store):
    for status in TERMINAL:
        run_id = run_in_state(store, status)
        with pytest.raises(IllegalTransition):
            store.append_epoch(run_id, epoch_record(1))
        with pytest.raises(IllegalTransition):
            store.append_updates(run_id, update_columns(1, 3))
        with pytest.raises(IllegalTransition):
            store.record_start(run_id, info())
        with pytest.raises(IllegalTransition):
            store.finish(run_id, result())
        assert table_counts(store.path, run_id) == {
            "runs": 1,
            "epoch_values": 0,
            "run_summary": 0,
            "updates": 0,
            "test_metrics": 0,
            "predictions": 0,
        }


def test_queued_run_cannot_take_data_or_finish(store):
    run_id = run_in_state(store, "queued")
    with pytest.raises(IllegalTransition, match="queued"):
        store.append_epoch(run_id, epoch_record(1))
    with pytest.raises(IllegalTransition, match="queued"):
        store.finish(run_id, result())
    assert store.get_run(run_id)["status"] == "queued"


def test_unknown_status_and_unknown_run(store):
    run_id = run_in_state(store, "queued")
    with pytest.raises(ValueError, match="status"):
        store.set_status(run_id, "paused")
    for call in (
        lambda: store.set_status("nosuchrun", "running"),
        lambda: store.get_run("nosuchrun"),
        lambda: store.claim("nosuchrun", "w"),
        lambda: store.cancel_requested("nosuchrun"),
        lambda: store.request_cancel("nosuchrun"),
        lambda: store.heartbeat("nosuchrun"),
        lambda: store.append_epoch("nosuchrun", epoch_record(1)),
        lambda: store.finish("nosuchrun", result()),
        lambda: store.rename("nosuchrun", "x"),
        lambda: store.epoch_series([run_id, "nosuchrun"]),
        lambda: store.update_series("nosuchrun"),
        lambda: store.test_metrics("nosuchrun"),
        lambda: store.predictions("nosuchrun"),
        lambda: store.export_csv(["nosuchrun"]),
        lambda: store.delete_runs([run_id, "nosuchrun"]),
    ):
        with pytest.raises(KeyError, match="nosuchrun"):
            call()
    assert store.get_run(run_id)["status"] == "queued"  # the failed delete removed nothing


def test_finish_requires_terminal_status(store):
    run_id = run_in_state(store, "running")
    for bad in ("running", "queued", None, "done"):
        with pytest.raises(ValueError, match=r"result\.status"):
            store.finish(run_id, result(status=bad))
    assert store.get_run(run_id)["status"] == "running"


# ------------------------------------------------------------------ claiming


def test_claim_next_is_fifo_and_records_the_worker(store):
    first = store.create_runs([dict(CONFIG, seed=1), dict(CONFIG, seed=2)])
    second = store.create_runs([dict(CONFIG, seed=3)])
    order = [*first, *second]
    got = []
    while (claimed := store.claim_next(f"w{len(got)}")) is not None:
        got.append(claimed)
    assert [g[0] for g in got] == order
    assert [g[1]["seed"] for g in got] == [1, 2, 3]
    for i, (run_id, _) in enumerate(got):
        run = store.get_run(run_id)
        assert run["status"] == "running" and run["worker_id"] == f"w{i}"
        assert run["heartbeat"] is not None
    assert store.claim_next("w") is None


def test_claim_next_skips_cancelled_and_specific_claim(store):
    a, b, c = store.create_runs([CONFIG] * 3)
    store.request_cancel(a)
    assert store.claim(c, "ray-1") == CONFIG
    assert store.claim(c, "ray-2") is None  # already taken: never two owners
    assert store.get_run(c)["worker_id"] == "ray-1"
    assert store.claim(a, "ray-3") is None  # cancelled
    assert store.claim_next("w")[0] == b
    assert store.claim_next("w") is None
    with pytest.raises(ValueError, match="worker_id"):
        store.claim_next("")


# ------------------------------------------------------------------ cancel / recover


def test_cancel_queued_vs_running(store):
    queued = run_in_state(store, "queued")
    running = run_in_state(store, "running")
    assert store.request_cancel(queued) == 1
    q = store.get_run(queued)
    assert q["status"] == "cancelled" and q["finished"] is not None
    assert store.request_cancel(running) == 1
    r = store.get_run(running)
    assert r["status"] == "running" and r["cancel_requested"] is True
    assert store.cancel_requested(running) is True
    assert store.request_cancel(running) == 0  # already flagged
    assert store.request_cancel(queued) == 0  # already cancelled
    # the worker notices, stops and reports; partial curves stay
    store.append_epoch(running, epoch_record(1))
    store.finish(running, result(status="cancelled", test={}, predictions=None))
    assert store.get_run(running)["status"] == "cancelled"
    assert store.epoch_series(running)[running]["loss"]["value"] == [1.0]


def test_cancel_by_sweep_and_all(store):
    sweep = store.create_runs([CONFIG] * 3, sweep_id="s1")
    other = store.create_runs([CONFIG] * 2, sweep_id="s2")
    store.claim(sweep[0], "w")
    done = run_in_state(store, "completed")
    assert store.request_cancel(sweep_id="s1") == 3
    assert [store.get_run(i)["status"] for i in sweep] == ["running", "cancelled", "cancelled"]
    assert all(store.get_run(i)["status"] == "queued" for i in other)
    assert store.request_cancel(all=True) == 2
    assert all(store.get_run(i)["status"] == "cancelled" for i in other)
    assert store.get_run(done)["status"] == "completed"
    assert store.get_run(done)["cancel_requested"] is False
    for bad in ({}, {"run_id": sweep[0], "all": True}, {"sweep_id": "s1", "all": True}):
        with pytest.raises(ValueError, match="exactly one"):
            store.request_cancel(**bad)


def test_recover_interrupted(store):
    running = [run_in_state(store, "running") for _ in range(2)]
    queued = run_in_state(store, "queued")
    done = run_in_state(store, "completed")
    assert sorted(store.recover_interrupted()) == sorted(running)
    for r in running:
        run = store.get_run(r)
        assert run["status"] == "interrupted"
        assert "interrupted" in run["error"] and run["finished"] is not None
    assert store.get_run(queued)["status"] == "queued"
    assert store.get_run(done)["status"] == "completed"
    assert store.recover_interrupted() == []
    assert store.claim_next("new-pool")[0] == queued  # queued work resumes


def test_recover_interrupted_only_stale(store):
    fresh = run_in_state(store, "running")
    stale = run_in_state(store, "running")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET heartbeat = heartbeat - 3600 WHERE id = ?", (stale,))
    assert store.recover_interrupted(stale_after=600) == [stale]
    assert store.get_run(fresh)["status"] == "running"
    store.heartbeat(fresh)
    assert store.get_run(fresh)["heartbeat"] >= store.get_run(fresh)["started"]
    with pytest.raises(IllegalTransition, match="interrupted"):
        store.heartbeat(stale)  # the zombie worker learns it should stop


def test_fail_run(store):
    run_id = run_in_state(store, "running")
    store.fail_run(run_id, "worker process exited with code -9 (out of memory?)")
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "-9" in run["error"]
    with pytest.raises(IllegalTransition):
        store.fail_run(run_id, "again")
