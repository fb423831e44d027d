"""The store under real faults: another process holding the write lock past the busy
timeout, a read-only file / folder / file system, a path that cannot be a store, a
full disk. Each ends in one ``StoreError`` naming the file (its kind tells the caller
what to do), nothing half-written, and the store usable again once the fault is gone.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from store_helpers import CONFIG, info, update_columns

from engine.errors import StoreError, StoreFull, StoreLocked, StoreReadOnly
from engine.store import RunStore
from tests.fs_helpers import fill, immutable, remount_read_only, tmpfs
from tests.proc_helpers import LockHolder


def test_write_lock_held_past_busy_timeout_raises_store_locked_then_recovers(tmp_path, monkeypatch):
    monkeypatch.setenv("HPLAB_BUSY_TIMEOUT", "0.5")
    store = RunStore(tmp_path / "runs.db")
    first = store.create_run(CONFIG)
    with LockHolder(store.path) as holder:
        t0 = time.monotonic()
        with pytest.raises(StoreLocked) as caught:
            store.create_run(CONFIG)
        waited = time.monotonic() - t0
        assert isinstance(caught.value, StoreError)
        assert str(store.path) in str(caught.value) and "locked for 0.5 s" in str(caught.value)
        with pytest.raises(StoreLocked):  # the next write too: nothing is left half-open
            store.request_cancel(first)
        assert [r["id"] for r in store.list_runs()] == [first]  # reads go on meanwhile
        holder.release()
    t0 = time.monotonic()
    second = store.create_run(CONFIG)
    print(f"\nlock held: StoreLocked after {waited:.2f} s; released: next write at once")
    assert [r["id"] for r in store.list_runs()] == [first, second]
    assert store.integrity_check() == "ok"


def test_busy_timeout_setting_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("HPLAB_BUSY_TIMEOUT", "soon")
    with pytest.raises(StoreError, match=r"HPLAB_BUSY_TIMEOUT: must be a number of seconds"):
        RunStore(tmp_path / "runs.db")


def _filled(path: Path) -> tuple[RunStore, str]:
    store = RunStore(path)
    rid = store.create_run(CONFIG, name="kept")
    store.close()
    return store, rid


def _assert_read_only(path: Path, rid: str) -> None:
    store = RunStore(path)
    assert store.read_only
    assert [r["id"] for r in store.list_runs()] == [rid]  # reading works
    assert store.get_run(rid)["name"] == "kept"
    sentence = f"the run store is read-only: {path}"
    for write in (
        lambda: store.create_run(CONFIG),
        lambda: store.request_cancel(all=True),
        lambda: store.rename(rid, "new name"),
    ):
        with pytest.raises(StoreReadOnly) as caught:
            write()
        assert str(caught.value) == sentence


def test_immutable_store_file_opens_read_only(tmp_path):
    path = tmp_path / "runs.db"
    _, rid = _filled(path)
    with immutable(path):
        _assert_read_only(path, rid)


def test_immutable_store_folder_opens_read_only(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    _, rid = _filled(folder / "runs.db")
    with immutable(folder):
        _assert_read_only(folder / "runs.db", rid)
        with pytest.raises(StoreError, match=r"cannot create the file, its folder is read-only"):
            RunStore(folder / "other.db")


def test_store_on_a_read_only_file_system_opens_read_only(tmp_path):
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        _, rid = _filled(mnt / "runs.db")
        remount_read_only(mnt)
        _assert_read_only(mnt / "runs.db", rid)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "file.txt" / "store.db", r"file\.txt is a file, not a folder"),
        (lambda d: d / "file.txt" / "deeper" / "store.db", r"file\.txt is a file, not a folder"),
        (lambda d: d, r"is a folder, not a database file"),
    ],
    ids=["under-a-file", "deep-under-a-file", "a-folder"],
)
def test_paths_that_cannot_be_a_store_are_named(tmp_path, make, problem):
    (tmp_path / "file.txt").write_text("notes")
    path = make(tmp_path)
    with pytest.raises(StoreError, match=problem) as caught:
        RunStore(path)
    assert "\n" not in str(caught.value)


def test_in_memory_store_is_refused_as_a_store_error():
    with pytest.raises(StoreError, match="in-memory") as caught:
        RunStore(":memory:")
    assert isinstance(caught.value, ValueError)  # as before, for callers that catch that


def test_full_disk_rolls_back_the_write_whole_and_keeps_the_store_usable(tmp_path):
    with tmpfs(tmp_path / "mnt", "2m") as mnt:
        store = RunStore(mnt / "runs.db")
        rid = store.create_run(CONFIG)
        store.claim(rid, "w")
        store.record_start(rid, info())
        ballast = fill(mnt, leave=256 * 1024)
        written, start = 0, 1
        with pytest.raises(StoreFull) as caught:
            for _ in range(1000):
                store.append_updates(rid, update_columns(start, 500))
                written += 500
                start += 500
        assert str(caught.value).startswith("the disk holding the run store is full: ")
        assert str(mnt / "runs.db") in str(caught.value)
        # Nothing half-written: exactly the batches that succeeded are stored.
        assert len(store.update_series(rid, max_points=None)["update"]) == written
        # Marking the run failed is a small write: it fits where the rolled-back one
        # left room in the WAL, or it is the same one clear error.
        try:
            store.fail_run(rid, str(caught.value))
        except StoreFull:
            ballast.unlink()
            store.fail_run(rid, str(caught.value))
        assert store.get_run(rid)["status"] == "failed"
        assert store.get_run(rid)["error"] == str(caught.value)
        ballast.unlink(missing_ok=True)
        later = store.create_run(CONFIG)  # space again: the same store object writes
        assert store.get_run(later)["status"] == "queued"
        assert store.integrity_check() == "ok"
        store.close()
