"""A study survives its processes: ``sweep --detach`` then ``engine worker`` runs it to
the end; a pool SIGKILLed mid-trial leaves its run to be recovered ``interrupted``
and a later ``engine worker`` retries that trial and asks the rest; a worker
SIGKILLed mid-trial fails its run as a grid run fails, and the study goes on with
its remaining budget. Real CLI processes, real training, real signals; every wait
is a poll with a deadline."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from engine.executor import get_executor
from engine.executor.worker import parse_worker_id, pid_alive
from engine.search import driver
from engine.search.report import report
from engine.search.space import parse_study
from engine.search.study import load
from engine.store import RunStore
from tests.proc_helpers import ROOT, engine_cli, ray_turn, time_to_exit, wait_for

# About 2-3 s a trial once a worker is warm: long enough to be killed mid-trial.
BASE = {"task": "regression", "epochs": 40, "data": {"n_train": 1000, "n_test": 32}}


def _study_file(tmp_path, trials: int):
    sweep = {
        "base": BASE,
        "space": {"learning_rate": {"choice": [0.01, 0.02, 0.03]}},
        "search": {"sampler": "grid", "trials": trials, "seed": 0},
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(sweep))
    return path


def _detach(tmp_path, trials: int):
    db = tmp_path / "runs.db"
    out = engine_cli(
        "sweep",
        _study_file(tmp_path, trials),
        "--detach",
        "--workers",
        "1",
        "--store",
        db,
        "--json",
    )
    assert out.returncode == 0, out.stderr
    sweep = json.loads(out.stdout)
    assert [r["status"] for r in sweep["runs"]] == ["queued"]  # one slot: one trial asked
    return db, sweep["sweep_id"]


def _worker(db) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "worker", "--workers", "1", "--store", str(db), "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the test can kill the whole pool
    )


def _training(store, sid):
    """The study's run that is mid-trial (running, one epoch written), if any."""
    for r in store.list_runs(sweep_id=sid, status="running"):
        if r["epochs_done"] >= 1:
            return r
    return None


def _trials(db, sid) -> dict[str, dict]:
    out = engine_cli("runs", "--sweep", sid, "--store", db, "--json")
    assert out.returncode == 0, out.stderr
    return {r["id"]: r for r in json.loads(out.stdout)["runs"]}


def test_a_pool_killed_mid_trial_is_resumed_by_a_later_worker(tmp_path):
    db, sid = _detach(tmp_path, trials=3)
    store = RunStore(db)
    pool = _worker(db)
    try:
        victim = wait_for(lambda: _training(store, sid), 240, "a trial mid-training")
        os.killpg(pool.pid, signal.SIGKILL)  # owner and worker at once, as on a power cut
        pool.wait(timeout=30)
        worker_pid = parse_worker_id(victim["worker_id"]).pid
        wait_for(lambda: not pid_alive(worker_pid), 30, "the killed worker to be gone")
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)
    assert store.get_run(victim["id"])["status"] == "running"  # nobody could record it
    assert not driver.finished(store, sid)

    out = engine_cli("worker", "--workers", "1", "--store", db, "--json", timeout=600)
    assert out.returncode == 0, out.stderr

    runs = {r["id"]: r for r in store.list_runs(sweep_id=sid)}
    killed = runs[victim["id"]]
    assert killed["status"] == "interrupted" and killed["epochs_done"] >= 1
    rec = load(store, sid)
    number = rec.trials[victim["id"]].number
    [retry] = [rid for rid, t in rec.trials.items() if t.number == number and rid != victim["id"]]
    # the retry trains the very config the interrupted run had: same trial, same values
    assert runs[retry]["config"] == killed["config"] and runs[retry]["status"] == "completed"
    assert rec.trials[retry].params == rec.trials[victim["id"]].params
    assert sorted({t.number for t in rec.trials.values()}) == [0, 1, 2]
    assert len(runs) == 4 and sorted(r["status"] for r in runs.values()) == [
        "completed", "completed", "completed", "interrupted",
    ]  # fmt: skip
    # the grid visited each of its three points once: the retry took no other point's place
    assert sorted(t.params["learning_rate"] for t in rec.trials.values()) == [
        0.01, 0.02, 0.03, rec.trials[retry].params["learning_rate"],
    ]  # fmt: skip
    assert driver.finished(store, sid)
    out = report(store, sid)
    assert out["trials"]["asked"] == 3 and out["trials"]["completed"] == 3
    listed = _trials(db, sid)
    assert listed[retry]["trial"]["number"] == listed[victim["id"]]["trial"]["number"] == number
    assert sorted(listed[retry]["trial"]["runs"]) == sorted([victim["id"], retry])


def test_a_worker_killed_mid_trial_fails_its_run_and_the_study_goes_on(tmp_path):
    db, sid = _detach(tmp_path, trials=2)
    store = RunStore(db)
    pool = _worker(db)
    try:
        victim = wait_for(lambda: _training(store, sid), 240, "a trial mid-training")
        os.kill(parse_worker_id(victim["worker_id"]).pid, signal.SIGKILL)  # the OOM killer
        # The pool replaces its worker, asks the next trial, and exits when the study is
        # done: no hang, no early exit.
        time_to_exit(pool, 300)
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)
    assert pool.returncode == 0, pool.stderr.read()
    killed = store.get_run(victim["id"])
    assert killed["status"] == "failed"  # as a grid run's: the trial's budget is spent
    assert "worker process died (signal 9 SIGKILL" in killed["error"]
    runs = store.list_runs(sweep_id=sid)
    rec = load(store, sid)
    assert sorted(t.number for t in rec.trials.values()) == [0, 1]
    assert [r["status"] for r in runs if r["id"] != victim["id"]] == ["completed"]
    assert driver.finished(store, sid)
    out = report(store, sid)
    assert out["trials"]["asked"] == 2 and out["trials"]["failed"] == 1


@pytest.mark.parametrize("backend", ["local", pytest.param("ray", marks=pytest.mark.ray)])
def test_a_lost_trial_tops_its_study_up_with_no_driver_waiting(tmp_path, backend):
    """Nothing but the pool serves the study (no ``driver.wait``, no ``engine worker``
    loop): the pool that sees a worker die asks the study's next trial itself."""
    path = tmp_path / "runs.db"
    store = RunStore(path)
    sid = "sw-lost"
    sweep = json.loads(_study_file(tmp_path, trials=2).read_text())
    driver.start(store, parse_study(sweep), sid, slots=1)
    with contextlib.ExitStack() as stack:
        if backend == "ray":
            ray = pytest.importorskip("ray")
            stack.enter_context(ray_turn())
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            stack.callback(ray.shutdown)
        ex = get_executor(backend, store_path=path, workers=1)
        ex.start()
        stack.callback(ex.stop, timeout=20)
        victim = wait_for(lambda: _training(store, sid), 240, "a trial mid-training")
        [pid] = [w["pid"] for w in ex.status()["workers"] if w["run_id"] == victim["id"]]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: driver.finished(store, sid), 300, "the study to finish by itself")
    assert store.get_run(victim["id"])["status"] == "failed"
    rec = load(store, sid)
    assert sorted(t.number for t in rec.trials.values()) == [0, 1]
    others = [r for r in store.list_runs(sweep_id=sid) if r["id"] != victim["id"]]
    assert [r["status"] for r in others] == ["completed"]
