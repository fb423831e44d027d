"""A worker that dies while idle (SIGKILL, as the out-of-memory killer sends) must
never freeze its pool's owner: it is noticed, replaced, and the owner still queues
runs and stops on SIGTERM within seconds. Real ``engine worker`` processes and real
signals (issue 11, fault 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from executor_helpers import TINY

from engine.executor import priority
from engine.store import RunStore
from tests.proc_helpers import children, running, serving_workers, time_to_exit, wait_for

REPO = Path(__file__).resolve().parents[2]
STOP_LIMIT = 5.0


def test_idle_worker_sigkilled_is_replaced_and_owner_stops_on_sigterm(tmp_path):
    store_path = tmp_path / "runs.db"
    RunStore(store_path).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "worker", "--forever", "--workers", "2",
         "--store", str(store_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        idle = wait_for(
            lambda: (
                len(serving_workers(proc.pid, store_path)) == 2
                and serving_workers(proc.pid, store_path)
            ),
            240,
            "both workers to reach their serving loop",
        )
        victim, other = idle
        # Background work: both run ``priority.WORKER`` steps below their owner.
        own = os.getpriority(os.PRIO_PROCESS, proc.pid)
        assert {os.getpriority(os.PRIO_PROCESS, w) for w in idle} == {
            min(19, own + priority.WORKER)
        }
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(
            lambda: [w for w in serving_workers(proc.pid, store_path) if w not in idle],
            120,
            "a replacement worker serving",
        )
        t_replaced = time.monotonic() - t_kill
        # The owner's queue still works: a run queued now is trained by the pool.
        store = RunStore(store_path)
        rid = store.create_run(TINY)
        wait_for(lambda: store.get_run(rid)["status"] == "completed", 120, "the run to complete")
        assert victim not in children(proc.pid)  # reaped, not left a zombie
        t_sig = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        took = time_to_exit(proc, STOP_LIMIT)
        print(
            f"\nidle worker SIGKILLed → replacement serving {t_replaced:.2f} s;"
            f" SIGTERM → owner exited {took:.2f} s"
        )
        assert time.monotonic() - t_sig <= STOP_LIMIT + 0.5
        _, stderr = proc.communicate(timeout=10)
        assert "Traceback" not in stderr, stderr[-2000:]
        wait_for(
            lambda: not any(running(p) for p in [other, *replaced]),
            STOP_LIMIT,
            "every worker to be gone",
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
