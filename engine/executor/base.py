"""What every executor backend shares: the store as the queue, and one lifecycle.

``submit``, ``cancel`` and ``wait`` go through the run store only, so they are the
same whether runs train in local worker processes or on Ray actors. The lifecycle
guards are here too, once: ``start`` twice is one start, ``stop`` before ``start``
or twice is a no-op, a stopped executor is never started again. A backend supplies
``_start`` and ``_stop`` (and ``status``'s per-worker rows), nothing else.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.config import validate
from engine.errors import ConfigError
from engine.executor import worker as worker_mod
from engine.store import TERMINAL, IllegalTransition, RunStore

WAIT_POLL = 0.1
FOREIGN_STALE_AFTER = 120.0


def validate_all(configs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every config checked before any is queued; each problem names its config."""
    out, problems = [], []
    for i, raw in enumerate(configs):
        try:
            out.append(validate(raw))
        except ConfigError as e:
            problems += [(f"configs[{i}].{f}" if f else f"configs[{i}]", m) for f, m in e.problems]
    if problems:
        raise ConfigError(problems)
    return out


def recover_orphaned_runs(store: RunStore) -> list[str]:
    """Mark runs left ``running`` by a dead pool as ``interrupted``.

    Like ``store.recover_interrupted()``, but a run whose owner process is still alive
    on this machine (another pool serving the same store) is left alone; so is a run
    owned on another machine that still sends heartbeats.
    """
    here = socket.gethostname()
    now = time.time()
    done = []
    for run in store.list_runs(status="running"):
        owner = worker_mod.parse_worker_id(run.get("worker_id"))
        if owner is not None:
            if owner.host == here and worker_mod.pid_alive(owner.pid):
                continue
            beat = run.get("heartbeat") or run.get("started") or 0
            if owner.host != here and now - beat < FOREIGN_STALE_AFTER:
                continue
        with contextlib.suppress(IllegalTransition, KeyError):
            store.set_status(
                run["id"],
                "interrupted",
                error="interrupted: the worker stopped before the run finished"
                + (f" (worker {run['worker_id']} is gone)" if run.get("worker_id") else ""),
            )
            done.append(run["id"])
    return done


def _as_list(run_ids: str | Iterable[str]) -> list[str]:
    return [run_ids] if isinstance(run_ids, str) else list(dict.fromkeys(run_ids))


class BaseExecutor:
    """What every backend shares: submit, cancel and wait go through the store only,
    and the lifecycle guards around the backend's own ``_start`` and ``_stop``."""

    backend = "base"

    def __init__(self, store_path: str | os.PathLike | None = None) -> None:
        self.store = RunStore(store_path)
        self.store_path: Path = self.store.path
        # Held while starting and while deciding to stop; the backends' threads take it
        # too (re-entrant, so a backend's _start may call its own locked helpers).
        self._lock = threading.RLock()
        self._started = False
        self._stopped = False

    def _notify(self) -> None:
        """Tell idle workers there is work now rather than at their next poll."""

    def submit(
        self,
        configs: Sequence[Mapping[str, Any]],
        *,
        names: Sequence[str] | None = None,
        sweep_id: str | None = None,
        tags: Sequence[str] | None = None,
        reuse: bool = False,
    ) -> list[str]:
        """Queue runs, all or none. Configs are stored in canonical form, so a stored
        config reproduces the run and re-imports unchanged.

        ``reuse``: a config whose validated form (seed included) matches a finished run
        is not trained again: its run is created finished, a copy of that run's result
        and curves; one matching a queued or running run waits for it and is settled
        when it ends (``engine.store.reuse``, which says why a copy is honest). The
        dashboard's launches reuse; scripts and the CLI train what they are given."""
        if isinstance(configs, Mapping):
            raise ConfigError("configs", "must be a list of configs, got one config object")
        checked = validate_all(configs)
        try:
            ids = self.store.create_runs(
                checked, names=names, sweep_id=sweep_id, tags=tags, reuse=reuse
            )
        except ValueError as e:  # names/tags/sweep_id: their own field-named messages
            raise ConfigError([("", str(e))]) from None
        self._notify()
        return ids

    def cancel(
        self, run_id: str | None = None, *, sweep_id: str | None = None, all: bool = False
    ) -> int:
        """Queued runs are cancelled at once; running ones stop at the next epoch
        boundary, keeping their partial curves. Returns how many runs changed."""
        return self.store.request_cancel(run_id, sweep_id=sweep_id, all=all)

    def wait(self, run_ids: str | Iterable[str], timeout: float | None = None) -> dict[str, str]:
        """Statuses once every run is terminal or ``timeout`` seconds passed (then some
        are still ``queued``/``running``; the caller decides what that means)."""
        ids = _as_list(run_ids)
        status = {rid: self.store.get_run(rid)["status"] for rid in ids}
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pending = [rid for rid, s in status.items() if s not in TERMINAL]
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                return status
            time.sleep(WAIT_POLL)
            for rid in pending:
                status[rid] = self.store.get_run(rid)["status"]

    def _running_by_worker(self) -> dict[str, str]:
        return {
            r["worker_id"]: r["id"]
            for r in self.store.list_runs(status="running")
            if r["worker_id"]
        }

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        """Start serving the store's queue. Starting a started (or started and
        stopped) executor returns it as it is; one stopped before it ever started
        raises: it will never serve."""
        with self._lock:
            if self._started:
                return self
            if self._stopped:
                raise RuntimeError("this executor was stopped; create a new one")
            self._start()
            self._started = True
        self._after_start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Stop within about ``timeout`` seconds (each backend says what happens to the
        runs in flight); stopping an unstarted or stopped executor does nothing."""
        with self._lock:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True
            self._signal_stop(timeout)
        self._stop(timeout)

    def _start(self) -> None:  # pragma: no cover - every backend overrides
        """Bring the workers up (with the lock held)."""
        raise NotImplementedError

    def _after_start(self) -> None:
        """What starting does once the lock is released."""

    def _signal_stop(self, timeout: float) -> None:
        """Tell the backend's own threads to stop (with the lock held)."""

    def _stop(self, timeout: float) -> None:  # pragma: no cover - every backend overrides
        """End the workers and close the store (without the lock)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ reads

    def status(self) -> dict[str, Any]:
        """The pool now: a row per worker (``pid``, ``alive``, the ``run_id`` it
        trains), how many are busy and idle, and how many runs wait in the queue."""
        workers = self._worker_rows(self._running_by_worker())
        busy = sum(1 for w in workers if w["run_id"])
        alive = sum(1 for w in workers if w["alive"])
        return {
            "backend": self.backend,
            "workers": workers,
            "busy": busy,
            "idle": alive - busy,
            "queued": len(self.store.list_runs(status="queued")),
        }

    def _worker_rows(self, running: dict[str, str]) -> list[dict[str, Any]]:  # pragma: no cover
        """One row per worker, given ``worker_id -> run_id`` of the running runs."""
        raise NotImplementedError


def whole_number(field: str, value: Any) -> int:
    """A count the caller gave (workers, CPUs per run): a whole number ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, f"must be a whole number ≥ 1, got {value!r}")
    return value
