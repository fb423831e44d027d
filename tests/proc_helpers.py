"""What a fault test needs to see of real processes: a pool's workers, whether one is
serving (its store file is open), zombies, and the time a process takes to exit.

Read from ``/proc`` (Linux), never from the code under test: a worker counts as
serving once it has opened the run store, which it does only after its TensorFlow
warm-up, right before it starts claiming runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [state, ppid, ...]


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (zombies included)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and int(st[1]) == pid:
                out.append(int(entry))
    return sorted(out)


def is_zombie(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] in ("Z", "X")


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (a server started in its own session:
    every worker it ever spawned, replacements included, inherits the group)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and int(st[2]) == pgid and st[0] not in ("Z", "X"):
                out.append(int(entry))
    return sorted(out)


def describe(pids: list[int]) -> list[str]:
    """``pid: command line`` of each, for a failure message."""
    out = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "(gone)"
        out.append(f"{pid}: {cmd[:160]}")
    return out


def workers_of(pid: int) -> list[int]:
    """``pid``'s multiprocessing-spawned children: in a dashboard these are the pool's
    workers and the TensorFlow service's processes (``serving_workers`` tells them apart)."""
    out = []
    for child in children(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd and running(child):
            out.append(child)
    return out


def comm(pid: int) -> str:
    """The process's name (``hplab-<lane>`` for the TensorFlow service's lanes)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def named_children(pid: int) -> dict[int, str]:
    """Live direct children of ``pid``: {pid: name}."""
    return {child: comm(child) for child in children(pid) if running(child)}


def roles(pid: int) -> dict[int, str]:
    """A dashboard's spawned children by role: a TensorFlow service lane by its name,
    anything else the pool spawned is a ``worker``."""
    return {
        child: name if name.startswith("hplab-") else "worker"
        for child in workers_of(pid)
        for name in [comm(child)]
    }


def memory_mib(pid: int) -> dict[str, int]:
    """Peak (``VmHWM``) and current (``VmRSS``) resident memory of ``pid``, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0]) // 1024
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time ``pid`` has used (user + system), in seconds."""
    fields = _stat(pid)
    assert fields is not None, f"process {pid} is gone"
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def has_open(pid: int, path: Path) -> bool:
    """True if ``pid`` holds ``path`` open (a worker that reached its serving loop)."""
    target = str(Path(path).resolve())
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def serving_workers(owner: int, store: Path) -> list[int]:
    return [w for w in workers_of(owner) if has_open(w, store)]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def time_to_exit(proc: subprocess.Popen, limit: float) -> float:
    """Seconds until ``proc`` exits; AssertionError (after killing its process group)
    if it is still alive after ``limit``."""
    t0 = time.monotonic()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        stuck = [p for p in [proc.pid, *children(proc.pid)] if running(p)]
        os.killpg(proc.pid, 9)  # the test's own process group (start_new_session)
        proc.wait(timeout=10)
        raise AssertionError(f"still alive {limit:g} s after the signal: {stuck}") from None
    return time.monotonic() - t0


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


class LockHolder:
    """A second process that holds ``BEGIN IMMEDIATE`` on the store until released."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "released"
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# `make test` runs two pytest-xdist workers: two local Ray clusters started side by side
# would find each other (ray.init joins a running one), so Ray tests take turns.
RAY_LOCK = Path(tempfile.gettempdir()) / "hplab-tests-ray.lock"


@contextlib.contextmanager
def ray_turn():
    with open(RAY_LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


ROOT = Path(__file__).resolve().parents[1]


def engine_cli(
    *args, env: dict | None = None, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``python -m engine ARGS`` as a person types it, from the repository's root, with
    TensorFlow's C++ chatter off and ``env`` on top of this process's environment (a
    value of ``None`` removes the variable)."""
    full = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
    )
