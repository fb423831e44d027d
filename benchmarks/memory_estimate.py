"""The memory estimate against measured peak RSS of real runs, and the time estimate
against their wall time: ``engine.run_cost.estimate`` vs ``python -m engine run``.

Each config trains in a fresh process (``os.wait4`` gives that child's own peak RSS),
so the runtime's baseline is in the measurement as it is in the estimate. Prints
estimate / measured per config; ``--updates`` runs the LR range test too (it trains
in the dashboard server's process), ``--quick`` skips the multi-gigabyte configs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write
from engine import run_cost
from engine.config import validate

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = {
    "regression (document defaults)": {"task": "regression"},
    "multiclass-10 (document defaults)": {"task": "multiclass-10", "epochs": 3},
    "sequence (document defaults)": {"task": "sequence", "epochs": 2},
    "MLP, 200k×50 data, width 8, batch 4096": {
        "task": "multiclass-10",
        "data": {"n_train": 200_000, "n_val": 1000, "n_test": 1000},
        "model": {"width": 8},
        "batch_size": 4096,
        "epochs": 1,
        "precision": "float32",
    },
    "sequence, batch 1024": {
        "task": "sequence",
        "data": {"n_train": 1280, "n_test": 100},
        "batch_size": 1024,
        "epochs": 1,
    },
    "sequence, width 4, batch 2048": {
        "task": "sequence",
        "data": {"n_train": 2560, "n_test": 100},
        "batch_size": 2048,
        "model": {"width": 4},
        "epochs": 1,
    },
    "sequence, width 8, batch 1024": {
        "task": "sequence",
        "data": {"n_train": 1280, "n_test": 100},
        "batch_size": 1024,
        "model": {"width": 8},
        "epochs": 1,
    },
}
BIG = {
    "issue 11's example: sequence, width 8, batch 8192": {
        "task": "sequence",
        "data": {"n_train": 10240, "n_test": 100},
        "batch_size": 8192,
        "model": {"width": 8},
        "epochs": 1,
    },
}


def measure(cfg: dict, command: str = "run") -> tuple[float, float, str]:
    """(peak RSS bytes, wall seconds, status) of one run in a fresh process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cfg, f)
    env = {**os.environ, "HPLAB_MEMORY_BUDGET": "off", "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = [sys.executable, "-m", "engine", command, f.name, "--json"]
    if command == "lr-find":
        args += ["--updates", "10"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    os.unlink(f.name)
    try:
        state = json.loads(out).get("status", "ok") if out.strip() else f"rc {proc.returncode}"
    except ValueError:
        state = f"rc {proc.returncode}"
    return usage.ru_maxrss * 1024, seconds, state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the multi-gigabyte configs")
    ap.add_argument("--lr-find", action="store_true", help="also measure the LR range test")
    args = ap.parse_args()
    os.environ["HPLAB_MEMORY_BUDGET"] = "off"
    rows = []
    configs = dict(CONFIGS) if args.quick else {**CONFIGS, **BIG}
    for label, raw in configs.items():
        cost = run_cost.estimate(validate(raw))
        commands = ["run", "lr-find"] if args.lr_find else ["run"]
        for command in commands:
            rss, seconds, status = measure(raw, command)
            row = {
                "config": label,
                "command": command,
                "status": status,
                "estimate_bytes": cost.peak_bytes,
                "measured_peak_rss_bytes": rss,
                "memory_ratio": cost.peak_bytes / rss,
                "estimate_seconds": cost.seconds,
                "measured_seconds": seconds,
                "time_ratio": cost.seconds / seconds,
            }
            rows.append(row)
            print(
                f"{label:52} {command:8} memory est {run_cost.fmt_bytes(cost.peak_bytes):>9} "
                f"measured {run_cost.fmt_bytes(rss):>9} ({row['memory_ratio']:.2f}×)   "
                f"time est {cost.seconds:6.1f} s measured {seconds:6.1f} s "
                f"({row['time_ratio']:.2f}×)  {status}",
                flush=True,
            )
    print(f"wrote {write('memory_estimate', {'rows': rows})}")


if __name__ == "__main__":
    main()
