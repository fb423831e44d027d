"""Workers against a store in trouble, with real processes: the write lock held by
another process past the busy timeout (the retry runs and succeeds once released), a
store that turns read-only under ``engine worker`` (exit 2, no respawn loop), and a
disk that fills up while a run trains (that run fails with the reason, nothing
half-written, the pool serves on) -- issue 11, faults 2, 3 and 5."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from executor_helpers import TINY, assert_store_whole, poll

from engine.executor import LocalExecutor
from engine.store import RunStore
from tests.fs_helpers import fill, immutable, tmpfs
from tests.proc_helpers import LockHolder, serving_workers, time_to_exit, wait_for, workers_of

REPO = Path(__file__).resolve().parents[2]


def _worker_cli(store: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "worker", "--workers", "1", "--store", str(store),
         *extra],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


class _Lines:
    """A pipe read into a list by a thread, so a test can poll it with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


def test_worker_retries_a_store_locked_past_the_busy_timeout(tmp_path):
    store_path = tmp_path / "runs.db"
    store = RunStore(store_path)
    rid = store.create_run(TINY)
    proc = None
    try:
        with LockHolder(store_path) as holder:
            proc = _worker_cli(store_path, "--forever", env={"HPLAB_BUSY_TIMEOUT": "1"})
            err = _Lines(proc.stderr)
            wait_for(
                lambda: "cannot claim a run" in err.text() and "locked for 1 s" in err.text(),
                240,
                "the worker to hit the lock and take its retry path",
            )
            [worker] = workers_of(proc.pid)
            assert proc.poll() is None
            assert store.get_run(rid)["status"] == "queued"
            holder.release()
            t0 = time.monotonic()
        wait_for(lambda: store.get_run(rid)["status"] == "completed", 60, "the run to complete")
        recovered = time.monotonic() - t0
        print(f"\nlock released → queued run claimed and completed: {recovered:.2f} s")
        assert workers_of(proc.pid) == [worker]  # the same worker: it retried, never died
        assert "Traceback" not in err.text() and "ProgrammingError" not in err.text()
        proc.send_signal(signal.SIGTERM)
        time_to_exit(proc, 5)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert_store_whole(store)


def test_engine_worker_exits_2_when_its_store_turns_read_only(tmp_path):
    store_path = tmp_path / "runs.db"
    RunStore(store_path).create_run(TINY)
    proc = _worker_cli(store_path, "--forever")
    try:
        out = _Lines(proc.stdout)
        wait_for(lambda: "worker pool:" in out.text(), 60, "the pool to start")
        with immutable(store_path):  # before the worker (importing TensorFlow) opens it
            assert not serving_workers(proc.pid, store_path)
            took = time_to_exit(proc, 240)
            stderr = proc.stderr.read()
        print(f"\nstore made read-only → engine worker exited in {took:.1f} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 2, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == f"the run store is read-only: {store_path}", stderr[-2000:]
    assert "Traceback" not in stderr
    assert sum("read-only" in line for line in lines) <= 3  # one worker told it, not a loop


# Many per-update rows (250 updates an epoch) and thousands of epochs: fills the
# disk within seconds.
FILLS_DISK = {
    "task": "regression",
    "epochs": 1000,
    "batch_size": 8,
    "data": {"n_train": 2500, "n_test": 20},
}


def test_disk_filling_up_fails_the_training_run_and_the_pool_serves_on(tmp_path):
    with tmpfs(tmp_path / "mnt", "3m") as mnt:
        path = mnt / "runs.db"
        ex = LocalExecutor(path, workers=1).start()
        try:
            [rid] = ex.submit([FILLS_DISK])
            poll(lambda: ex.store.get_run(rid)["epochs_done"] >= 1, 240, "the run to train")
            ballast = fill(mnt, leave=300 * 1024)
            t_full = time.monotonic()
            poll(lambda: ex.store.get_run(rid)["status"] != "running", 120, "the run to stop")
            took = time.monotonic() - t_full
            run = ex.store.get_run(rid)
            assert run["status"] == "failed", run
            assert run["error"] == (
                f"the disk holding the run store is full: {path} (free some space and retry)"
            )
            epochs = run["epochs_done"]
            series = ex.store.epoch_series(rid, keys=["loss"], max_points=None)[rid]["loss"]
            assert series["epoch"] == list(range(1, epochs + 1))  # nothing half-written
            print(f"\ndisk filled → run failed with the reason after {took:.2f} s, {epochs} epochs")
            ballast.unlink()
            [later] = ex.submit([TINY])  # the same pool, the same worker
            assert ex.wait([later], timeout=120) == {later: "completed"}
            assert ex.deaths == []
            assert ex.store.integrity_check() == "ok"
        finally:
            ex.stop(timeout=10)
            ex.store.close()
