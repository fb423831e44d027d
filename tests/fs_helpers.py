"""Real file-system faults for the store tests: an immutable file or folder
(``chattr +i``), a small tmpfs that fills up, a file system remounted read-only.

Each needs root (the test machines run as root); without it the test is skipped
with the reason, never faked. Every fault is undone on exit, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """``chattr +i`` on each path (not even root may write it) until exit."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed (e2fsprogs)")
    done = []
    try:
        for p in paths:
            out = _run("chattr", "+i", str(p))
            if out.returncode != 0:
                pytest.skip(f"chattr +i is not possible here: {out.stderr.strip()}")
            done.append(p)
        yield
    finally:
        for p in reversed(done):
            _run("chattr", "-i", str(p))


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (e.g. ``"1m"``) mounted on ``folder`` until exit."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    out = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    try:
        yield folder
    finally:
        _run("mount", "-o", "remount,rw", str(folder))
        if _run("umount", str(folder)).returncode != 0:
            _run("umount", "-l", str(folder))  # a process of the test still holds a file


def remount_read_only(folder: Path) -> None:
    out = _run("mount", "-o", "remount,ro", str(folder))
    if out.returncode != 0:
        pytest.skip(f"cannot remount read-only: {out.stderr.strip()}")


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` up to ``leave`` free bytes with one file."""
    ballast = folder / "ballast"
    with open(ballast, "wb") as f:
        chunk = b"\0" * 65536
        while True:
            st = os.statvfs(folder)
            free = st.f_bavail * st.f_frsize - leave
            if free <= 0:
                break
            try:
                f.write(chunk[: min(len(chunk), free)])
                f.flush()
            except OSError:
                break
    return ballast
