"""The pool owner's line to each worker: wake-ups and the stop order, over a pipe.

The pool used to share two ``multiprocessing.Event`` objects with its workers. An
Event is a lock and a condition whose ``notify`` waits until every sleeper has
acknowledged: a worker SIGKILLed (or OOM-killed) while it waited never
acknowledges, so the owner's next ``set()`` blocked forever -- the dashboard froze
at "Launch" and shutdown hung. A pipe holds no lock a process can die with: the
owner writes without blocking (a full pipe already means "wake up", a dead
reader's pipe just fails), and closing the write end is a stop order every reader
sees as end-of-file, however late it starts listening.

One pipe per worker, so one dead worker costs nothing but its own pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import os
import threading
from typing import Any

_WAKE = b"w"
_READ_CHUNK = 4096


class Doorbell:
    """The owner's end: ``ring`` to wake the worker, ``close`` to tell it to stop."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self._conn: Any = conn
        os.set_blocking(conn.fileno(), False)

    def ring(self) -> None:
        """Never blocks and never raises: a full pipe is a bell already rung, a
        closed one a worker that is gone (its supervisor deals with that)."""
        conn = self._conn
        if conn is None:
            return
        with contextlib.suppress(OSError, ValueError):  # BlockingIOError, BrokenPipeError
            os.write(conn.fileno(), _WAKE)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class Inbox:
    """The worker's end: waits for a ring, and knows once the owner said stop (the
    write end closed, or the owner died: the kernel closes its end then too)."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._stopped = False
        os.set_blocking(conn.fileno(), False)

    def _drain(self) -> bool:
        """Read what is there without blocking; True if the bell rang."""
        rung = False
        while not self._stopped:
            try:
                data = os.read(self._conn.fileno(), _READ_CHUNK)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                self._stopped = True
                break
            rung = True
        return rung

    def stop_requested(self) -> bool:
        with self._lock:
            self._drain()
            return self._stopped

    def wait(self, timeout: float | None) -> bool:
        """Until the bell rings, a stop, or ``timeout``; True unless it timed out."""
        if self.stop_requested():
            return True
        with contextlib.suppress(OSError, ValueError):
            multiprocessing.connection.wait([self._conn], timeout)
        with self._lock:
            return self._drain() or self._stopped

    def fileno(self) -> int:
        return self._conn.fileno()


def line(ctx) -> tuple[Doorbell, multiprocessing.connection.Connection]:
    """A new owner→worker pipe: the owner's ``Doorbell`` and the raw read end to pass
    to the worker process (which wraps it in an ``Inbox``); the owner closes its copy
    of the read end once the worker has started."""
    reader, writer = ctx.Pipe(duplex=False)
    return Doorbell(writer), reader
