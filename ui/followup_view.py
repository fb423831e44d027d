"""**Try this fix** and the verdict on a follow-up, as the dashboard draws them.

A click queues the run's config with that suggestion applied, linked to the run as its
parent (``engine.diagnosis.followup``: the same path as ``python -m engine follow-up``),
and opens Watch & compare on the pair (``?runs=parent,child``), so both draw side by
side while the child trains; the comparison summary gives the verdict once it ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from engine.diagnosis.followup import NoSuggestion, Verdict, queue_follow_up, verdict
from engine.errors import ConfigError, StoreError
from ui import literal, navigation, resources
from ui.suggestion_text import suggestion_line

VERDICT_BADGES = {
    "pending": ":gray-badge[:material/hourglass_empty: waiting]",
    "fixed": ":green-badge[:material/check_circle: fixed]",
    "better": ":blue-badge[:material/trending_down: better]",
    "not better": ":orange-badge[:material/trending_flat: not better]",
}


def queue(run_id: str, index: int) -> str:
    """Queue suggestion ``index`` of the run as its follow-up; the worker pool (started
    here if it is not yet) picks it up from the store within a fraction of a second."""
    resources.executor()
    return queue_follow_up(resources.store(), run_id, index)


def try_fix_buttons(run: Mapping[str, Any], diag: Mapping[str, Any]) -> None:
    """One button per suggested change, in the diagnosis' order (most promising first)."""
    if run.get("status") == "queued":
        return
    for i, s in enumerate(diag.get("suggestions") or []):
        row = st.columns([5, 2], vertical_alignment="center")
        row[0].markdown(suggestion_line(i + 1, s))
        clicked = row[1].button(
            "Try this fix",
            key=f"try_fix_{run['id']}_{i}",
            icon=":material/science:",
            type="primary" if i == 0 else "secondary",
            width="stretch",
            help="Queue this run's config with this change as a follow-up, then watch both "
            "side by side.",
        )
        if clicked:
            try:
                child = queue(run["id"], i)
            except (NoSuggestion, IndexError, KeyError, ConfigError, StoreError) as e:
                st.error(f"Not queued: {e}", icon=":material/error:")
                return
            navigation.open_compare(runs=[run["id"], child])


def follow_ups(
    runs: Sequence[Mapping[str, Any]], by_id: Mapping[str, Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any], Verdict]]:
    """(parent, child, verdict) for every shown run whose parent is still stored."""
    out = []
    for child in runs:
        parent = by_id.get(child.get("parent_id") or "")
        if parent is not None:
            out.append((parent, child, verdict(parent, child)))
    return out


def render_follow_ups(
    runs: Sequence[Mapping[str, Any]], by_id: Mapping[str, Mapping[str, Any]]
) -> None:
    pairs = follow_ups(runs, by_id)
    if not pairs:
        return
    lines = []
    for parent, child, v in pairs:
        lines.append(
            f"- {VERDICT_BADGES[v.kind]} **{literal.md(child['name'])}**, follow-up of "
            f"**{literal.md(parent['name'])}**: {v.text()}"
        )
    st.markdown("**Follow-ups** (a suggestion applied to its parent run)\n" + "\n".join(lines))
