"""One behaviour suite for every executor backend: the dashboard must not care which
one trains its runs. Real spawned workers (or Ray actors), real Keras, a real store."""

from __future__ import annotations

import math
import os
import signal
import threading
import time

import pytest
from executor_helpers import SLOW, TINY, assert_store_whole, epochs_of, poll, tiny

from engine.errors import ConfigError
from engine.store import TERMINAL, RunStore

KILL_TO_FAILED_LIMIT = 5.0


def _running_with_epochs(store, run_id, n=1):
    run = store.get_run(run_id)
    return run["status"] == "running" and run["epochs_done"] >= n


def test_submit_and_wait_completes_with_every_epoch_row(make_executor):
    ex = make_executor(workers=1)
    [rid] = ex.submit([TINY], names=["tiny"], tags=["t1"])
    assert ex.wait([rid], timeout=120) == {rid: "completed"}
    run = ex.store.get_run(rid)
    assert run["name"] == "tiny" and run["tags"] == ["t1"]
    assert run["error"] is None and run["epochs_done"] == 3
    for key in ("loss", "val_loss", "mae", "val_mae", "lr"):
        assert epochs_of(ex.store, rid, key) == [1, 2, 3], key
    updates = ex.store.update_series(rid, max_points=None)
    assert updates["update"] == list(range(1, run["info"]["total_updates"] + 1))
    assert set(ex.store.test_metrics(rid)) >= {"loss", "mae"}
    # The stored config is the canonical one: it reproduces the run.
    assert run["config"]["optimizer"]["name"] == "adam"
    assert run["config"]["data"]["n_train"] == 200


def test_eight_runs_on_two_workers_keep_every_row(make_executor):
    ex = make_executor(workers=2)
    ids = ex.submit([tiny(seed=s) for s in range(8)])
    assert set(ex.wait(ids, timeout=240).values()) == {"completed"}
    runs = {r["id"]: r for r in ex.store.list_runs()}
    for rid in ids:
        assert epochs_of(ex.store, rid) == [1, 2, 3]
        assert (
            len(ex.store.update_series(rid, max_points=None)["update"])
            == (runs[rid]["info"]["total_updates"])
        )
    # Both workers served runs: the pool really runs two at a time.
    assert len({runs[r]["worker_id"] for r in ids}) == 2
    assert ex.store.integrity_check() == "ok"


def test_first_run_starts_quickly_on_a_warm_pool(make_executor):
    ex = make_executor(workers=1)
    ex.wait(ex.submit([TINY]), timeout=120)  # the worker is warm once it trained a run
    t0 = time.monotonic()
    [rid] = ex.submit([TINY])
    poll(lambda: ex.store.get_run(rid)["status"] != "queued", 10, "the run to start")
    latency = time.monotonic() - t0
    assert latency < 3.0, f"queued for {latency:.2f} s on an idle warm pool"
    ex.wait([rid], timeout=120)


def test_status_reports_workers_and_the_run_each_trains(make_executor, backend):
    ex = make_executor(workers=2)
    st = ex.status()
    assert st["backend"] == backend
    assert len(st["workers"]) == 2 and all(w["alive"] for w in st["workers"])
    assert st["busy"] == 0 and st["queued"] == 0
    [rid] = ex.submit([SLOW])
    poll(lambda: _running_with_epochs(ex.store, rid), 120, "the slow run's first epoch")
    st = ex.status()
    assert [w["run_id"] for w in st["workers"] if w["run_id"]] == [rid]
    assert (st["busy"], st["idle"], st["queued"]) == (1, 1, 0)
    poll(
        lambda: all(isinstance(w["pid"], int) for w in ex.status()["workers"]),
        60,
        "every worker's pid",
    )
    ex.cancel(rid)
    assert ex.wait([rid], timeout=60)[rid] == "cancelled"
    assert poll(lambda: ex.status()["busy"] == 0, 10, "the worker to become idle")


def test_cancel_mid_run_keeps_partial_rows(make_executor):
    ex = make_executor(workers=1)
    [rid] = ex.submit([SLOW])
    # Live records: epochs reach the store while the run is still training.
    poll(lambda: _running_with_epochs(ex.store, rid, 2), 120, "two live epochs")
    assert ex.cancel(rid) == 1
    assert ex.wait([rid], timeout=60) == {rid: "cancelled"}
    run = ex.store.get_run(rid)
    epochs = epochs_of(ex.store, rid)
    assert 2 <= len(epochs) < 1000
    assert epochs == list(range(1, run["epochs_done"] + 1))
    assert run["cancel_requested"] is True
    assert ex.cancel(rid) == 0  # a finished run is not counted again


def test_cancel_a_whole_sweep(make_executor):
    ex = make_executor(workers=2)
    ids = ex.submit([SLOW] * 4, sweep_id="sw-cancel")
    # Local workers train a sweep's share as one stack (all 4 may run); Ray one each.
    poll(
        lambda: sum(_running_with_epochs(ex.store, r) for r in ids) >= 2,
        120,
        "two sweep runs training",
    )
    training = [r for r in ids if _running_with_epochs(ex.store, r)]
    assert ex.cancel(sweep_id="sw-cancel") == 4
    assert set(ex.wait(ids, timeout=60).values()) == {"cancelled"}
    # Cancelling keeps what the runs had trained.
    assert all(epochs_of(ex.store, r) for r in training)
    # The pool is free again: a run outside the sweep still trains.
    [other] = ex.submit([TINY])
    assert ex.wait([other], timeout=120) == {other: "completed"}


def test_readers_see_consistent_live_data_while_workers_write(make_executor):
    ex = make_executor(workers=2)
    # Long enough (a second or more, even on a warm graph) for Ray's record replay,
    # every 0.2 s, to show a run mid-training.
    epochs = 30
    cfg = {"task": "regression", "epochs": epochs, "data": {"n_train": 2000, "n_test": 20}}
    ids = ex.submit([{**cfg, "seed": s} for s in range(2)])
    errors, reads, partial = [], [0], set()
    done = threading.Event()

    def reader():
        store = RunStore(ex.store_path)  # readers have their own connections
        last_seen: dict[str, int] = {}
        try:
            while not done.is_set():
                for run in store.list_runs():
                    rid, n = run["id"], run["epochs_done"]
                    series = store.epoch_series(rid, keys=["loss"])[rid]
                    got = series.get("loss", {}).get("epoch", [])
                    # Never less than the summary said a moment ago, never a gap.
                    assert got == list(range(1, len(got) + 1)), got
                    assert len(got) >= n, (len(got), n)
                    assert n >= last_seen.get(rid, 0)
                    last_seen[rid] = n
                    if run["status"] == "running" and 0 < n < epochs:
                        partial.add(rid)
                    store.update_series(rid)
                    reads[0] += 1
                done.wait(0.02)  # a fast dashboard's pace, not a tight loop hogging the GIL
        except Exception as e:  # reported to the test thread
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        statuses = ex.wait(ids, timeout=240)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert set(statuses.values()) == {"completed"}
    assert partial, "the readers never saw a run mid-training"
    assert reads[0] > 20
    for rid in ids:
        assert epochs_of(ex.store, rid) == list(range(1, epochs + 1))
    assert ex.store.integrity_check() == "ok"


def test_a_run_that_fails_in_training_is_failed_with_its_message(make_executor, tmp_path):
    # A real failure past validation: the checkpoint callback must write under the
    # run's work folder, whose parent is a plain file.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    ex = make_executor(workers=1, workdir=blocker)
    cfg = tiny(callbacks={"checkpoint": {"monitor": "val_loss"}})
    ids = ex.submit([cfg, TINY])
    statuses = ex.wait(ids, timeout=120)
    assert statuses == {ids[0]: "failed", ids[1]: "completed"}
    err = ex.store.get_run(ids[0])["error"]
    assert "NotADirectoryError" in err and "not-a-folder" in err


def test_a_diverging_run_is_diverged_with_its_curve(make_executor):
    ex = make_executor(workers=1)
    [rid] = ex.submit([tiny(optimizer="sgd", learning_rate=10.0)])
    assert ex.wait([rid], timeout=120) == {rid: "diverged"}
    run = ex.store.get_run(rid)
    assert run["result"]["diverged_at"] >= 1
    losses = ex.store.update_series(rid, max_points=None)["loss"]
    assert losses and not math.isfinite(losses[-1])  # the NaN/inf that ended it is kept


def test_submit_validates_every_config_before_queueing_any(make_executor):
    ex = make_executor(start=False)
    bad = tiny(learning_rate=50)
    with pytest.raises(ConfigError) as e:
        ex.submit([TINY, bad, tiny(optimizer={"name": "sgd", "momentum": 1.5})])
    assert e.value.fields == ["configs[1].learning_rate", "configs[2].optimizer.momentum"]
    assert ex.store.list_runs() == []
    with pytest.raises(ConfigError, match="names"):
        ex.submit([TINY], names=["a", "b"])
    assert ex.store.list_runs() == []


def test_wait_returns_current_statuses_at_its_deadline(make_executor):
    ex = make_executor(start=False)  # nobody serves the queue
    [rid] = ex.submit([TINY])
    t0 = time.monotonic()
    assert ex.wait([rid], timeout=0.3) == {rid: "queued"}
    assert time.monotonic() - t0 >= 0.3
    assert ex.cancel(rid) == 1
    assert ex.wait(rid) == {rid: "cancelled"}
    assert ex.store.get_run(rid)["status"] in TERMINAL


def test_a_killed_worker_fails_only_its_run_and_is_replaced(
    make_executor, backend, record_property
):
    ex = make_executor(workers=2)
    [slow] = ex.submit([SLOW])
    poll(lambda: _running_with_epochs(ex.store, slow), 120, "the slow run's first epoch")
    others = ex.submit([TINY] * 3)
    st = ex.status()
    [victim] = [w["pid"] for w in st["workers"] if w["run_id"] == slow]
    before = {w["pid"] for w in st["workers"]}

    os.kill(victim, signal.SIGKILL)  # what the out-of-memory killer does
    t0 = time.monotonic()
    poll(lambda: ex.store.get_run(slow)["status"] == "failed", 30, "the run to fail")
    took = time.monotonic() - t0
    record_property("sigkill_to_failed_s", round(took, 3))
    print(f"\n[{backend}] SIGKILL -> failed in {took:.3f} s")
    assert took < KILL_TO_FAILED_LIMIT

    run = ex.store.get_run(slow)
    if backend == "local":
        assert "worker process died (signal 9 SIGKILL" in run["error"]
    else:
        assert run["error"].startswith("Ray worker died")
    assert len(epochs_of(ex.store, slow)) == run["epochs_done"] >= 1  # partial rows kept
    assert set(ex.wait(others, timeout=180).values()) == {"completed"}
    assert [d["runs"] for d in ex.deaths] == [[slow]]

    # Replaced: two live workers again, one of them new, and both take runs.
    def replaced():
        st = ex.status()
        pids = {w["pid"] for w in st["workers"] if w["alive"]}
        return pids if len(pids) == 2 and None not in pids and victim not in pids else None

    now = poll(replaced, 60, "the replacement worker")
    assert len(now - before) == 1
    pair = ex.submit([SLOW, SLOW])
    poll(
        lambda: all(_running_with_epochs(ex.store, r) for r in pair),
        120,
        "both workers training at once",
    )
    ex.cancel(all=True)
    assert set(ex.wait(pair, timeout=60).values()) == {"cancelled"}
    assert_store_whole(ex.store)
