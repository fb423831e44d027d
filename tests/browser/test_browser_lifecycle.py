"""The server's life with real signals: a worker killed while idle, SIGINT (Ctrl-C),
SIGTERM to the whole process group (systemd, ``kill -TERM -PGID``), and a restart on
the same store. Each server here is started for the test (``serve``) and ended by
the signal under test; the time from signal to exit is measured and printed.

Issue 11 fault 1 and issue 10 defect 9: the pool never freezes its owner, shutdown
takes at most 5 s, running runs end ``interrupted`` with their curves, no worker is
left behind or left a zombie, and a restarted server shows every run.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from browser_helpers import need_chromium, serve, wait_until
from playwright.sync_api import expect

from engine.store import RunStore
from tests.proc_helpers import (
    children,
    describe,
    group,
    is_zombie,
    running,
    serving_workers,
    time_to_exit,
)

pytestmark = pytest.mark.browser

STOP_LIMIT = 5.0
SLOW = {"task": "regression", "epochs": 1000, "data": {"n_train": 2000}}
TINY = {"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}}

CURVES_JS = """() => {
  const out = {};
  for (const d of document.querySelectorAll('.js-plotly-plot')) {
    const title = ((d.layout && d.layout.title && d.layout.title.text) || '')
      .replace(/<[^>]*>/g, '');
    if (title !== 'Loss') continue;
    for (const t of d.data || []) {
      const m = t.meta || {};
      if (m.series === 'loss' && !m.raw && m.run_id) out[m.run_id] = (t.x || []).length;
    }
  }
  return out;
}"""


@pytest.fixture(autouse=True)
def _need_chromium():
    need_chromium()


def _open_and_wait_for_pool(page, srv, n: int) -> list[int]:
    """Open the dashboard (its first script run starts the pool) and wait until ``n``
    workers have warmed up and reached their serving loop."""
    page.goto(srv.url)
    expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=60_000)
    return wait_until(
        lambda: (
            len(serving_workers(srv.proc.pid, srv.store)) == n
            and serving_workers(srv.proc.pid, srv.store)
        ),
        timeout=240,
        what=f"{n} worker(s) serving",
    )


def _assert_stopped_cleanly(srv, workers: list[int], took: float) -> None:
    assert took <= STOP_LIMIT, f"took {took:.1f} s"
    gone = [w for w in workers if running(w)]
    assert not gone, f"workers still alive after the server exited: {gone}"
    # Replacements spawned during the shutdown too. (multiprocessing's resource
    # tracker leaves on its own once the last process holding its pipe is gone.)
    try:
        wait_until(lambda: not group(srv.proc.pid), timeout=2, interval=0.05, what="")
    except AssertionError:
        raise AssertionError(
            f"processes of the server's group still alive: {describe(group(srv.proc.pid))}"
        ) from None
    log = srv.log.read_text(errors="replace")
    assert "Traceback" not in log, srv.log_tail()


def _training(store: RunStore, rid: str) -> bool:
    run = store.get_run(rid)
    assert run["status"] in ("queued", "running"), run
    return run["epochs_done"] >= 1


def test_launch_after_an_idle_worker_was_killed_then_sigterm(browser, tmp_path):
    """Issue 11: with one worker, an idle worker SIGKILLed used to leave "Launch 1 run"
    spinning for a minute (the page blocked on a lock the dead worker held) and
    SIGTERM no longer stopped the server."""
    with serve(tmp_path, workers=1) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        [victim] = _open_and_wait_for_pool(page, srv, 1)
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        launch = page.locator(".st-key-setup_launch button")
        expect(launch).to_have_text(re.compile("Launch 1 run"), timeout=30_000)
        launch.click()
        page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=15_000)
        expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=15_000)
        store = RunStore(srv.store)
        [run] = wait_until(store.list_runs, timeout=10, what="the launched run")
        wait_until(
            lambda: store.get_run(run["id"])["status"] == "completed",
            timeout=180,
            what="the run to be trained by the replacement worker",
        )
        t_served = time.monotonic() - t_kill
        [replacement] = serving_workers(srv.proc.pid, srv.store)  # not the TF service
        assert replacement != victim
        assert victim not in children(srv.proc.pid), "the dead worker was never reaped"
        assert not any(is_zombie(c) for c in children(srv.proc.pid))
        expect(page.get_by_text(re.compile(r"^completed · epoch"))).to_be_visible(timeout=30_000)
        page.close()
        srv.proc.send_signal(signal.SIGTERM)
        took = time_to_exit(srv.proc, STOP_LIMIT + 5)
        print(
            f"\nidle worker SIGKILLed → its replacement trained a launched run: {t_served:.1f} s;"
            f" SIGTERM → server exited {took:.2f} s"
        )
        _assert_stopped_cleanly(srv, [replacement], took)


def test_sigint_interrupts_runs_then_restart_shows_every_run(browser, tmp_path):
    """Ctrl-C: the server and its pool stop within 5 s, the training run is
    ``interrupted`` with its partial curve; a new server on the same store shows every
    run with its curve."""
    with serve(tmp_path, workers=2) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        workers = _open_and_wait_for_pool(page, srv, 2)
        store = RunStore(srv.store)
        done = store.create_run(TINY, name="finished before the stop")
        slow = store.create_run(SLOW, name="training at the stop")
        wait_until(
            lambda: store.get_run(done)["status"] == "completed" and _training(store, slow),
            timeout=180,
            what="one run finished and one training",
        )
        page.close()
        srv.proc.send_signal(signal.SIGINT)
        took = time_to_exit(srv.proc, STOP_LIMIT + 5)
        print(f"\nSIGINT → server exited {took:.2f} s")
        _assert_stopped_cleanly(srv, workers, took)
    stopped = store.get_run(slow)
    assert stopped["status"] == "interrupted", stopped
    assert "stopped" in stopped["error"], stopped["error"]
    assert stopped["epochs_done"] >= 1
    expected = {done: 3, slow: stopped["epochs_done"]}

    with serve(tmp_path, workers=1) as srv2:  # the same store file
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{srv2.url}/compare?runs={done},{slow}")
        expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=60_000)

        def curves():
            page.mouse.wheel(0, 3000)  # the charts sit below the table: bring them in view
            return page.evaluate(CURVES_JS) == expected

        wait_until(curves, timeout=180, what=f"both runs' full curves {expected}")
        expect(page.get_by_text("interrupted", exact=False).first).to_be_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        page.close()
    assert len(RunStore(srv2.store).list_runs()) == 2


def test_sigterm_to_the_process_group_stops_within_seconds(browser, tmp_path):
    """systemd (KillMode=control-group) and ``kill -TERM -PGID`` signal the workers too:
    the dying workers must not be respawned into zombies, nor hang the shutdown."""
    with serve(tmp_path, workers=2) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        workers = _open_and_wait_for_pool(page, srv, 2)
        store = RunStore(srv.store)
        slow = store.create_run(SLOW, name="training at the stop")
        wait_until(lambda: _training(store, slow), timeout=120, what="the run training")
        page.close()
        os.killpg(srv.proc.pid, signal.SIGTERM)  # serve() started it in its own session
        took = time_to_exit(srv.proc, STOP_LIMIT + 5)
        print(f"\nSIGTERM to the process group → server exited {took:.2f} s")
        _assert_stopped_cleanly(srv, workers, took)
    stopped = store.get_run(slow)
    assert stopped["status"] == "interrupted", stopped
    assert stopped["epochs_done"] >= 1
