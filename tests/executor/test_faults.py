"""Faults of the local pool: the pool's owner killed mid-sweep, an orphaned worker, a
stop with runs in flight (a worker killed mid-run is in the behaviour suite, for every
backend). Real processes and real signals; the store must stay whole."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import types

import executor_helpers
from executor_helpers import SLOW, TINY, assert_store_whole, epochs_of, poll

from engine.executor import LocalExecutor
from engine.executor.worker import (
    INTERRUPTED_BY_OWNER,
    INTERRUPTED_BY_STOP,
    parse_worker_id,
    pid_alive,
)
from engine.store import RunStore


def _spawn_owner(store_path, configs, sweep_id):
    ctx = multiprocessing.get_context("spawn")
    owner = ctx.Process(target=executor_helpers.own_pool, args=(str(store_path), configs, sweep_id))
    owner.start()
    return owner


def test_owner_killed_mid_sweep_then_restart_recovers(tmp_path):
    path = tmp_path / "runs.db"
    configs = [SLOW, SLOW, TINY, TINY, TINY]
    owner = _spawn_owner(path, configs, "sw-owner")
    try:
        store = RunStore(path)

        def two_training():
            assert owner.is_alive(), f"the owner died by itself (exit {owner.exitcode})"
            runs = store.list_runs(sweep_id="sw-owner")
            busy = [r for r in runs if r["status"] == "running" and r["epochs_done"] >= 1]
            return busy if len(busy) == 2 else None

        busy = poll(two_training, 180, "the owner's pool to train two runs")
        workers = [parse_worker_id(r["worker_id"]).pid for r in busy]
        os.kill(owner.pid, signal.SIGKILL)
        for pid in workers:  # the whole pool dies at once, as on a power cut
            os.kill(pid, signal.SIGKILL)
        owner.join(10)
        poll(lambda: not any(pid_alive(p) for p in workers), 30, "the workers to be gone")
    finally:
        if owner.is_alive():
            owner.kill()
    left_running = {r["id"] for r in busy}
    queued = [r["id"] for r in store.list_runs(status="queued")]
    assert len(queued) == 3

    with LocalExecutor(path, workers=2) as ex:
        # Recovery happens in start(), before any worker could claim anything.
        for rid in left_running:
            run = ex.store.get_run(rid)
            assert run["status"] == "interrupted", run["status"]
            assert "interrupted" in run["error"]
        assert set(ex.wait(queued, timeout=180).values()) == {"completed"}
    runs = store.list_runs(sweep_id="sw-owner")
    assert len(runs) == len(configs)  # no run lost
    assert sorted(r["status"] for r in runs) == ["completed"] * 3 + ["interrupted"] * 2
    for rid in left_running:
        assert len(epochs_of(store, rid)) >= 1  # the partial curves survive
    assert_store_whole(store)


def test_orphaned_worker_stops_its_run_and_exits(tmp_path):
    path = tmp_path / "runs.db"
    owner = _spawn_owner(path, [SLOW], "sw-orphan")
    try:
        store = RunStore(path)

        def training():
            assert owner.is_alive(), f"the owner died by itself (exit {owner.exitcode})"
            runs = store.list_runs(sweep_id="sw-orphan")
            return runs if runs and runs[0]["epochs_done"] >= 1 else None

        [run] = poll(training, 180, "the owner's pool to train")
        worker = parse_worker_id(run["worker_id"]).pid
        os.kill(owner.pid, signal.SIGKILL)
        owner.join(10)
        # Nobody tells the worker: it notices its parent is gone by itself.
        poll(lambda: not pid_alive(worker), 30, "the orphaned worker to exit")
    finally:
        if owner.is_alive():
            owner.kill()
    run = store.get_run(run["id"])
    assert run["status"] == "interrupted"
    assert run["error"] == INTERRUPTED_BY_OWNER
    assert len(epochs_of(store, run["id"])) == run["epochs_done"] >= 1
    assert_store_whole(store)


def test_stop_interrupts_running_runs_and_leaves_queued_ones(tmp_path):
    # Nobody cancelled the run: the pool stopping under it is an interruption, with
    # its partial curve kept (the dashboard's server stopping takes this path).
    ex = LocalExecutor(tmp_path / "runs.db", workers=1).start()
    slow, later = ex.submit([SLOW, TINY])
    poll(lambda: ex.store.get_run(slow)["epochs_done"] >= 1, 120, "the slow run's epoch")
    pids = [w["pid"] for w in ex.status()["workers"]]
    ex.stop(timeout=30)
    stopped = ex.store.get_run(slow)
    assert stopped["status"] == "interrupted"
    assert stopped["error"] == INTERRUPTED_BY_STOP
    assert len(epochs_of(ex.store, slow)) == stopped["epochs_done"] >= 1
    assert ex.store.get_run(later)["status"] == "queued"
    assert not any(pid_alive(p) for p in pids)
    # The queued run is served by the next pool.
    with LocalExecutor(tmp_path / "runs.db", workers=1) as ex2:
        assert ex2.wait([later], timeout=120) == {later: "completed"}


def test_workers_never_run_the_parents_main_script(tmp_path, monkeypatch):
    # Streamlit installs the page script as ``__main__``; ``spawn`` would re-run it in
    # every worker (and a page that starts a pool would start one per worker).
    marker = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('page ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    with LocalExecutor(tmp_path / "runs.db", workers=1) as ex:
        [rid] = ex.submit([TINY])
        statuses = ex.wait([rid], timeout=60)
        assert sys.modules["__main__"] is fake_main
    assert not marker.exists()
    assert ex.deaths == []
    assert statuses == {rid: "completed"}
