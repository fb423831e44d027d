"""The edge warning: the best trial sits at the edge of a knob's range.

``engine.search.edges`` (in the study report as ``edges``) says which way to extend
("extend learning_rate above 0.1"); this module shows it as one warning beside the
best trial. The text names the study's own knobs and values (user data), so it is
escaped and never read as markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from ui import literal

HEAD = "The best trial sits at the edge of the range searched, so the optimum may lie outside it"


def edge_text(edges: Sequence[Mapping[str, Any]]) -> str | None:
    """One plain sentence listing every edge, or None when the best trial is inside
    every range."""
    if not edges:
        return None
    return HEAD + ": " + "; ".join(str(e["message"]) for e in edges) + "."


def render_edges(report: Mapping[str, Any]) -> None:
    text = edge_text(report.get("edges") or [])
    if text is not None:
        st.warning(literal.md(text), icon=":material/open_in_full:")
