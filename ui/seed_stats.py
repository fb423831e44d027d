"""Seed repeats summarised: each group of runs identical but for the seed, as the mean
± sample standard deviation of its best result over the seeds that have one.

The spread is what the seed alone does to the result, so a difference between two
groups smaller than it is noise (the paired comparison, ``ui.paired_view``, says how
sure per pair of arms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from ui import literal
from ui.charts import finite
from ui.runs import fmt_num, group_label


@dataclass(frozen=True)
class SeedStat:
    name: str  # the group's name: its first run's, without the seed
    result: str  # "val_loss", or "loss" when no run has validation data
    mean: float
    sd: float
    n: int


def result_key(runs: Sequence[Mapping]) -> str:
    return "val_loss" if any("val_loss" in (r.get("best") or {}) for r in runs) else "loss"


def seed_stats(
    groups: Mapping[str, Sequence[str]], by_id: Mapping[str, Mapping], result: str
) -> list[SeedStat]:
    """One line per seed group with at least two finite results."""
    out = []
    for ids in groups.values():
        vals = [v for i in ids if finite(v := (by_id[i].get("best") or {}).get(result))]
        if len(vals) < 2:
            continue
        mean = sum(vals) / len(vals)
        sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
        out.append(SeedStat(group_label(by_id[ids[0]]["name"]), result, mean, sd, len(vals)))
    return out


def render_seed_stats(
    groups: Mapping[str, Sequence[str]], by_id: Mapping[str, Mapping], selected: Sequence[Mapping]
) -> None:
    stats = seed_stats(groups, by_id, result_key(selected))
    if not stats:
        return
    lines = [
        f"- **{literal.md(s.name)}**: best {s.result} {fmt_num(s.mean)} ± {fmt_num(s.sd, 2)} "
        f"over {s.n} seeds"
        for s in stats
    ]
    st.markdown("**Seed repeats** (identical runs but for the seed)\n" + "\n".join(lines))
