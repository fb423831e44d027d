"""``RayExecutor``: the same runs on a Ray cluster, the same store on the driver.

A run on another node cannot write the driver's SQLite file (and SQLite over a network
file system is a corruption risk), so the store stays the driver's: the driver claims
queued runs, hands each to a long-lived Ray actor (one run at a time, TensorFlow
imported once per actor, as in the local pool), pulls the run's records from the actor
while it trains and writes them into the store, so live curves work as they do locally.
Cancel goes the other way: the driver sees the store's cancel flag and sets a flag on
the actor, which the run's ``should_stop`` reads without a round trip.

Ray is optional: this module imports ``ray`` only inside functions, and the actor class
is plain Python wrapped with ``ray.remote`` at start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

from engine.executor.base import BaseExecutor, recover_orphaned_runs, whole_number
from engine.records import ForwardingSink, replay
from engine.store import IllegalTransition, StoreSink

log = logging.getLogger("engine.executor")

DISPATCH_INTERVAL = 0.2
RPC_TIMEOUT = 30.0
# Seconds a pruning study's run waits for the driver's word on an epoch before it
# trains on regardless (a driver that went away cannot leave it waiting forever).
ACK_TIMEOUT = 60.0
MAX_INIT_FAILURES = 5


class RunActor:
    """Trains runs inside a Ray worker process; ``run`` blocks one actor thread while
    ``drain``, ``ack`` and ``cancel`` are served by the others (a threaded actor). A run
    is trained as a local worker trains it (``run_loop.train_one``); its records wait
    in order in a buffer until the driver pulls them.

    A run of a study that prunes waits at each epoch boundary for the driver's word on
    that epoch (``ack``: go on, or stop here), as a local worker's run waits for its
    own prune check: a pruned run stops at the epoch its pruner named, not a few epochs
    later when a cancel would have crossed the network."""

    def __init__(self, intra_threads: int | None = None, inter_threads: int | None = None):
        from engine.executor.run_loop import warm_up

        self._lock = threading.Condition()
        self._records: list[tuple] = []
        self._cancelled: set[str] = set()
        self._written: dict[str, int] = {}  # run id -> last epoch pushed
        self._acked: dict[str, int] = {}  # run id -> last epoch the driver answered
        warm_up(intra_threads, inter_threads)

    def where(self) -> tuple[str, int]:
        return socket.gethostname(), os.getpid()

    def _push(self, run_id: str, kind: str, payload: Any) -> None:
        with self._lock:
            self._records.append((kind, payload))
            if kind == "epoch":
                self._written[run_id] = payload["epoch"]

    def _should_stop(self, run_id: str, wait_for_ack: bool) -> bool:
        with self._lock:
            if wait_for_ack:  # returns at once between batches: the epoch is answered
                self._lock.wait_for(
                    lambda: (
                        run_id in self._cancelled
                        or self._acked.get(run_id, 0) >= self._written.get(run_id, 0)
                    ),
                    timeout=ACK_TIMEOUT,
                )
            return run_id in self._cancelled

    def run(
        self, run_id: str, config: dict, workdir: str | None = None, wait_for_ack: bool = False
    ) -> str:
        from engine.executor.run_loop import train_one

        sink = ForwardingSink(lambda kind, payload: self._push(run_id, kind, payload))
        try:
            return train_one(
                run_id,
                config,
                sink=sink,
                should_stop=lambda: self._should_stop(run_id, wait_for_ack),
                workdir=workdir,
                # A config train() rejects is still a result, for the driver to store.
                fail=lambda reason: sink.on_finish({"status": "failed", "error": reason}),
            )
        finally:
            with self._lock:
                self._cancelled.discard(run_id)
                self._written.pop(run_id, None)
                self._acked.pop(run_id, None)

    def drain(self) -> list[tuple]:
        with self._lock:
            out, self._records = self._records, []
        return out

    def ack(self, run_id: str, epoch: int, stop: bool = False) -> None:
        """The driver has written ``run_id``'s epochs up to ``epoch``: go on, or stop."""
        with self._lock:
            if stop:
                self._cancelled.add(run_id)
            self._acked[run_id] = max(self._acked.get(run_id, 0), epoch)
            self._lock.notify_all()

    def cancel(self, run_id: str) -> None:
        with self._lock:
            self._cancelled.add(run_id)
            self._lock.notify_all()


class _Slot:
    def __init__(self, index: int, actor: Any, where_ref: Any) -> None:
        self.index = index
        self.actor = actor
        self.where_ref = where_ref
        self.host: str | None = None
        self.pid: int | None = None
        self.alive = True
        self.run_id: str | None = None
        self.ref: Any = None
        self.cancel_sent = False
        self.sink: Any = None
        self.acks = False  # the run waits for the driver's word at each epoch boundary


class RayExecutor(BaseExecutor):
    """Runs on Ray actors; records and status in the driver's store."""

    backend = "ray"

    def __init__(
        self,
        store_path: str | os.PathLike | None = None,
        workers: int | None = None,
        *,
        address: str | None = None,
        workdir: str | os.PathLike | None = None,
        cpus_per_run: int = 1,
        runtime_env: dict | None = None,
    ) -> None:
        super().__init__(store_path)
        self.n_workers = None if workers is None else whole_number("workers", workers)
        whole_number("cpus_per_run", cpus_per_run)
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workdir = None if workdir is None else os.path.abspath(os.path.expanduser(workdir))
        self.cpus_per_run = cpus_per_run
        self.runtime_env = runtime_env
        self._slots: list[_Slot] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stop_deadline = 0.0
        self._thread: threading.Thread | None = None
        self._owns_ray = False
        self._actor_cls: Any = None
        self._id_prefix = f"ray:{socket.gethostname()}:{os.getpid()}"
        self._init_failures = 0
        self.deaths: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"RayExecutor({str(self.store_path)!r}, workers={self.n_workers})"

    # ------------------------------------------------------------------ lifecycle

    def _start(self) -> None:
        import ray

        if not ray.is_initialized():
            kw: dict[str, Any] = {"runtime_env": self.runtime_env}
            if self.address:
                kw["address"] = self.address
            else:
                kw.update(
                    num_cpus=(self.n_workers or os.cpu_count() or 1) * self.cpus_per_run,
                    include_dashboard=False,
                )
            ray.init(**kw)
            self._owns_ray = True
        if self.n_workers is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.n_workers = max(1, cpus // self.cpus_per_run)
        self._actor_cls = ray.remote(num_cpus=self.cpus_per_run, max_concurrency=4)(RunActor)
        recover_orphaned_runs(self.store)
        self._slots = [self._new_slot(i) for i in range(self.n_workers)]
        self._thread = threading.Thread(
            target=self._dispatch, name="hplab-ray-dispatch", daemon=True
        )
        self._thread.start()

    def _new_slot(self, index: int) -> _Slot:
        actor = self._actor_cls.remote(self.cpus_per_run, 1)
        return _Slot(index, actor, actor.where.remote())

    def _worker_id(self, slot: _Slot) -> str:
        return f"{self._id_prefix}:{slot.index}"

    def _signal_stop(self, timeout: float) -> None:
        self._stop_deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()

    def _stop(self, timeout: float) -> None:  # noqa: ARG002 (the deadline is _signal_stop's)
        """Cancel running runs (partial curves kept), wait up to ``timeout`` for their
        last records, then end the actors; a run still going is ``interrupted``."""
        if self._thread is not None:
            self._thread.join()
        import ray

        for slot in self._slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)
        if self._owns_ray:
            ray.shutdown()
        self.store.close()

    def _notify(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ dispatch loop

    def _dispatch(self) -> None:
        while True:
            try:
                if self._step():
                    return
            except Exception:  # never let one bad moment end the dispatcher silently
                log.exception("ray executor: dispatch step failed")
            self._wake.wait(DISPATCH_INTERVAL)
            self._wake.clear()

    def _step(self) -> bool:
        """One round: pull records, finish ended runs, forward cancels, start runs.
        Returns True when the executor has stopped and nothing is in flight."""
        import ray

        stopping = self._stopping.is_set()
        busy = [s for s in self._slots if s.run_id is not None]
        self._resolve_where()
        if busy:
            done_refs, _ = ray.wait([s.ref for s in busy], num_returns=len(busy), timeout=0)
            done = {id(r) for r in done_refs}
            for slot in busy:
                self._pull(slot)
                if id(slot.ref) in done:
                    self._finish(slot)
            for slot in busy:
                if slot.run_id is None or slot.cancel_sent:
                    continue
                try:
                    if stopping:
                        self.store.request_cancel(slot.run_id)
                        wanted = True
                    else:
                        wanted = self.store.cancel_requested(slot.run_id)
                except KeyError:  # deleted under us
                    wanted = True
                if wanted:
                    slot.actor.cancel.remote(slot.run_id)
                    slot.cancel_sent = True
        if stopping:
            if any(s.run_id for s in self._slots):
                if time.monotonic() < self._stop_deadline:
                    return False
                for slot in self._slots:
                    if slot.run_id is not None:
                        self._abandon(
                            slot,
                            "interrupted",
                            "interrupted: the remote run did not stop in time when its"
                            " executor stopped",
                        )
            return True
        for slot in self._slots:
            # Only warm actors get runs, so "running" in the store means training.
            if slot.run_id is None and slot.alive and slot.pid is not None:
                claim = self.store.claim_next(self._worker_id(slot))
                if claim is None:
                    break
                run_id, config = claim
                slot.run_id, slot.cancel_sent = run_id, False
                slot.sink = self._sink(run_id)
                slot.acks = getattr(slot.sink, "prunes", False)
                slot.ref = slot.actor.run.remote(run_id, config, self.workdir, slot.acks)
        return False

    def _resolve_where(self) -> None:
        import ray

        pending = [s for s in self._slots if s.pid is None and s.where_ref is not None]
        if not pending:
            return
        ready, _ = ray.wait([s.where_ref for s in pending], num_returns=len(pending), timeout=0)
        ready_ids = {id(r) for r in ready}
        for s in pending:
            if id(s.where_ref) not in ready_ids:
                continue
            try:
                s.host, s.pid = ray.get(s.where_ref)
                s.where_ref = None
                self._init_failures = 0
            except Exception as e:  # the actor failed to start (TensorFlow missing on a node?)
                self._init_failures += 1
                reason = f"Ray worker failed to start: {type(e).__name__}: {str(e)[:300]}"
                self.deaths.append({"pid": None, "reason": reason, "runs": [], "time": time.time()})
                log.error("ray executor: %s", reason)
                if self._init_failures <= MAX_INIT_FAILURES:
                    self._slots[s.index] = self._new_slot(s.index)
                else:
                    s.alive, s.where_ref = False, None

    def _pull(self, slot: _Slot) -> None:
        import ray

        try:
            records = ray.get(slot.actor.drain.remote(), timeout=RPC_TIMEOUT)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            return  # the run's own ref reports the failure
        self._write(slot, records)

    def _write(self, slot: _Slot, records: list[tuple]) -> None:
        """Replay the remote records into a driver-side ``StoreSink``: whatever a local
        worker's sink does with a record (live diagnosis too) happens for Ray runs."""
        run_id = slot.run_id
        if slot.sink is None:
            slot.sink = self._sink(run_id)
        epoch = 0
        for kind, payload in records:
            try:
                replay(slot.sink, kind, payload)
            except (IllegalTransition, KeyError) as e:
                # Recovered or deleted under us: stop the remote run, drop its records.
                log.warning("ray executor: run %s: %s", run_id, e)
                if not slot.cancel_sent:
                    slot.actor.cancel.remote(run_id)
                    slot.cancel_sent = True
                return
            if kind == "epoch":
                epoch = payload["epoch"]
        if slot.acks and epoch:
            # Written and put to the pruner: the run may go on, or stops at this epoch.
            prune = getattr(slot.sink, "decision", None) is not None
            slot.actor.ack.remote(run_id, epoch, prune)
            slot.cancel_sent = slot.cancel_sent or prune

    def _sink(self, run_id: str):
        """The driver-side sink of a run: its ``StoreSink``, and for a study's run the
        study's hooks (pruner asked per epoch, the study topped up at its end)."""
        from engine.search.driver import study_sink

        return study_sink(
            StoreSink(self.store, run_id), self.store, run_id, slots=self.n_workers or 1
        )

    def _finish(self, slot: _Slot) -> None:
        import ray

        try:
            ray.get(slot.ref, timeout=RPC_TIMEOUT)
        except ray.exceptions.RayActorError as e:
            reason = _actor_death_reason(e)
            self.deaths.append(
                {"pid": slot.pid, "reason": reason, "runs": [slot.run_id], "time": time.time()}
            )
            run_id = slot.run_id
            self._abandon(slot, "failed", reason)
            slot.alive = False
            self._slots[slot.index] = self._new_slot(slot.index)
            from engine.search.driver import top_up_after_loss

            # A study's run that never told its study it ended: ask its successors.
            top_up_after_loss(self.store, [run_id], self.n_workers or 1)
            return
        except Exception as e:  # RayTaskError: the run method itself raised
            self._abandon(slot, "failed", f"{type(e).__name__}: {e}")
            return
        self._pull(slot)
        if slot.run_id is not None:
            try:
                if self.store.get_run(slot.run_id)["status"] == "running":
                    self.store.fail_run(slot.run_id, "the remote run ended without a result")
            except (KeyError, IllegalTransition):
                pass
        slot.run_id, slot.ref = None, None

    def _abandon(self, slot: _Slot, status: str, reason: str) -> None:
        with contextlib.suppress(IllegalTransition, KeyError):
            self.store.set_status(slot.run_id, status, error=reason)
        slot.run_id, slot.ref = None, None

    # ------------------------------------------------------------------ reads

    def _worker_rows(self, running: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            slots = list(self._slots)
        return [
            {
                "pid": s.pid,
                "alive": s.alive,
                "run_id": running.get(self._worker_id(s)),
                "node": s.host,
            }
            for s in slots
        ]


def _actor_death_reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    detail = next((line for line in text if "died" in line or "exit" in line.lower()), None)
    return "Ray worker died" + (f" ({detail.strip()[:300]})" if detail else "")
