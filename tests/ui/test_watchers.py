"""A class watching live runs slows the poll in steps; a lone session keeps its pace."""

from __future__ import annotations

import threading

from ui.runs import FAST_POLL_SECONDS, POLL_SECONDS, poll_seconds
from ui.watchers import MAX_STEPS, SESSIONS_PER_STEP, Watchers, pace_factor

NOW = 1_000_000.0


def test_the_pace_steps_with_the_class_and_stops_at_its_slowest():
    assert [pace_factor(n) for n in (0, 1, 8)] == [1, 1, 1]
    assert pace_factor(SESSIONS_PER_STEP + 1) == 2
    assert pace_factor(16) == 2 and pace_factor(17) == 3
    assert pace_factor(30) == MAX_STEPS and pace_factor(10_000) == MAX_STEPS


def test_poll_seconds_slows_both_paces_and_a_finished_selection_never_polls():
    training = {"status": "running", "epochs_done": 3, "started": NOW - 60}
    waiting = {"status": "queued", "epochs_done": 0, "created": NOW - 0.1}
    assert poll_seconds([training], NOW) == POLL_SECONDS
    assert poll_seconds([training], NOW, watching=30) == POLL_SECONDS * MAX_STEPS
    assert poll_seconds([waiting], NOW, watching=12) == FAST_POLL_SECONDS * 2
    # The fast pace stays faster than the normal one at every class size.
    assert FAST_POLL_SECONDS * MAX_STEPS < POLL_SECONDS
    assert poll_seconds([{"status": "completed"}], NOW, watching=30) is None


def test_sessions_are_counted_once_within_the_window_and_leave():
    w = Watchers(window=10)
    assert w.seen("a", now=0) == 1
    assert w.seen("a", now=1) == 1  # the same session polling again
    assert w.seen("b", now=2) == 2
    assert w.seen("b", now=11.5) == 1  # a stopped polling more than 10 s ago
    w.leave("b")
    assert w.seen(None, now=12) == 1  # nobody left: a lone session's pace
    w.leave("never-seen")  # leaving twice or unseen is harmless


def test_thirty_sessions_polling_at_once_are_thirty():
    w = Watchers()
    threads = [threading.Thread(target=w.seen, args=(f"s{i}",)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert w.seen("s0") == 30
