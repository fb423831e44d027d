"""The worker process: claims runs from the store and trains them, one at a time.

This module is the ``spawn`` entry point of the local pool (never a page script:
Streamlit re-executes pages, and a child process must be able to import its target).
A worker pays the TensorFlow import once and then serves many runs; one run per
process at a time keeps global Keras state (dtype policy, seeds) from leaking between
runs, and a crash (segfault, out-of-memory kill) takes down one run, not the pool.

The store is the queue, so a worker needs nothing from its owner but the store path
and the read end of its control pipe (``control.Inbox``: wake-ups, and end-of-file
for "stop"). It watches its parent too: a worker whose pool owner died stops its run
and exits instead of training on as an orphan nobody will read. A run stopped for
any reason other than a cancel request ends ``interrupted``, saying why.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

from engine.executor.run_loop import fail_run, train_one, warm_up
from engine.records import ForwardingSink, replay

log = logging.getLogger("engine.executor")

# Seconds an orphaned worker gives its run to stop at the next epoch boundary before
# it records the run as interrupted itself and exits.
ORPHAN_GRACE = 10.0
PARENT_CHECK = 0.5
INTERRUPTED_BY_OWNER = "interrupted: the process that owned the worker pool died"
INTERRUPTED_BY_STOP = "interrupted: the worker pool was stopped before the run finished"
INTERRUPTED_BY_SIGTERM = "interrupted: the worker was sent SIGTERM"
# A worker whose store cannot be written (read-only file, folder or filesystem) exits
# with this code; its pool stops respawning it and reports the store's error instead.
EXIT_STORE_READ_ONLY = 75


def worker_id_for(pid: int | None = None) -> str:
    """``local:<host>:<pid>``: the supervisor knows the pid of a worker that died, and a
    restarting pool can tell a live worker's run from one left by a dead pool."""
    return f"local:{socket.gethostname()}:{os.getpid() if pid is None else pid}"


@dataclass(frozen=True)
class Owner:
    """The process whose death orphans a run: the worker (local) or the driver (Ray)."""

    kind: str
    host: str
    pid: int


def parse_worker_id(worker_id: str | None) -> Owner | None:
    if not worker_id:
        return None
    parts = worker_id.split(":")
    if len(parts) < 3 or parts[0] not in ("local", "ray"):
        return None
    try:
        return Owner(parts[0], parts[1], int(parts[2]))
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def signal_reason(exitcode: int | None) -> str:
    """A person-readable cause for a worker's exit code."""
    if exitcode is None:
        return "worker process died (exit status unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        hint = ""
        if -exitcode == signal.SIGKILL:
            hint = "; killed from outside, e.g. by the out-of-memory killer"
        elif -exitcode == signal.SIGSEGV:
            hint = "; a crash in native code"
        return f"worker process died (signal {-exitcode} {name}{hint})"
    return f"worker process exited unexpectedly with code {exitcode}"


class _ParentWatch:
    """Notices the death of the pool's owner without help from it.

    Two signals, either one enough: the parent's sentinel pipe (multiprocessing
    closes it when the parent dies) and a change of ``os.getppid()``.
    """

    def __init__(self, parent_pid: int | None) -> None:
        self.parent_pid = parent_pid
        self.orphaned = threading.Event()
        parent = multiprocessing.parent_process()
        self._sentinel = parent.sentinel if parent is not None else None

    def start(self) -> None:
        if self.parent_pid is None:
            return
        threading.Thread(target=self._watch, name="hplab-parent-watch", daemon=True).start()

    def check(self) -> bool:
        """True if the owner is gone, looking now (the watch thread may not have run
        yet when the owner's death and its closed pipe arrive together)."""
        if self.orphaned.is_set():
            return True
        if self.parent_pid is None:
            return False
        dead = os.getppid() != self.parent_pid
        if not dead and self._sentinel is not None:
            with contextlib.suppress(OSError, ValueError):
                dead = bool(multiprocessing.connection.wait([self._sentinel], timeout=0))
        if dead:
            self.orphaned.set()
        return dead

    def _watch(self) -> None:
        while not self.orphaned.is_set():
            if self._sentinel is not None:
                with contextlib.suppress(OSError, ValueError):
                    if multiprocessing.connection.wait([self._sentinel], timeout=PARENT_CHECK):
                        self.orphaned.set()
                        break
            else:
                time.sleep(PARENT_CHECK)
            if os.getppid() != self.parent_pid:
                self.orphaned.set()


class _Stops:
    """Why this worker must stop the run it trains, if it must: its owner died, it
    was sent SIGTERM, or its owner closed the control pipe (the pool is stopping).

    SIGTERM is how ``kill``, systemd and ``docker stop`` end a process; sent to a
    whole process group it reaches the workers as well as the server. An idle worker
    dies of it at once, as it always did; a training one stops its run at the next
    epoch boundary, recorded ``interrupted``, and then exits.
    """

    def __init__(self, inbox, watch: _ParentWatch) -> None:
        self.inbox, self.watch = inbox, watch
        self.sigterm = threading.Event()
        self.busy = False

    def install_sigterm(self) -> None:
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, _signum, _frame) -> None:
        if not self.busy:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.sigterm.set()

    def reason(self) -> str | None:
        if self.watch.check():
            return INTERRUPTED_BY_OWNER
        if self.inbox.stop_requested():  # the pool stops (and sends SIGTERM as well)
            return INTERRUPTED_BY_STOP
        if self.sigterm.is_set():
            return INTERRUPTED_BY_SIGTERM
        return None

    def serving(self) -> bool:
        """True while this worker should claim runs."""
        return self.reason() is None


class _RunSink(ForwardingSink):
    """``StoreSink`` plus one rule: a run stopped for any reason but a cancel request
    (the owner died or stopped the pool, SIGTERM) is recorded as ``interrupted``, with
    that reason, not ``cancelled``: nobody asked for that run to stop."""

    def __init__(self, store, run_id: str, stops: _Stops, slots: int = 1) -> None:
        from engine.search.driver import study_sink
        from engine.store import StoreSink

        super().__init__(self._write)
        # A study's run also asks its pruner each epoch and tops the study up at the end.
        self._sink = study_sink(StoreSink(store, run_id), store, run_id, slots=slots)
        self.store, self.run_id, self.stops = store, run_id, stops
        self.store_error: Exception | None = None

    def _write(self, kind, payload) -> None:
        from engine.errors import StoreError

        if kind == "finish":
            replay(self._sink, kind, self._final(payload))
            return
        try:
            replay(self._sink, kind, payload)
        except StoreError as e:  # full disk, read-only, locked past the timeout
            self.store_error = e
            raise

    def _final(self, result):
        if result.get("status") == "cancelled" and not self._cancel_requested():
            reason = self.stops.reason()
            if reason is not None:
                result = {**result, "status": "interrupted", "error": reason}
        if result.get("status") == "failed" and self.store_error is not None:
            # The store's own sentence, not a traceback through the sink; and a small
            # write, so it still fits when the disk is full.
            result = {**result, "error": str(self.store_error), "traceback": None}
            result.pop("predictions", None)
        return result

    def _cancel_requested(self) -> bool:
        from engine.errors import StoreError

        try:
            return self.store.cancel_requested(self.run_id)
        except StoreError:
            return False


def _prewarm(configs: list[dict], stops: _Stops) -> None:
    """Trace each config's graph into the warm cache (one epoch, results dropped).

    A run queued meanwhile waits for it: the configs are the likely first launches,
    so the wait is the trace that run would have paid anyway."""
    from engine.training.train import train
    from engine.training.warm import CACHE

    for cfg in configs:
        if not stops.serving():
            return
        result = train({**cfg, "epochs": 1}, warm=CACHE)
        if result["status"] == "failed":
            log.warning("prewarm failed: %s", result.get("error"))


def main(
    store_path: str,
    control,
    *,
    parent_pid: int | None = None,
    intra_threads: int | None = None,
    inter_threads: int | None = None,
    poll_interval: float = 0.2,
    workdir: str | None = None,
    prewarm: list[dict] | None = None,
    pool_size: int = 1,
) -> None:
    """Serve runs until the owner closes ``control`` (the read end of this worker's
    control pipe, ``engine.executor.control``), dies, or sends SIGTERM."""
    from engine.executor import priority
    from engine.executor.control import Inbox

    priority.lower(priority.WORKER)  # the page a person waits for comes first
    # Ctrl-C in a terminal reaches the whole process group: the owner decides what
    # happens to runs (stops them cleanly), so the worker must not die mid-write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # `kill -USR1 <pid>` prints where a stuck worker is, without stopping it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    watch = _ParentWatch(parent_pid)
    watch.start()
    stops = _Stops(Inbox(control), watch)
    stops.install_sigterm()
    warm_up(intra_threads, inter_threads)
    _prewarm(prewarm or [], stops)

    code = _serve(store_path, stops, poll_interval, workdir, pool_size)
    # Every record is committed; skip TensorFlow's slow interpreter teardown so a
    # pool stops (and a test's fixture ends) in a fraction of a second.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# Seconds between claims while the store cannot take them (locked past the busy
# timeout, disk full): the worker waits and tries again; nothing is lost meanwhile.
RETRY_LOCKED = 1.0
RETRY_FULL = 5.0


def _serve(store_path: str, stops: _Stops, poll_interval: float, workdir, pool_size) -> int:
    """The claim loop: take the next job from the store and run it, until told to
    stop. Returns the process's exit code (``EXIT_STORE_READ_ONLY``: the store cannot
    be written, so respawning this worker would only fail again)."""
    from engine.errors import StoreError, StoreFull, StoreReadOnly
    from engine.store import RunStore

    worker_id = worker_id_for()
    try:
        store = RunStore(store_path)
        if store.read_only:
            raise StoreReadOnly(store.path)
    except StoreError as e:
        log.error("worker %s: %s; exiting", worker_id, e)
        return EXIT_STORE_READ_ONLY if isinstance(e, StoreReadOnly) else 1
    try:
        while stops.serving():
            claim = None
            stops.busy = True  # from the claim on, SIGTERM stops the run, not the process
            try:
                claim = store.claim_next(worker_id)
                if claim is not None:
                    _train_claim(store, claim, stops, worker_id, workdir, pool_size)
            except StoreReadOnly as e:
                log.error("worker %s: %s; exiting", worker_id, e)
                return EXIT_STORE_READ_ONLY
            except StoreError as e:  # locked by a long writer, disk full: try again
                log.warning("worker %s: cannot claim a run: %s", worker_id, e)
                stops.inbox.wait(RETRY_FULL if isinstance(e, StoreFull) else RETRY_LOCKED)
                continue
            finally:
                stops.busy = False
            if stops.sigterm.is_set():  # its run is recorded: now die of the signal
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
            if claim is None:
                stops.inbox.wait(poll_interval)
        return 0
    finally:
        store.close()


def _train_claim(store, claim, stops: _Stops, worker_id: str, workdir, pool_size) -> None:
    """One claimed run, with its sweep's stackable share; each ends terminal."""
    from engine.errors import StoreError
    from engine.executor.stacking import claim_share, run_stack

    run_id, config = claim

    def should_stop(run_id=run_id) -> bool:
        if stops.reason() is not None:
            return True
        try:
            return store.cancel_requested(run_id)
        except StoreError:  # a busy store is no reason to stop; ask next epoch
            return False

    try:
        claimed = claim_share(store, run_id, config, worker_id, pool_size)
    except Exception as e:  # the store is busy or the config foreign: train it alone
        log.warning("worker %s: no stack for %s: %s", worker_id, run_id, e)
        claimed = [(run_id, config)]
    done = threading.Event()
    for rid, _ in claimed:
        threading.Thread(
            target=_orphan_guard, args=(store, rid, stops.watch, done), daemon=True
        ).start()
    try:
        if len(claimed) > 1:
            run_stack(
                store,
                claimed,
                worker_id,
                should_stop=should_stop,
                sink=lambda rid: _RunSink(store, rid, stops, pool_size),
            )
        else:
            train_one(
                run_id,
                config,
                sink=_RunSink(store, run_id, stops, pool_size),
                should_stop=should_stop,
                workdir=workdir,
                fail=lambda reason: fail_run(store, run_id, reason),
                worker_id=worker_id,
            )
    finally:
        done.set()


def _orphan_guard(store, run_id: str, watch: _ParentWatch, done: threading.Event) -> None:
    """If the owner dies and the run does not stop by itself in time (a long epoch,
    a hung op), record it as interrupted and end the process: no orphan trains on."""
    while not done.is_set():
        if watch.orphaned.wait(0.5):
            break
    if done.is_set():
        return
    if done.wait(ORPHAN_GRACE):
        return
    from engine.store import IllegalTransition

    with contextlib.suppress(IllegalTransition, Exception):
        store.set_status(run_id, "interrupted", error=INTERRUPTED_BY_OWNER)
    os._exit(3)
