"""Run reuse (schema v3): a launch whose validated config and seed match a finished run
gets a copy of that run instead of training it again; one matching a queued or running
run waits for it. And fair claiming: queued runs are taken round-robin over launches."""

from __future__ import annotations

import pytest
from store_helpers import CONFIG, epoch_record, info, result, table_counts, update_columns

from engine.store import RunStore
from engine.store.reuse import config_key


def _finish(store: RunStore, run_id: str, status: str = "completed") -> None:
    assert store.claim(run_id, "w") is not None
    store.record_start(run_id, info())
    store.append_epochs(run_id, [epoch_record(e) for e in (1, 2, 3)])
    store.append_updates(run_id, update_columns(1, 75))
    store.finish(run_id, result(status=status))


def test_the_key_is_the_canonical_config_seed_included():
    assert config_key({"a": 1, "b": [1, 2]}) == config_key({"b": [1, 2], "a": 1})
    assert config_key(dict(CONFIG, seed=1)) != config_key(dict(CONFIG, seed=2))
    assert len(config_key(CONFIG)) == 64


def test_every_run_stores_its_key(store):
    (a,) = store.create_runs([CONFIG])
    assert store.get_run(a)["config_key"] == config_key(CONFIG)
    assert store.get_run(a)["reused_from"] is None


@pytest.mark.parametrize("status", ["completed", "diverged"])
def test_a_finished_identical_run_is_copied_not_queued(store, status):
    (first,) = store.create_runs([CONFIG], names=["first"])
    _finish(store, first, status)
    (again,) = store.create_runs([CONFIG], names=["again"], sweep_id="sw2", reuse=True)
    run = store.get_run(again)
    assert run["status"] == status and run["reused_from"] == first
    assert run["sweep_id"] == "sw2" and run["name"] == "again"
    assert run["finished"] is not None and run["info"]["reused_from"]["name"] == "first"
    counts = table_counts(store.path, again)
    assert counts == table_counts(store.path, first)
    assert store.test_metrics(again) == store.test_metrics(first)
    assert store.epoch_series(again)[again] == store.epoch_series(first)[first]
    assert store.claim_next("w") is None  # nothing to train
    store.delete_runs([first])  # the copy keeps its curves
    assert table_counts(store.path, again)["epoch_values"] > 0
    assert store.get_run(again)["reused_from"] is None


@pytest.mark.parametrize("status", ["failed", "cancelled", "interrupted", "pruned"])
def test_runs_that_did_not_finish_are_not_reused(store, status):
    (first,) = store.create_runs([CONFIG])
    if status == "cancelled":
        store.request_cancel(first)
    else:
        store.claim(first, "w")
        store.set_status(first, status)
    (again,) = store.create_runs([CONFIG], reuse=True)
    assert store.get_run(again)["status"] == "queued"
    assert store.get_run(again)["reused_from"] is None
    assert store.claim_next("w")[0] == again


def test_without_reuse_an_identical_run_trains_again(store):
    (first,) = store.create_runs([CONFIG])
    _finish(store, first)
    (fresh,) = store.create_runs([CONFIG], reuse=False)
    assert store.get_run(fresh)["status"] == "queued"
    assert store.claim_next("w")[0] == fresh


def test_a_different_seed_is_a_different_run(store):
    (first,) = store.create_runs([CONFIG])
    _finish(store, first)
    (other,) = store.create_runs([dict(CONFIG, seed=7)], reuse=True)
    assert store.get_run(other)["status"] == "queued"


def test_an_identical_queued_run_is_waited_for_then_shared(store):
    (leader,) = store.create_runs([CONFIG], names=["leader"], sweep_id="a")
    f1, f2 = store.create_runs([CONFIG, CONFIG], sweep_id="b", reuse=True)
    for f in (f1, f2):
        assert store.get_run(f)["status"] == "queued"
        assert store.get_run(f)["reused_from"] == leader
    assert store.claim_next("w")[0] == leader
    assert store.claim_next("w2") is None  # the followers wait, nobody trains them
    store.record_start(leader, info())
    store.append_epochs(leader, [epoch_record(e) for e in (1, 2, 3)])
    store.finish(leader, result())
    for f in (f1, f2):
        run = store.get_run(f)
        assert run["status"] == "completed" and run["epochs_done"] == 3
        assert store.test_metrics(f) == store.test_metrics(leader)


def test_followers_of_a_failed_run_train_once_themselves(store):
    (leader,) = store.create_runs([CONFIG], sweep_id="a")
    f1, f2 = store.create_runs([CONFIG], sweep_id="b", reuse=True) + store.create_runs(
        [CONFIG], sweep_id="c", reuse=True
    )
    store.claim_next("w")
    store.fail_run(leader, "worker died")
    got = store.claim_next("w")[0]
    assert got == f1 and store.get_run(f1)["reused_from"] is None
    assert store.claim_next("w2") is None  # f2 now waits for f1
    assert store.get_run(f2)["reused_from"] == f1


def test_cancelling_a_waiting_leader_lets_a_follower_train(store):
    store.create_runs([CONFIG], sweep_id="a")
    (f,) = store.create_runs([CONFIG], sweep_id="b", reuse=True)
    store.request_cancel(sweep_id="a")
    assert store.claim_next("w")[0] == f


def test_deleting_a_waiting_leader_lets_one_follower_train(store):
    (leader,) = store.create_runs([CONFIG], sweep_id="a")
    (f1,) = store.create_runs([CONFIG], sweep_id="b", reuse=True)
    (f2,) = store.create_runs([CONFIG], sweep_id="c", reuse=True)
    store.delete_runs([leader])
    assert store.get_run(f2)["reused_from"] == f1
    assert store.claim(f2, "ray") is None  # waits for f1
    assert store.claim(f1, "ray") is not None


def test_a_specific_claim_refuses_a_waiting_follower(store):
    store.create_runs([CONFIG], sweep_id="a")
    (f,) = store.create_runs([CONFIG], sweep_id="b", reuse=True)
    assert store.claim(f, "ray") is None
    assert store.get_run(f)["status"] == "queued"


def test_identical_configs_in_one_launch_train_once(store):
    a, b = store.create_runs([CONFIG, CONFIG], sweep_id="a", reuse=True)
    assert store.get_run(b)["reused_from"] == a
    assert store.claim_next("w")[0] == a and store.claim_next("w") is None


# ------------------------------------------------------------------ fair claiming


def test_claiming_interleaves_launches(store):
    big = store.create_runs([dict(CONFIG, seed=s) for s in range(30)], sweep_id="big")
    (small,) = store.create_runs([dict(CONFIG, seed=99)], sweep_id="small")
    third = store.create_runs([dict(CONFIG, seed=s) for s in (100, 101)], sweep_id="third")
    order = [store.claim_next(f"w{i}")[0] for i in range(3)]
    assert order == [big[0], small, third[0]]


def test_a_finished_launch_slot_goes_round_robin(store):
    a = store.create_runs([dict(CONFIG, seed=s) for s in range(5)], sweep_id="a")
    b = store.create_runs([dict(CONFIG, seed=s) for s in range(10, 15)], sweep_id="b")
    c = store.create_runs([dict(CONFIG, seed=s) for s in range(20, 25)], sweep_id="c")
    got = []
    for _ in range(6):  # one worker: claim, finish, claim ...
        run_id = store.claim_next("w")[0]
        got.append(run_id)
        store.finish(run_id, result())
    assert got == [a[0], b[0], c[0], a[1], b[1], c[1]]
