"""The compare page's summary of what the selection shows beyond the curves: follow-ups
with their verdict, and seed-repeated arms compared pairwise by seed.

Arms are groups of runs identical but for the seed (``ui.runs.seed_groups``). Two arms
are compared on the seeds they share, run by run (``engine.paired``): the mean paired
difference of the chosen result with its 95 % interval, and a **not significant**
badge when the interval spans zero, so two overlapping bands are never read as a win.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from engine.paired import Paired, paired_difference
from engine.store import higher_is_better
from ui import literal
from ui.followup_view import render_follow_ups
from ui.runs import group_label, seed_groups

MAX_PAIRS = 15
NOT_SIGNIFICANT = ":gray-badge[not significant]"


def arms(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """(arm name, its runs) for every group of seed repeats, in launch order."""
    by_id = {r["id"]: r for r in runs}
    out = []
    for ids in seed_groups(runs).values():
        members = [by_id[i] for i in ids]
        out.append((group_label(members[0]["name"]), members))
    return out


def result_options(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Result keys every run has a best value for, validation loss first."""
    keys = None
    for r in runs:
        have = set(r.get("best") or {})
        keys = have if keys is None else keys & have
    ordered = sorted(keys or (), key=lambda k: (k != "val_loss", k != "loss", k))
    return ordered


def _values(members: Sequence[Mapping[str, Any]], key: str, which: str) -> dict[int, float]:
    out = {}
    for r in members:
        seed = (r.get("config") or {}).get("seed")
        v = (r.get(which) or {}).get(key)
        if isinstance(seed, int) and isinstance(v, int | float):
            out[seed] = float(v)
    return out


def comparisons(
    groups: list[tuple[str, list[Mapping[str, Any]]]], key: str, which: str = "best"
) -> list[tuple[str, str, Paired | None]]:
    """(arm a, arm b, b − a paired by seed) for each pair of arms (at most ``MAX_PAIRS``)."""
    pairs = list(itertools.combinations(groups, 2))[:MAX_PAIRS]
    return [
        (a, b, paired_difference(_values(ra, key, which), _values(rb, key, which)))
        for (a, ra), (b, rb) in pairs
    ]


def comparison_line(a: str, b: str, p: Paired | None, key: str, which: str) -> str:
    """One markdown line per pair; ``a``/``b`` are already escaped for markdown."""
    if p is None:
        return f"- **{b}** vs **{a}**: fewer than two shared seeds, nothing to pair."
    up = higher_is_better(key)
    diff = (
        f"{which} {key}, {b} − {a}: **{p.mean:+.4g}** (95 % CI {p.low:+.4g} to {p.high:+.4g}, "
        f"{p.n} seeds)"
    )
    if not p.significant:
        return f"- **{b}** vs **{a}**: {diff} {NOT_SIGNIFICANT}"
    winner = b if (p.mean > 0) == up else a
    return f"- **{b}** vs **{a}**: {diff} :green-badge[{winner} better]"


def render_comparison_summary(
    selected: Sequence[Mapping[str, Any]], all_runs: Sequence[Mapping[str, Any]]
) -> None:
    """Follow-up verdicts and paired seed comparisons of the selected runs (each shown
    only when the selection has them)."""
    render_follow_ups(selected, {r["id"]: r for r in all_runs})
    groups = arms(selected)
    if len(groups) < 2:
        return
    options = result_options([r for _, members in groups for r in members])
    if not options:
        return
    c = st.columns([2, 1, 4], vertical_alignment="bottom")
    key = c[0].selectbox("Paired result", options, key="paired_result")
    which = c[1].segmented_control(
        "Value", ["best", "last"], key="paired_which", default="best", required=True
    )
    which = which or "best"
    escaped = [(literal.md(name), members) for name, members in groups]
    lines = [comparison_line(a, b, p, key, which) for a, b, p in comparisons(escaped, key, which)]
    st.markdown(
        "**Paired by seed** (same seed = same data and initial weights; the difference "
        "is taken run by run)\n" + "\n".join(lines)
    )
    c[2].caption(
        "A difference whose 95 % interval spans zero is within the seeds' noise: "
        "not evidence that one arm beats the other."
    )
