"""Side-by-side measurement helpers: alternate the sides, repeat, report medians,
spread and ratios (absolute seconds are not comparable between runs on shared,
noisy machines; ratios measured in one run are)."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def alternate(sides: dict[str, Callable[[], dict]], repeats: int) -> dict[str, list[dict]]:
    """Run each side once per repeat, in alternating order, collecting their dicts."""
    out: dict[str, list[dict]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            out[name].append(sides[name]())
    return out


def summary(values: list[float]) -> dict[str, float]:
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread_pct": 100.0 * (max(values) - min(values)) / med if med else 0.0,
        "n": len(values),
    }


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": platform.platform(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
