"""The TensorFlow service: previews and range tests in processes of their own, with
real processes and real signals. One service serves the module (each start imports
TensorFlow twice); tests that kill a process wait for its replacement before they end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from executor_helpers import poll

from engine.config import validate
from engine.executor.tf_service import DONE, FAILED, QUEUED, RUNNING, TFService
from engine.executor.worker import pid_alive

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_BUDGET = 100_000  # bytes: a handful of small previews, so eviction is seen
START = 240  # seconds for a lane to import TensorFlow on a loaded 2-core machine

COSINE = {"task": "regression", "schedule": {"name": "cosine_decay", "warmup_steps": 30}}
# Thousands of LSTM updates: still running for many seconds, whatever the machine.
LONG_LR = {"task": "sequence", "data": {"n_train": 256}}
# Each test asks for its own number of updates: an identical request would be answered
# from what an earlier test left (a cached result, a remembered failure).


def lr_payload(cfg: dict, updates: int, **kw) -> dict:
    return {"config": validate(cfg), "min_lr": 1e-7, "max_lr": 10.0, "updates": updates, **kw}


def wait_done(svc: TFService, kind: str, key: str, timeout: float = START):
    def ready():
        t = svc.ticket(kind, key)
        return t if t is not None and not t.pending else None

    return poll(ready, timeout, f"{kind} {key[:60]}", interval=0.1)


def wait_ready(svc: TFService, lane: str, timeout: float = START) -> dict:
    return poll(
        lambda: (s := svc.status()["lanes"][lane])["ready"] and s,
        timeout,
        f"the {lane} lane to be ready",
        interval=0.1,
    )


@pytest.fixture(scope="module")
def svc():
    service = TFService(cache_bytes={"preview": PREVIEW_BUDGET}).start()
    try:
        wait_ready(service, "preview")
        wait_ready(service, "jobs")  # started by itself once the preview lane was up
        yield service
    finally:
        lanes = service.status()["lanes"]
        service.stop(timeout=5)
        pids = [s["pid"] for s in lanes.values() if s["pid"]]
        poll(lambda: not any(pid_alive(p) for p in pids), 10, "every service process to end")


def test_the_preview_is_the_engines_own(svc):
    """The service answers with engine.schedule_preview.preview itself: the very
    schedule object training builds (test_numerics proves that equals the applied LR)."""
    from engine.schedule_preview import preview

    cfg = validate(COSINE)
    t = svc.submit("preview", {"config": cfg})
    assert t.state in (QUEUED, RUNNING, DONE)
    got = wait_done(svc, "preview", t.key)
    assert got.state == DONE, got.error
    assert got.result == preview(cfg)
    # Asked again: the cache answers at once, no new job.
    again = svc.submit("preview", {"config": cfg})
    assert again.state == DONE and again.result is got.result


def test_the_service_yields_the_cpu_to_the_page(svc):
    """Each lane runs ``priority.SERVICE`` steps below its owner: on a 2-core machine its
    TensorFlow import no longer holds the first page back."""
    from engine.executor import priority

    own = os.getpriority(os.PRIO_PROCESS, 0)
    for lane in ("preview", "jobs"):
        pid = wait_ready(svc, lane)["pid"]
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + priority.SERVICE), lane


def test_a_bad_request_is_an_answer_and_the_process_serves_on(svc):
    pid = svc.status()["lanes"]["jobs"]["pid"]
    t = svc.submit("lr_find", lr_payload({"task": "regression"}, 50, min_lr=1.0, max_lr=0.5))
    got = wait_done(svc, "lr_find", t.key)
    assert got.state == FAILED and "min_lr" in got.error
    assert svc.status()["lanes"]["jobs"]["pid"] == pid  # the same process, alive
    # Remembered: asking again does not re-run it; retry does.
    bad = lr_payload({"task": "regression"}, 50, min_lr=1.0, max_lr=0.5)
    assert svc.submit("lr_find", bad).state == FAILED
    assert svc.submit("lr_find", bad, retry=True).pending
    assert "min_lr" in wait_done(svc, "lr_find", t.key).error
    with pytest.raises(ValueError, match="kind"):
        svc.submit("train", {})


def test_the_range_test_streams_its_curve_and_matches_the_engine(svc):
    cfg = {"task": "regression", "data": {"n_train": 400}}
    t = svc.submit("lr_find", lr_payload(cfg, 300), owner="a")
    sizes = []

    def finished():
        now = svc.ticket("lr_find", t.key)
        if now.state == RUNNING:
            sizes.append(len((now.partial or {}).get("lr", [])))
        return now if not now.pending else None

    got = poll(finished, START, "the range test", interval=0.05)
    assert got.state == DONE, got.error
    res = got.result
    # Seen part-way: the curve grew while the test ran.
    assert any(0 < n < res["updates"] for n in sizes), sizes
    assert res["lr"][0] == pytest.approx(1e-7) and res["suggestion"] > 0
    assert len(res["loss"]) == res["updates"] and not res["cancelled"]


def test_a_preview_never_waits_behind_a_range_test(svc):
    long = svc.submit("lr_find", lr_payload(LONG_LR, 2000), owner="teacher")
    poll(lambda: svc.ticket("lr_find", long.key).state == RUNNING, START, "the long test to run")
    cfg = validate({**COSINE, "epochs": 7})
    t = svc.submit("preview", {"config": cfg})
    got = wait_done(svc, "preview", t.key, timeout=120)
    still = svc.ticket("lr_find", long.key)
    assert got.state == DONE
    assert still.state == RUNNING, "the range test ended first: the check proved nothing"
    # A second session's test queues behind the running one and says so...
    other = svc.submit("lr_find", lr_payload({"task": "regression"}, 60), owner="student")
    assert other.state == QUEUED and other.ahead == 1
    # ...and a session's newer test replaces its own queued older one.
    newer = svc.submit("lr_find", lr_payload({"task": "regression"}, 70), owner="student")
    assert svc.ticket("lr_find", other.key) is None
    assert newer.state == QUEUED and newer.ahead == 1
    # SIGKILL the job process mid-test: that test fails with the reason, the queued one
    # runs on its replacement, and previews were never affected.
    pid = svc.status()["lanes"]["jobs"]["pid"]
    os.kill(pid, signal.SIGKILL)
    dead = wait_done(svc, "lr_find", long.key, timeout=30)
    assert dead.state == FAILED
    assert "SIGKILL" in dead.error and "try again" in dead.error
    lane = wait_ready(svc, "jobs")
    assert lane["pid"] != pid and lane["restarts"] == 1
    assert wait_done(svc, "lr_find", newer.key).state == DONE
    fresh = svc.submit("preview", {"config": validate({**COSINE, "epochs": 8})})
    assert wait_done(svc, "preview", fresh.key, timeout=60).state == DONE


def test_a_killed_preview_process_is_replaced(svc):
    before = svc.status()["lanes"]["preview"]
    os.kill(before["pid"], signal.SIGKILL)
    poll(
        lambda: svc.status()["lanes"]["preview"]["restarts"] == before["restarts"] + 1,
        30,
        "the death to be noticed",
    )
    # Asked at once, while the new process is still starting: answered when it is up.
    cfg = validate({**COSINE, "epochs": 9})
    t = svc.submit("preview", {"config": cfg})
    assert t.pending
    assert wait_done(svc, "preview", t.key).state == DONE
    after = svc.status()["lanes"]["preview"]
    assert after["pid"] != before["pid"] and after["ready"]
    assert "SIGKILL" in after["deaths"][-1]["reason"]


def test_the_preview_cache_is_bounded_by_bytes(svc):
    keys = []
    for epochs in range(11, 23):  # constant rates: vectorised, milliseconds each
        t = svc.submit("preview", {"config": validate({"task": "regression", "epochs": epochs})})
        keys.append(t.key)
        assert wait_done(svc, "preview", t.key).state == DONE
    held = svc.status()["cached_bytes"]["preview"]
    assert 0 < held <= PREVIEW_BUDGET
    assert svc.ticket("preview", keys[0]) is None  # the oldest went first
    assert svc.ticket("preview", keys[-1]).state == DONE


def test_a_sessions_newer_range_test_cancels_its_running_older_one(svc):
    """The older test is still training when the same session asks for another: nobody
    reads it any more, so it stops at its next update in the same process (before, it
    trained to its end while the newer one waited), and its truncated curve is not
    kept as the answer to its settings."""
    pid = svc.status()["lanes"]["jobs"]["pid"]
    old = svc.submit("lr_find", lr_payload(LONG_LR, 2001), owner="pupil")
    poll(lambda: svc.ticket("lr_find", old.key).state == RUNNING, START, "the old test to run")
    newer = svc.submit(
        "lr_find", lr_payload({"task": "regression"}, 40, max_lr=1e-3), owner="pupil"
    )
    assert svc.ticket("lr_find", old.key) is None  # forgotten at once
    got = wait_done(svc, "lr_find", newer.key)
    assert got.state == DONE and got.result["updates"] == 40, got.error
    assert svc.ticket("lr_find", old.key) is None, "the cancelled test's answer was kept"
    assert svc.status()["lanes"]["jobs"]["pid"] == pid  # cancelled, not killed
    # Another session waiting for the same test keeps it running.
    shared = svc.submit("lr_find", lr_payload(LONG_LR, 2001), owner="pupil")
    svc.submit("lr_find", lr_payload(LONG_LR, 2001), owner="classmate")
    poll(lambda: svc.ticket("lr_find", shared.key).state == RUNNING, START, "the shared test")
    svc.submit("lr_find", lr_payload({"task": "regression"}, 41, max_lr=1e-3), owner="pupil")
    assert svc.ticket("lr_find", shared.key).state == RUNNING
    svc.submit("lr_find", lr_payload({"task": "regression"}, 42, max_lr=1e-3), owner="classmate")
    assert svc.ticket("lr_find", shared.key) is None


def test_a_failure_of_a_lane_that_could_not_start_is_forgotten_when_it_is_up():
    """ "Unavailable: its process cannot start" is about the lane, not the request: once
    a start succeeds, asking again runs it (before, it stayed failed for good)."""
    from engine.executor import tf_jobs
    from engine.executor.tf_service import _Job

    service = TFService()  # not started: no process, the bookkeeping alone
    with service._lock:  # as the lane threads call these
        job = _Job(1, tf_jobs.get("preview"), "k", {})
        service._fail(job, "the schedule preview is unavailable: …", transient=True)
        bad = _Job(2, tf_jobs.get("preview"), "bad", {})
        service._fail(bad, "schedule.decay_steps: must be > 0")
        assert service.ticket("preview", "k").state == FAILED
        service._on_ready(service._lanes["jobs"])  # another lane: not this one's failure
        assert service.ticket("preview", "k").state == FAILED
        service._on_ready(service._lanes["preview"])
        assert service.ticket("preview", "k") is None
        assert service.ticket("preview", "bad").state == FAILED  # the request's own error stays


def test_a_cancel_that_comes_after_its_answer_is_not_kept():
    """The server cancels a range test its process has just answered (the two crossed
    in the pipe): the process must not keep that id for ever, nor stop a later job."""
    import multiprocessing

    from engine.executor.tf_process import Inbox

    ours, theirs = multiprocessing.Pipe()
    inbox = Inbox(theirs)
    ours.send((5, "lr_find", {}))
    assert inbox.next_job(1)[0] == 5
    inbox.finished(5)  # answered...
    ours.send(("cancel", 5))  # ...while the server cancelled it
    ours.send((6, "lr_find", {}))
    assert inbox.next_job(1) is None  # the cancel came first: no job in it
    assert inbox.next_job(1)[0] == 6 and not inbox.should_stop(6)
    inbox.finished(6)
    assert inbox.cancelled == set()
    ours.send(("cancel", 7))  # a cancel for a job still queued behind the running one
    assert inbox.should_stop(6) is False and inbox.cancelled == {7}


def test_the_service_ends_with_its_owner(tmp_path):
    """SIGKILL the process that owns a service: its lanes' processes exit by themselves
    at once, even while they are still importing TensorFlow."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from engine.executor.tf_service import TFService
        svc = TFService(eager=("preview", "jobs")).start()
        deadline = time.monotonic() + 120
        while not all(s["pid"] for s in svc.status()["lanes"].values()):
            assert time.monotonic() < deadline, "the lanes never started"
            time.sleep(0.05)  # polling interval
        print(json.dumps([s["pid"] for s in svc.status()["lanes"].values()]), flush=True)
        time.sleep(600)  # stays alive until the test SIGKILLs it
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        pids = json.loads(owner.stdout.readline())
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        t0 = time.monotonic()
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        poll(lambda: not any(pid_alive(p) for p in pids), 10, "the orphaned service to exit")
        print(f"\nservice processes gone {time.monotonic() - t0:.2f} s after their owner")
    finally:
        if owner.poll() is None:
            owner.kill()


def test_stop_ends_a_running_range_test_at_its_next_update(svc):
    """Last in this module (it stops the shared service). A range test is training when
    the server stops: its process is told to, stops the test at its next update and
    exits by itself (exit code 0); before, it trained on until stop() gave up waiting
    and terminated it, which alone took longer than a whole server may take to stop."""
    long = svc.submit("lr_find", lr_payload(LONG_LR, 2002), owner="last")
    poll(
        lambda: (t := svc.ticket("lr_find", long.key)).state == RUNNING and t.partial,
        START,
        "the test to stream",
    )
    # The processes' own handles: stop() closes the Process objects.
    popens = {name: lane.proc._popen for name, lane in svc._lanes.items()}
    svc.stop(timeout=5)
    assert {name: p.returncode for name, p in popens.items()} == {"preview": 0, "jobs": 0}
    got = svc.ticket("lr_find", long.key)
    assert got.state == FAILED and "stopping" in got.error
