"""``TFService``: schedule previews and LR range tests in TensorFlow processes of their own.

The dashboard's server never imports TensorFlow. When it did, the import blocked the
first page for 12-15 s, held ~700 MiB in the server, and every session's previews and
range tests queued behind one lock in it. The service owns one spawned process per
lane (``tf_jobs.LANES``: ``preview`` and ``jobs``, so a preview never waits behind a
range test) and supervises them like the worker pool supervises workers: a process
that dies (SIGKILL, out-of-memory kill, segfault) fails or re-runs the job it was
computing, with the reason, and is replaced with a growing delay if it keeps dying at
once; the other lane keeps answering.

Nothing here blocks a caller: ``submit`` queues and returns a ``Ticket`` (a snapshot:
starting, queued, running with what the job has streamed so far, done, failed), and
a page asks again with ``ticket`` until it is done. Identical requests share one job;
answers are kept per kind in byte-bounded caches (``result_cache.ByteLRU``); a
session's newer range test replaces its own older one (``one_per_owner``: a queued one
leaves the queue, a running one nobody else waits for is cancelled in its process), so
one person cannot fill the queue nor keep the lane busy with a test nobody reads. A
failure that says only that a lane could not start is forgotten once the lane is up
again, so the request is not refused for good. ``stop`` ends every process within
its timeout (a running range test stops at its next update; a process still
importing TensorFlow is terminated at once). Knows nothing of Streamlit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.executor import tf_jobs, tf_process
from engine.executor.local import _bare_main
from engine.executor.result_cache import ByteLRU

log = logging.getLogger("engine.executor")

STARTING, QUEUED, RUNNING, DONE, FAILED = "starting", "queued", "running", "done", "failed"
PENDING = (STARTING, QUEUED, RUNNING)

POLL = 0.5  # seconds a lane's supervisor sleeps when nothing happens (it is woken early)
QUICK_DEATH = 5.0  # a process that dies this soon after it started is respawned later...
MAX_BACKOFF = 10.0  # ... up to this many seconds later
BROKEN_AFTER = 3  # starts in a row that failed before the lane's jobs fail with the reason
FAILED_KEPT = 256  # failed answers remembered (so a failing preview is not retried per rerun)
TERM_GRACE = 2.0  # a process SIGTERMed from outside is replaced this much later: whoever
# sent it (systemd, ``kill -TERM -PGID``) is most likely stopping the server as well
KILL_GRACE = 1.0  # the end of stop()'s budget kept for SIGTERM / SIGKILL and the reaping
ATEXIT_STOP_TIMEOUT = 2.0  # the server must be gone within ~5 s of SIGTERM or Ctrl-C
CACHE_BYTES = {"preview": 64 * 2**20, "lr_find": 16 * 2**20}


@dataclass(frozen=True)
class Ticket:
    """Where one request stands, as of the call that returned it."""

    kind: str
    key: str
    state: str
    ahead: int = 0  # jobs before this one in its lane (the running one included)
    result: Any = None
    partial: dict[str, list] | None = None  # what a running job streamed so far
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.state in PENDING


@dataclass
class _Job:
    id: int
    kind: tf_jobs.JobKind
    key: str
    payload: dict
    owners: set[str] = field(default_factory=set)
    running: bool = False
    partial: dict[str, list] = field(default_factory=dict)
    deaths: int = 0
    cancelled: bool = False  # nobody waits for it any more: its answer is dropped


def death_reason(exitcode: int | None) -> str:
    """Why a service process ended, in a person's words."""
    if exitcode is None:
        return "it died (exit status unknown)"
    if exitcode >= 0:
        return f"it exited with code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = "unknown signal"
    hint = {
        signal.SIGKILL: "; killed from outside, e.g. by the out-of-memory killer",
        signal.SIGSEGV: "; a crash in native code",
    }.get(-exitcode, "")
    return f"it died (signal {-exitcode} {name}{hint})"


def _reap(proc) -> None:
    """Wait for a process whose pipe or sentinel said it ended; one whose pipe closed
    while it lingers cannot serve anyway and is killed."""
    proc.join(timeout=KILL_GRACE)
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=KILL_GRACE)


class _Lane:
    """One lane: its process, its queue, and the thread that feeds and watches them."""

    def __init__(self, service: TFService, spec: tf_jobs.Lane) -> None:
        self.service, self.spec = service, spec
        self.queue: deque[_Job] = deque()
        self.current: _Job | None = None
        self.proc: Any = None
        self.conn: Any = None
        self.ready = False
        self.pid: int | None = None
        self.spawned_at = 0.0
        self.start_seconds: float | None = None  # spawn → ready, of the live process
        self.import_seconds: float | None = None  # the process's own TensorFlow load
        self.respawn_at: float | None = None  # when to (re)start; None: not wanted yet
        self.quick_deaths = 0
        self.broken: str | None = None  # why it cannot start, until a start succeeds
        self.restarts = 0
        self.deaths: list[dict[str, Any]] = []
        self.outbox: list[tuple] = []  # control messages for the process (the thread sends)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.thread = threading.Thread(target=self._loop, name=f"hplab-tf-{spec.name}", daemon=True)

    # -- called with the service lock held

    def want(self) -> None:
        if self.proc is None and self.respawn_at is None:
            self.respawn_at = time.monotonic()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def cancel_current(self) -> None:
        """Nobody waits for the running job: tell its process to stop it. The lane
        stays busy until the process answers (at its next update)."""
        job = self.current
        if job is None or job.cancelled:
            return
        job.cancelled = True
        job.partial = {}
        self.outbox.append(("cancel", job.id))
        self.wake()

    def ahead_of(self, job: _Job) -> int:
        try:
            return self.queue.index(job) + (1 if self.current is not None else 0)
        except ValueError:
            return 0

    # -- the supervising thread

    def _loop(self) -> None:
        """Supervise until the service stops; a bug in one round must not end the lane
        (its jobs would wait for ever), so it is logged and the next round runs."""
        while not self.service._stopping:
            try:
                if self._round():
                    return
            except Exception:
                log.exception("TensorFlow service %s: supervision failed; retrying", self.spec.name)
                time.sleep(POLL)

    def _round(self) -> bool:
        """One look at the process and the queue; True once the service is stopping."""
        lock = self.service._lock
        spawn = job = None
        with lock:
            if self.service._stopping:
                return True
            now = time.monotonic()
            if self.proc is None and self.respawn_at is not None and now >= self.respawn_at:
                self.respawn_at = None
                spawn = True
            elif self.ready and self.current is None and self.queue:
                job = self.current = self.queue.popleft()
                job.running = True
            controls, self.outbox = self.outbox, []
            conn, proc = self.conn, self.proc
            timeout = POLL
            if self.proc is None and self.respawn_at is not None:
                timeout = max(0.0, min(POLL, self.respawn_at - now))
        if spawn:
            self._spawn()
            return False
        if proc is not None:  # only this thread writes to the pipe
            for message in ([(job.id, job.kind.name, job.payload)] if job else []) + controls:
                with contextlib.suppress(OSError, ValueError):  # dead: its sentinel says so
                    conn.send(message)
        waitables: list[Any] = [self._wake_r]
        if proc is not None:
            waitables += [conn, proc.sentinel]
        ready = multiprocessing.connection.wait(waitables, timeout=timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError, OSError):
                os.read(self._wake_r, 4096)
        eof = False
        if proc is not None and conn in ready:
            eof = self._read(conn)
        if proc is not None and (eof or proc.sentinel in ready):
            _reap(proc)  # without the lock: pages keep asking meanwhile
            with lock:
                if self.proc is proc:
                    self._on_death()
        return False

    def _spawn(self) -> None:
        ctx = self.service._ctx
        ours, theirs = ctx.Pipe(duplex=True)
        p = ctx.Process(
            target=tf_process.main,
            args=(theirs, self.spec.name),
            kwargs={"parent_pid": os.getpid()},
            name=f"hplab-{self.spec.name}",
            daemon=True,
        )
        try:
            with _bare_main():
                p.start()
        except Exception as e:  # out of processes or memory: try again later
            log.warning("TensorFlow service %s: cannot start a process: %s", self.spec.name, e)
            ours.close()
            theirs.close()
            with self.service._lock:
                self.broken = f"cannot start a process: {e}"
                self.respawn_at = time.monotonic() + MAX_BACKOFF
            return
        theirs.close()  # only the child holds it now: its death reads as EOF here
        with self.service._lock:
            if not self.service._stopping:
                self.proc, self.conn, self.pid = p, ours, p.pid
                self.spawned_at = time.monotonic()
                self.ready = False
                return
        # stop() ran while this process started: it must not outlive the service
        p.kill()
        p.join(KILL_GRACE)
        ours.close()

    def _read(self, conn) -> bool:
        """Handle every message waiting; True once the pipe reads as closed."""
        while True:
            try:
                if not conn.poll():
                    return False
                message = conn.recv()
            except (EOFError, OSError):
                return True
            with self.service._lock:
                self._handle(message)

    def _handle(self, message: tuple) -> None:
        what, *rest = message
        if what == "ready":
            info = rest[0]
            self.ready = True
            self.broken = None
            self.quick_deaths = 0
            self.start_seconds = time.monotonic() - self.spawned_at
            self.import_seconds = info.get("import_seconds")
            self.service._on_ready(self)
            return
        if what == "broken":
            self.broken = rest[0].get("error") or "TensorFlow could not start"
            return
        job_id, body = rest
        job = self.current
        if job is None or job.id != job_id:
            return
        if what == "progress":
            if not job.cancelled:
                for k, v in body.items():
                    job.partial.setdefault(k, []).extend(v)
            return
        self.current = None
        if job.cancelled:  # a truncated answer nobody waits for: not cached, not failed
            return
        if what == "done":
            self.service._finish(job, body)
        elif what == "error":
            self.service._fail(job, body)

    def _on_death(self) -> None:
        """Book a reaped process's death: its job re-runs or fails, the lane respawns."""
        proc, conn = self.proc, self.conn
        code = proc.exitcode
        reason = death_reason(code)
        was_ready = self.ready
        lived = time.monotonic() - self.spawned_at
        self.deaths.append(
            {"pid": proc.pid, "exitcode": code, "reason": reason, "time": time.time()}
        )
        del self.deaths[:-20]
        self._forget_process(proc, conn)
        self.start_seconds = None
        self.restarts += 1
        job, self.current = self.current, None
        if self.service._stopping:
            return
        log.warning("TensorFlow service %s: %s", self.spec.name, reason)
        if job is not None and job.cancelled:
            job = None  # nobody waits for it
        if job is not None:
            if job.deaths < job.kind.retries:  # e.g. a preview: once more on a new process
                job.deaths += 1
                job.running = False
                job.partial = {}
                self.queue.appendleft(job)
            else:
                self.service._fail(
                    job,
                    f"{job.kind.what} stopped: its TensorFlow process {reason.removeprefix('it ')}."
                    " A new process has been started: try again.",
                )
        self.quick_deaths = self.quick_deaths + 1 if (not was_ready or lived < QUICK_DEATH) else 0
        if not was_ready and (self.broken or self.quick_deaths >= BROKEN_AFTER):
            self.broken = self.broken or f"its TensorFlow process cannot start: {reason}"
            for queued in list(self.queue):
                self.service._fail(
                    queued, f"{queued.kind.what} is unavailable: {self.broken}", transient=True
                )
            self.queue.clear()
        n = self.quick_deaths
        delay = 0.0 if n == 0 else min(MAX_BACKOFF, 0.5 * 2 ** (n - 1))
        if code == -signal.SIGTERM:
            delay = max(delay, TERM_GRACE)
        self.respawn_at = time.monotonic() + delay

    def ask_to_stop(self) -> None:
        """Tell the process to stop (the lane thread is gone, so this thread may write):
        an idle one exits at once, a running range test stops at its next update. One
        still importing TensorFlow cannot read: it is terminated now."""
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.conn.send(None)
        if not self.ready:
            with contextlib.suppress(Exception):
                self.proc.terminate()

    def shut_down(self, deadline: float) -> None:
        """Make sure the process has ended by ``deadline`` (monotonic seconds)."""
        proc, conn = self.proc, self.conn
        if proc is None:
            return
        proc.join(max(0.0, deadline - KILL_GRACE - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(KILL_GRACE / 2)
            if proc.is_alive():
                proc.kill()
                proc.join(KILL_GRACE)
        self._forget_process(proc, conn)

    def _forget_process(self, proc, conn) -> None:
        """Release an ended process's handles (each may already be closed) and mark the
        lane empty."""
        with contextlib.suppress(Exception):
            conn.close()
        with contextlib.suppress(Exception):
            proc.close()
        self.proc = self.conn = self.pid = None
        self.ready = False

    def status(self) -> dict[str, Any]:
        alive = self.proc is not None and self.proc.is_alive()
        return {
            "pid": self.pid,
            "alive": alive,
            "ready": self.ready and alive,
            "start_seconds": self.start_seconds,
            "import_seconds": self.import_seconds,
            "queued": len(self.queue),
            "running": self.current.kind.name if self.current else None,
            "restarts": self.restarts,
            "broken": self.broken,
            "deaths": list(self.deaths),
        }


class TFService:
    """The server's TensorFlow processes: one per lane, started on ``start()``
    (``eager`` lanes at once, the others once the first is ready or first asked)."""

    def __init__(
        self,
        *,
        eager: Sequence[str] = ("preview",),
        cache_bytes: Mapping[str, int] | None = None,
    ) -> None:
        unknown = [n for n in eager if n not in tf_jobs.LANES]
        if unknown:
            raise ValueError(f"eager: unknown lanes {unknown}; known: {', '.join(tf_jobs.LANES)}")
        self.eager = tuple(eager)
        budget = {**CACHE_BYTES, **(cache_bytes or {})}
        self._caches = {kind: ByteLRU(budget[kind]) for kind in tf_jobs.JOBS}
        self._oversize: dict[str, tuple[str, Any]] = {}  # the last answer too big to cache
        self._failed: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._transient: dict[tuple[str, str], str] = {}  # failed as "lane cannot start": lane
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._ids = 0
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)  # a job finished or failed
        self._ctx = multiprocessing.get_context("spawn")
        self._lanes = {name: _Lane(self, spec) for name, spec in tf_jobs.LANES.items()}
        self._started = False
        self._stopping = False
        self._atexit: Any = None

    def __repr__(self) -> str:
        return f"TFService(lanes={list(self._lanes)})"

    def __enter__(self) -> TFService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def key_for(payload: Mapping[str, Any]) -> str:
        return json.dumps(payload, sort_keys=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> TFService:
        with self._lock:
            if self._started:
                return self
            if self._stopping:
                raise RuntimeError("this TensorFlow service was stopped; create a new one")
            self._started = True
            for name in self.eager:
                self._lanes[name].want()
        for lane in self._lanes.values():
            lane.thread.start()
        ref = weakref.ref(self)
        self._atexit = lambda: (s := ref()) is not None and s.stop(timeout=ATEXIT_STOP_TIMEOUT)
        atexit.register(self._atexit)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every lane's process within about ``timeout`` seconds (all lanes at once,
        never one after another); what was pending fails with a message saying the
        server is stopping."""
        deadline = time.monotonic() + max(timeout, KILL_GRACE * 2)
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            for lane in self._lanes.values():
                for job in [*lane.queue, *([lane.current] if lane.current else [])]:
                    self._fail(job, f"{job.kind.what} was stopped: the server is stopping")
                lane.queue.clear()
                lane.current = None
                lane.wake()
        if self._atexit is not None:
            atexit.unregister(self._atexit)
        for lane in self._lanes.values():
            if lane.thread.is_alive():
                lane.thread.join(timeout=max(0.1, min(POLL + 1, deadline - time.monotonic())))
        for lane in self._lanes.values():
            lane.ask_to_stop()
        for lane in self._lanes.values():
            lane.shut_down(deadline)
            for fd in (lane._wake_r, lane._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    # ------------------------------------------------------------------ requests

    def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str | None = None,
        owner: str | None = None,
        retry: bool = False,
    ) -> Ticket:
        """Ask for ``kind`` on ``payload`` (JSON-able); returns at once.

        The same ``key`` (default: the payload's JSON) answers from the cache or joins
        the job already queued or running. ``retry`` forgets a remembered failure.
        """
        spec = tf_jobs.get(kind)
        key = self.key_for(payload) if key is None else key
        lane = self._lanes[spec.lane]
        with self._lock:
            if self._stopping or not self._started:
                return Ticket(kind, key, FAILED, error="the TensorFlow service is not running")
            if retry:
                self._failed.pop((kind, key), None)
            if spec.one_per_owner and owner is not None:
                self._drop_queued(owner, kind, keep=key)
            job = self._jobs.get((kind, key))
            if job is None:
                ticket = self._ticket(kind, key)
                if ticket is not None:
                    return ticket
                if lane.broken and lane.proc is None:
                    lane.want()
                    return Ticket(
                        kind, key, FAILED, error=f"{spec.what} is unavailable: {lane.broken}"
                    )
                self._ids += 1
                job = _Job(self._ids, spec, key, dict(payload))
                self._jobs[(kind, key)] = job
                lane.queue.append(job)
                lane.want()
                lane.wake()
            if owner is not None:
                job.owners.add(owner)
            return self._ticket(kind, key)

    def ticket(self, kind: str, key: str) -> Ticket | None:
        """Where the request for ``key`` stands; None if nobody asked (or it was
        dropped from the cache since)."""
        with self._lock:
            return self._ticket(kind, key)

    def wait(self, kind: str, keys: Sequence[str], timeout: float) -> list[Ticket | None]:
        """The tickets of ``keys`` once none is pending, or as they stand after
        ``timeout`` seconds: a page's short grace for a warm lane, never a long wait."""
        deadline = time.monotonic() + timeout
        with self._settled:
            while True:
                tickets = [self._ticket(kind, k) for k in keys]
                left = deadline - time.monotonic()
                if left <= 0 or not any(t is not None and t.pending for t in tickets):
                    return tickets
                self._settled.wait(left)

    def ready(self, lane: str) -> bool:
        """True once ``lane``'s process has imported TensorFlow and answers."""
        with self._lock:
            return self._lanes[lane].ready

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "running": self._started and not self._stopping,
                "lanes": {name: lane.status() for name, lane in self._lanes.items()},
                "cached_bytes": {kind: c.nbytes for kind, c in self._caches.items()},
            }

    # ------------------------------------------------------------------ internals (locked)

    def _ticket(self, kind: str, key: str) -> Ticket | None:
        job = self._jobs.get((kind, key))
        if job is not None:
            lane = self._lanes[job.kind.lane]
            if job.running:
                partial = {k: list(v) for k, v in job.partial.items()}
                return Ticket(kind, key, RUNNING, partial=partial)
            return Ticket(kind, key, QUEUED if lane.ready else STARTING, ahead=lane.ahead_of(job))
        hit = self._caches[kind].get(key)
        if hit is None and self._oversize.get(kind, (None,))[0] == key:
            hit = self._oversize[kind][1]
        if hit is not None:
            return Ticket(kind, key, DONE, result=hit)
        error = self._failed.get((kind, key))
        if error is not None:
            return Ticket(kind, key, FAILED, error=error)
        return None

    def _drop_queued(self, owner: str, kind: str, keep: str) -> None:
        """``owner``'s jobs of ``kind`` other than ``keep`` lose it as a waiter; one
        nobody else waits for leaves the queue, or is cancelled if it is running."""
        for lane in self._lanes.values():
            current = [lane.current] if lane.current is not None else []
            for job in [*current, *lane.queue]:
                if job.kind.name != kind or job.key == keep or owner not in job.owners:
                    continue
                job.owners.discard(owner)
                if job.owners:
                    continue
                del self._jobs[(kind, job.key)]
                if job is lane.current:
                    lane.cancel_current()
                else:
                    lane.queue.remove(job)

    def _finish(self, job: _Job, result: Any) -> None:
        self._jobs.pop((job.kind.name, job.key), None)
        if not self._caches[job.kind.name].put(job.key, result):
            self._oversize[job.kind.name] = (job.key, result)
        self._settled.notify_all()

    def _fail(self, job: _Job, error: str, *, transient: bool = False) -> None:
        """Remember why ``job`` failed (so a page's rerun does not ask again); a
        ``transient`` failure (its lane could not start) only until the lane is up."""
        k = (job.kind.name, job.key)
        self._jobs.pop(k, None)
        self._failed[k] = error
        self._failed.move_to_end(k)
        if transient:
            self._transient[k] = job.kind.lane
        else:
            self._transient.pop(k, None)
        while len(self._failed) > FAILED_KEPT:
            self._transient.pop(self._failed.popitem(last=False)[0], None)
        self._settled.notify_all()

    def _on_ready(self, lane: _Lane) -> None:
        """Forget what failed only because this lane could not start, and stagger the
        starts: the other lanes import TensorFlow once the first is up, so a cold server
        does not import it N times at once on few cores."""
        for k in [k for k, name in self._transient.items() if name == lane.spec.name]:
            del self._transient[k]
            self._failed.pop(k, None)
        if lane.spec.name in self.eager:
            for other in self._lanes.values():
                if other is not lane and other.proc is None:
                    other.want()
                    other.wake()
