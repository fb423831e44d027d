"""``LocalExecutor``: a pool of spawned worker processes around the run store.

The store is the queue: ``submit`` writes queued runs in one transaction and the
workers claim them, so the UI process never trains and never blocks, queued runs
survive a restart, and several pools (the dashboard's, a ``python -m engine worker``
in a terminal) can serve one store. The pool's own job is the part the store cannot
do: notice a worker that died without a word (SIGKILL, OOM kill, segfault), fail
only its run with the reason, and replace it.

The owner shares nothing with a worker that a dying worker could leave held: each
worker has its own control pipe (``control``), the supervisor waits on process
sentinels, and the store writes that follow a death happen outside the pool's lock,
so a worker killed at any moment, or a store locked for a while, never blocks
``submit``, ``status`` or ``stop``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import types
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.errors import StoreError, StoreReadOnly
from engine.executor import control
from engine.executor import worker as worker_mod
from engine.executor.base import BaseExecutor, recover_orphaned_runs, validate_all, whole_number
from engine.store import IllegalTransition

log = logging.getLogger("engine.executor")

POLL_INTERVAL = 0.2
# A worker that dies this soon after its start is respawned with a growing delay, so a
# broken environment (TensorFlow fails to import) does not become a fork loop.
QUICK_DEATH = 5.0
MAX_BACKOFF = 10.0
# The end of stop()'s time budget kept for SIGKILL and the reaping after it.
KILL_GRACE = 1.0
# Seconds the pool's atexit hook gives its workers: the whole server must be gone
# within about five seconds of SIGTERM or Ctrl-C.
ATEXIT_STOP_TIMEOUT = 3.0


_SPAWN_LOCK = threading.Lock()


@contextlib.contextmanager
def _bare_main():
    """Hide ``__main__`` from ``spawn`` while a worker starts.

    ``spawn`` re-runs the parent's main script in the child unless it is a module run
    with ``-m``. Under Streamlit, ``__main__`` is the page script itself (Streamlit
    installs it there), so every worker would execute the dashboard -- and a page
    that starts a pool would start one per worker. The worker's entry point lives in
    this package and needs nothing from ``__main__``.
    """
    with _SPAWN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is None:
                sys.modules.pop("__main__", None)
            else:
                sys.modules["__main__"] = main


class LocalExecutor(BaseExecutor):
    """A pool of ``workers`` processes (default: one per CPU core) serving one store."""

    backend = "local"

    def __init__(
        self,
        store_path: str | os.PathLike | None = None,
        workers: int | None = None,
        *,
        workdir: str | os.PathLike | None = None,
        poll_interval: float = POLL_INTERVAL,
        prewarm: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """``prewarm``: configs each worker traces once (one epoch, nothing stored)
        before it takes runs, so the first launch of such a graph starts at once."""
        super().__init__(store_path)
        self.prewarm = validate_all(prewarm) if prewarm else []
        n = whole_number("workers", (os.cpu_count() or 1) if workers is None else workers)
        self.n_workers = n
        self.workdir = None if workdir is None else str(Path(workdir).expanduser().resolve())
        self.poll_interval = poll_interval
        cores = os.cpu_count() or 1
        # Split the cores between the workers: N processes each with all cores'
        # threads would oversubscribe the CPU and run slower than one at a time.
        self.intra_threads = max(1, cores // n)
        self.inter_threads = 1 if n >= cores else 2
        self._ctx = multiprocessing.get_context("spawn")
        self._bells: list[control.Doorbell | None] = [None] * n
        self._procs: list[Any] = [None] * n
        self._spawned_at = [0.0] * n
        self._quick_deaths = [0] * n
        self._respawn_at: dict[int, float] = {}
        self._sup_stop = threading.Event()
        # Written to by stop(): wakes the supervisor out of its wait on the sentinels.
        self._sup_wake_r = self._sup_wake_w = -1
        self._supervisor: threading.Thread | None = None
        self._atexit: Any = None
        self.deaths: list[dict[str, Any]] = []  # what the supervisor saw, newest last
        self._unrecorded: list[dict[str, Any]] = []  # deaths whose runs are not failed yet
        self.worker_ids: set[str] = set()  # every worker this pool spawned (store worker_id)
        # Set when the workers cannot serve this store at all (it is read-only): the
        # pool stops respawning them and whoever owns it shows this error.
        self.error: StoreError | None = None

    def __repr__(self) -> str:
        return f"LocalExecutor({str(self.store_path)!r}, workers={self.n_workers})"

    # ------------------------------------------------------------------ lifecycle

    def _start(self) -> None:
        if self.store.read_only:  # workers could claim nothing: say so, spawn none
            raise StoreReadOnly(self.store_path)
        recover_orphaned_runs(self.store)
        self._sup_wake_r, self._sup_wake_w = os.pipe()
        for slot in range(self.n_workers):
            self._spawn(slot)
        self._supervisor = threading.Thread(
            target=self._supervise, name="hplab-supervisor", daemon=True
        )
        self._supervisor.start()

    def _after_start(self) -> None:
        # Stop cleanly when the owning process exits normally (Streamlit server shut
        # down, script ended without stop()); a weak reference, so the hook does not
        # keep a dropped executor alive.
        ref = weakref.ref(self)
        self._atexit = lambda: (ex := ref()) is not None and ex.stop(timeout=ATEXIT_STOP_TIMEOUT)
        atexit.register(self._atexit)

    def _spawn(self, slot: int) -> None:
        bell, inbox_end = control.line(self._ctx)
        p = self._ctx.Process(
            target=worker_mod.main,
            args=(str(self.store_path), inbox_end),
            kwargs={
                "parent_pid": os.getpid(),
                "intra_threads": self.intra_threads,
                "inter_threads": self.inter_threads,
                "poll_interval": self.poll_interval,
                "workdir": self.workdir,
                "prewarm": self.prewarm,
                "pool_size": self.n_workers,
            },
            name=f"hplab-worker-{slot}",
            daemon=True,
        )
        try:
            with _bare_main():
                p.start()
        except BaseException:
            bell.close()
            raise
        finally:
            inbox_end.close()  # the worker has its own copy now
        self.worker_ids.add(worker_mod.worker_id_for(p.pid))
        self._procs[slot] = p
        self._bells[slot] = bell
        self._spawned_at[slot] = time.monotonic()

    def _supervise(self) -> None:
        while not self._sup_stop.is_set():
            try:
                self._supervise_once()
            except StoreError as e:  # locked, full: the deaths' runs are recorded later
                log.warning("worker pool supervisor: %s; retrying", e)
                self._sup_stop.wait(1.0)
            except Exception:  # never let one bad moment end supervision
                log.exception("worker pool supervisor: check failed; retrying")
                self._sup_stop.wait(1.0)

    def _supervise_once(self) -> None:
        with self._lock:
            live = {p.sentinel: slot for slot, p in enumerate(self._procs) if p is not None}
        ready = multiprocessing.connection.wait([*live, self._sup_wake_r], timeout=POLL_INTERVAL)
        with self._lock:
            if self._sup_stop.is_set():
                return
            for s in ready:
                if s in live and self._procs[live[s]] is not None:
                    self._on_death(live[s])
            now = time.monotonic()
            for slot, when in list(self._respawn_at.items()):
                if now >= when:
                    self._spawn(slot)  # if it raises, the slot is retried next round
                    del self._respawn_at[slot]
        # Store writes outside the lock: a store locked for a while delays only this.
        self._record_deaths()

    def _on_death(self, slot: int) -> None:
        """Reap a dead worker and schedule its replacement (with the pool's lock held:
        process bookkeeping only, never the store)."""
        p = self._procs[slot]
        p.join(timeout=1)
        exitcode = p.exitcode
        reason = worker_mod.signal_reason(exitcode)
        death = {
            "pid": p.pid,
            "exitcode": exitcode,
            "reason": reason,
            "runs": [],
            "time": time.time(),
            "worker_id": worker_mod.worker_id_for(p.pid),
        }
        self.deaths.append(death)
        self._unrecorded.append(death)
        p.close()
        self._procs[slot] = None
        bell, self._bells[slot] = self._bells[slot], None
        if bell is not None:
            bell.close()
        if exitcode == worker_mod.EXIT_STORE_READ_ONLY:
            self.error = StoreReadOnly(self.store_path)
            log.error("worker %s: %s; not replaced", death["pid"], self.error)
            return
        log.warning("worker %s: %s", death["pid"], reason)
        lived = time.monotonic() - self._spawned_at[slot]
        self._quick_deaths[slot] = self._quick_deaths[slot] + 1 if lived < QUICK_DEATH else 0
        n = self._quick_deaths[slot]
        delay = 0.0 if n == 0 else min(MAX_BACKOFF, 0.5 * 2 ** (n - 1))
        self._respawn_at[slot] = time.monotonic() + delay

    def _record_deaths(self) -> None:
        """Fail the runs of workers that died; a death stays pending while the store
        cannot take the write (locked, disk full) and is retried next round."""
        with self._lock:
            pending, self._unrecorded = self._unrecorded, []
        if not pending:
            return
        try:
            running = self.store.list_runs(status="running")
            for death in pending:
                for run in running:
                    if run["worker_id"] == death["worker_id"] and run["id"] not in death["runs"]:
                        with contextlib.suppress(IllegalTransition, KeyError):
                            self.store.fail_run(run["id"], death["reason"])
                            death["runs"].append(run["id"])
                if death["runs"]:
                    log.warning("worker %s: failed runs %s", death["pid"], death["runs"])
        except StoreError:
            with self._lock:
                self._unrecorded[:0] = pending
            raise
        from engine.search.driver import top_up_after_loss

        # A study's run failed here never told its study: its successors are asked now.
        top_up_after_loss(self.store, [r for d in pending for r in d["runs"]], self.n_workers)

    def _signal_stop(self, timeout: float) -> None:  # noqa: ARG002 (the base's hook)
        self._sup_stop.set()

    def _stop(self, timeout: float) -> None:
        """Stop the pool within ``timeout`` seconds. Every worker is told to stop (its
        control pipe closed) and sent SIGTERM: an idle or still-starting worker dies of
        it at once, a training one stops its run at the next epoch boundary, recorded
        ``interrupted`` with its partial curves, and exits. A worker still alive near
        the deadline is killed and its run marked ``interrupted`` here. Queued runs
        stay queued for the next pool."""
        with contextlib.suppress(OSError):
            os.write(self._sup_wake_w, b"s")
        deadline = time.monotonic() + timeout
        if self._atexit is not None:
            atexit.unregister(self._atexit)
        if self._supervisor is not None:
            self._supervisor.join(max(0.1, deadline - time.monotonic() - KILL_GRACE))
        with self._lock:
            procs = [p for p in self._procs if p is not None]
            bells = [b for b in self._bells if b is not None]
            self._bells = [None] * self.n_workers
        for bell in bells:
            bell.close()
        for p in procs:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                p.terminate()
        for p in procs:
            p.join(max(0.0, deadline - KILL_GRACE - time.monotonic()))
        killed = set()
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(KILL_GRACE)
                killed.add(worker_mod.worker_id_for(p.pid))
        self._mark_left_running(procs, killed)
        for p in procs:
            with contextlib.suppress(ValueError):  # still running after SIGKILL + 1 s
                p.close()
        self._procs = [None] * self.n_workers
        for fd in (self._sup_wake_r, self._sup_wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.store.close()

    def _mark_left_running(self, procs: list[Any], killed: set[str]) -> None:
        """Whatever is still 'running' under our workers now has nobody to finish it."""
        exitcodes = {d["worker_id"]: d["exitcode"] for d in self._unrecorded}
        exitcodes.update({worker_mod.worker_id_for(p.pid): p.exitcode for p in procs})
        ours = set(exitcodes)
        try:
            left = [r for r in self.store.list_runs(status="running") if r["worker_id"] in ours]
        except StoreError as e:
            log.error("worker pool stop: cannot read the store: %s", e)
            return
        for run in left:
            wid = run["worker_id"]
            code = exitcodes.get(wid)
            if wid in killed:
                status, reason = (
                    "interrupted",
                    "interrupted: the worker did not stop in time when its pool stopped"
                    " and was killed",
                )
            elif code in (-signal.SIGTERM, -signal.SIGINT, None):
                status = "interrupted"
                reason = f"interrupted: {worker_mod.signal_reason(code)} while its pool stopped"
            else:
                status, reason = "failed", worker_mod.signal_reason(code)
            with contextlib.suppress(IllegalTransition, KeyError, StoreError):
                self.store.set_status(run["id"], status, error=reason)

    def _notify(self) -> None:
        with self._lock:
            bells = [b for b in self._bells if b is not None]
        for bell in bells:
            bell.ring()

    # ------------------------------------------------------------------ reads

    def _worker_rows(self, running: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            procs = list(self._procs)
        workers = []
        for p in procs:
            if p is None:
                continue
            alive = p.is_alive()
            run_id = running.get(worker_mod.worker_id_for(p.pid)) if alive else None
            workers.append({"pid": p.pid, "alive": alive, "run_id": run_id})
        return workers
