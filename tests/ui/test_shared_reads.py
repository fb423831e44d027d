"""Live panels share their store reads: one read per key and interval, however many
sessions poll, and a failed read caches nothing."""

from __future__ import annotations

import threading

import pytest

from ui.shared_reads import SharedReads


def test_sessions_polling_at_once_share_one_read():
    shared = SharedReads(ttl=60)
    gate = threading.Event()
    calls = []

    def read():
        calls.append(1)
        gate.wait(10)  # the first read is slow: the others arrive meanwhile
        return ["run"]

    got = []
    threads = [
        threading.Thread(target=lambda: got.append(shared.get("k", read))) for _ in range(30)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and shared.reads == 1
    assert len(got) == 30 and all(g is got[0] for g in got)  # shared, not copied


def test_a_stale_entry_is_read_again_and_keys_are_apart():
    shared = SharedReads(ttl=0)
    n = iter(range(100))
    assert shared.get("a", lambda: next(n)) == 0
    assert shared.get("a", lambda: next(n)) == 1  # ttl 0: every get reads
    fresh = SharedReads(ttl=60)
    assert fresh.get("a", lambda: "a") == "a" and fresh.get("b", lambda: "b") == "b"
    assert fresh.get("a", lambda: "other") == "a"


def test_a_failed_read_caches_nothing():
    shared = SharedReads(ttl=60)

    def broken():
        raise OSError("disk gone")

    with pytest.raises(OSError):
        shared.get("k", broken)
    assert shared.get("k", lambda: "ok") == "ok"
