"""Run every benchmark, one after another; each prints its ratios and writes
``benchmarks/results/<name>.json``."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = (
    "sweep_vs_serial.py",
    "stacked_vs_serial.py",
    "ui_speed.py",
    "compare_draw.py",
    "one_run.py",
    "export_memory.py",
    "memory_estimate.py",
    "duration_estimate.py",
    "search_vs_grid.py",
)

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        sys.argv = [str(HERE / name)]
        runpy.run_path(str(HERE / name), run_name="__main__")
