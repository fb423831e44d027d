"""The TensorFlow service process: the ``spawn`` entry point of one service lane.

It imports TensorFlow once, says it is ready, then answers one request at a time
over its pipe: ``(job_id, kind, payload)`` in; ``("progress", job_id, columns)``
while a job streams and one ``("done", job_id, result)`` or ``("error", job_id,
message)`` out. An error in a job is an answer, not a crash: the process serves the
next request. While a job runs the process still reads its pipe (``Inbox``, asked
every update): ``("cancel", job_id)`` ends that job early (a session replaced its
range test) and ``None`` ends the job and then the process (the server is stopping),
so neither waits for a range test to finish.

It watches its owner from the start: when the server dies (its sentinel closes, its end
of the pipe closes, or the parent pid changes) the process ends at once, mid-import or
mid-range-test, since nobody is left to read the answer. A process that cannot start
(TensorFlow fails to import) says why, ``("broken", {"error": ...})``, and exits: its
owner shows that to whoever waits.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from typing import Any

from engine.executor import tf_jobs

PARENT_CHECK = 0.5  # seconds between two looks at the owner while idle
MAX_MESSAGE = 600  # characters of an error message sent back


def _name_process(name: str) -> None:
    """Show ``name`` in ``ps``/``top`` and ``/proc/<pid>/comm`` (Linux; else nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def describe(error: BaseException) -> str:
    """One line for the page: a field-named ``ConfigError`` as it is, others typed."""
    from engine.errors import ConfigError

    text = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _watch_owner(parent_pid: int) -> None:
    """End this process as soon as its owner is gone (a thread: the main one may sit in
    TensorFlow's import or a training step for seconds)."""
    parent = multiprocessing.parent_process()
    sentinel = parent.sentinel if parent is not None else None

    def watch() -> None:
        while os.getppid() == parent_pid:
            if sentinel is None:
                time.sleep(PARENT_CHECK)
                continue
            with contextlib.suppress(OSError, ValueError):
                if multiprocessing.connection.wait([sentinel], timeout=PARENT_CHECK):
                    break
        os._exit(0)

    threading.Thread(target=watch, name="hplab-owner-watch", daemon=True).start()


def warm_up(lane: tf_jobs.Lane) -> None:
    from engine.training import runtime

    runtime.configure(intra_threads=lane.intra_threads, inter_threads=lane.inter_threads)
    for module in lane.warm_up:
        importlib.import_module(module)
    if lane.prime is not None:
        lane.prime()


def main(conn, lane_name: str, *, parent_pid: int) -> None:
    """Serve requests on ``conn`` until told to stop (``None``) or the owner is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the owner's to handle
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _name_process(f"hplab-{lane_name}")
    _watch_owner(parent_pid)
    lane = tf_jobs.LANES[lane_name]

    def owner_gone() -> bool:
        return os.getppid() != parent_pid

    inbox = Inbox(conn)
    t0 = time.perf_counter()
    try:
        try:
            warm_up(lane)
        except Exception as e:
            conn.send(("broken", {"error": describe(e)}))
            raise
        conn.send(("ready", {"pid": os.getpid(), "import_seconds": time.perf_counter() - t0}))
        while not inbox.stopping:
            job = inbox.next_job(PARENT_CHECK)
            if job is None:
                if owner_gone():
                    break
                continue
            job_id, kind, payload = job

            def should_stop(job_id=job_id) -> bool:
                return owner_gone() or inbox.should_stop(job_id)

            if should_stop():  # cancelled before it started: every job gets one answer
                reply = ("error", job_id, "cancelled")
            else:
                reply = _answer(conn, job_id, kind, payload, should_stop)
            inbox.finished(job_id)
            try:
                conn.send(reply)
            except (OSError, EOFError):
                raise
            except Exception as e:  # an answer that cannot be pickled
                conn.send(("error", job_id, describe(e)))
    except (EOFError, OSError, _OwnerGone):  # the owner closed its end: nobody to answer
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip TensorFlow's slow interpreter teardown


class Inbox:
    """The pipe's incoming side: jobs, and the control messages that may arrive while a
    job runs (the owner sends ``("cancel", job_id)`` or ``None`` at any time)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.jobs: deque[tuple[int, str, dict]] = deque()
        self.cancelled: set[int] = set()
        self.stopping = False

    def _take(self, message) -> None:
        if message is None:
            self.stopping = True
        elif message[0] == "cancel":
            self.cancelled.add(message[1])
        else:
            self.jobs.append(message)

    def next_job(self, timeout: float) -> tuple[int, str, dict] | None:
        """The next job, waiting up to ``timeout`` s; None if none came (or a stop did)."""
        if not self.jobs and not self.stopping and self.conn.poll(timeout):
            self._take(self.conn.recv())
        return self.jobs.popleft() if self.jobs and not self.stopping else None

    def should_stop(self, job_id: int) -> bool:
        """Read what arrived meanwhile (never waits); True once ``job_id`` was
        cancelled or the process was told to stop."""
        while self.conn.poll(0):
            self._take(self.conn.recv())
        return self.stopping or job_id in self.cancelled

    def finished(self, job_id: int) -> None:
        """``job_id`` was answered. Ids grow and a lane serves its jobs in order, so a
        cancel for this job or an earlier one (sent after its answer) is forgotten too:
        the set stays as small as the queue, however long the process lives."""
        self.cancelled = {i for i in self.cancelled if i > job_id}


class _OwnerGone(Exception):
    """The pipe broke while a job streamed: stop the job and the process."""


def _answer(conn, job_id: int, kind: str, payload: dict, should_stop) -> tuple[str, int, Any]:
    def on_updates(columns: dict[str, list]) -> None:
        try:
            conn.send(("progress", job_id, columns))
        except (OSError, ValueError) as e:
            raise _OwnerGone from e

    try:
        result = tf_jobs.get(kind).run(payload, on_updates=on_updates, should_stop=should_stop)
    except _OwnerGone:
        raise
    except Exception as e:  # the job's own failure: an answer; the process serves on
        return ("error", job_id, describe(e))
    return ("done", job_id, result)
