"""The executor opens the store in several objects per process (the pool, status
reads, test and UI readers) while workers in other processes write to it."""

from __future__ import annotations

import subprocess
import sys

from engine.store import RunStore

CLAIM = (
    "import sys; from engine.store import RunStore;"
    "print(RunStore(sys.argv[1]).claim_next('other-process')[0])"
)


def test_a_second_store_object_keeps_the_first_seeing_other_processes(tmp_path):
    # Reading the file header through a second descriptor used to drop this
    # process's SQLite locks: another process's close then reset the WAL and the
    # first connection kept reading a stale snapshot (queued runs stayed queued).
    path = tmp_path / "runs.db"
    first = RunStore(path)
    ids = first.create_runs([{"task": "regression"}] * 2)
    assert [r["status"] for r in first.list_runs()] == ["queued", "queued"]
    RunStore(path)
    for n in (1, 2):
        out = subprocess.run(
            [sys.executable, "-c", CLAIM, str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd="/work/main",
        )
        assert out.stdout.strip() == ids[n - 1]
        assert [r["status"] for r in first.list_runs()].count("running") == n
    assert first.integrity_check() == "ok"
