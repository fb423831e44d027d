"""Every ``python -m engine`` command against a store or path it cannot use: one line
on stderr naming the path and the problem, exit status 2, no traceback; commands that
only read keep working on a read-only store (issue 11, faults 3 and 4).

Real subprocesses, real ``chattr +i``, a real read-only tmpfs and a real full one."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from engine.store import RunStore
from tests.fs_helpers import fill, immutable, remount_read_only, tmpfs
from tests.proc_helpers import engine_cli
from tests.store.store_helpers import epoch_record, info, result

TINY = {"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}}


def engine(*args, store=None, timeout=120):
    return engine_cli(*args, env={"HPLAB_STORE": store and str(store)}, timeout=timeout)


def finished_run(path: Path) -> str:
    """A completed run written through the store API (no training needed here)."""
    store = RunStore(path)
    rid = store.create_run(TINY, name="kept")
    store.claim(rid, "w-test")
    store.record_start(rid, info(logged=["loss", "val_loss"]))
    for e in range(1, 4):
        store.append_epoch(rid, epoch_record(e))
    store.finish(rid, result())
    store.close()
    return rid


def one_line(out: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr[-3000:]
    return lines[0]


@pytest.fixture
def sweep_file(tmp_path):
    p = tmp_path / "sweep.json"
    p.write_text(json.dumps({"base": TINY, "grid": {"learning_rate": [0.001, 0.01]}}))
    return p


WRITES = {
    "cancel --all": lambda sweep: ("cancel", "--all"),
    "sweep --detach": lambda sweep: ("sweep", sweep, "--detach"),
    "sweep": lambda sweep: ("sweep", sweep, "--workers", 1),
    "worker": lambda sweep: ("worker", "--workers", 1),
    "worker --forever": lambda sweep: ("worker", "--forever", "--workers", 1),
}


def _check_read_only(path: Path, rid: str, sweep_file: Path, writes=tuple(WRITES)) -> None:
    sentence = f"the run store is read-only: {path}"
    for name in writes:
        t0 = time.monotonic()
        out = engine(*WRITES[name](sweep_file), store=path)
        took = time.monotonic() - t0
        assert out.returncode == 2, (name, out.returncode, out.stderr[-2000:])
        assert one_line(out) == sentence, name
        print(f"\n{name}: exit 2 in {took:.1f} s")
    # Reading works: list, export, diagnose (which says it could not save its label).
    out = engine("runs", "--json", store=path)
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in json.loads(out.stdout)["runs"]] == [rid]
    out = engine("export", rid, store=path)
    assert out.returncode == 0 and out.stdout.count("\n") > 3, out.stderr
    out = engine("diagnose", rid, store=path)
    assert out.returncode == 0, out.stderr
    assert one_line(out) == f"note: the diagnosis was not saved: {sentence}"


def test_immutable_store_file(tmp_path, sweep_file):
    path = tmp_path / "runs.db"
    rid = finished_run(path)
    with immutable(path):
        _check_read_only(path, rid, sweep_file)
    assert RunStore(path).list_runs()[0]["status"] == "completed"  # untouched


def test_immutable_store_folder(tmp_path, sweep_file):
    folder = tmp_path / "store"
    folder.mkdir()
    rid = finished_run(folder / "runs.db")
    with immutable(folder):
        _check_read_only(folder / "runs.db", rid, sweep_file, writes=("cancel --all", "worker"))


def test_store_on_a_read_only_file_system(tmp_path, sweep_file):
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        rid = finished_run(mnt / "runs.db")
        remount_read_only(mnt)
        _check_read_only(mnt / "runs.db", rid, sweep_file, writes=("sweep --detach", "worker"))


@pytest.mark.parametrize(
    "command",
    [
        ("sweep", "{sweep}", "--detach"),
        ("diagnose", "abc"),
        ("worker", "--workers", 1),
        ("runs",),
        ("cancel", "--all"),
        ("export", "abc"),
    ],
    ids=lambda c: c[0],
)
def test_store_under_a_regular_file(tmp_path, sweep_file, command):
    (tmp_path / "file.txt").write_text("notes")
    bad = tmp_path / "file.txt" / "store.db"
    args = [str(sweep_file) if a == "{sweep}" else a for a in command]
    out = engine(*args, store=bad)
    assert out.returncode == 2, out.stderr[-2000:]
    line = one_line(out)
    assert str(tmp_path / "file.txt") in line, line
    assert "not a folder" in line or "no run store" in line, line


@pytest.mark.parametrize(
    "command",
    [("diagnose", "abc"), ("runs",), ("worker", "--workers", 1), ("sweep", "{sweep}", "--detach")],
    ids=lambda c: c[0],
)
def test_in_memory_store(sweep_file, command):
    args = [str(sweep_file) if a == "{sweep}" else a for a in command]
    out = engine(*args, store=":memory:")
    assert out.returncode == 2, out.stderr[-2000:]
    line = one_line(out)
    assert "':memory:'" in line and "in-memory" in line, line


def test_outputs_into_a_missing_folder(tmp_path):
    rid = finished_run(tmp_path / "runs.db")
    out = engine("export", rid, "-o", "/nonexistent/dir/out.csv", store=tmp_path / "runs.db")
    assert out.returncode == 2
    assert one_line(out) == (
        "-o: cannot write '/nonexistent/dir/out.csv' (no folder '/nonexistent/dir')"
    )
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TINY))
    out = engine("export-script", cfg, "-o", "/nonexistent/dir/run.py")
    assert out.returncode == 2
    assert one_line(out) == (
        "--output: cannot write '/nonexistent/dir/run.py' (no folder '/nonexistent/dir')"
    )


def test_export_to_a_full_disk_leaves_no_partial_file(tmp_path):
    rid = finished_run(tmp_path / "runs.db")
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        ballast = fill(mnt, leave=256)
        target = mnt / "out.csv"
        out = engine("export", rid, "-o", target, store=tmp_path / "runs.db")
        assert out.returncode == 2
        assert one_line(out) == f"-o: cannot write '{target}' (No space left on device)"
        assert sorted(p.name for p in mnt.iterdir()) == ["ballast"]  # nothing half-written
        ballast.unlink()
        out = engine("export", rid, "-o", target, store=tmp_path / "runs.db")
        assert out.returncode == 0, out.stderr
        assert target.read_text().startswith("run_id,")
