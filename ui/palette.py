"""Colours that mean the same thing on every chart and table of a comparison.

A run keeps its colour from the loss chart to the gradient-norm chart to the
progress list, so a person follows one run by colour alone. Colours are handed out
by position in the comparison (not hashed from the run id) so two runs on screen
never share one while the palette has room.
"""

from __future__ import annotations

from collections.abc import Iterable

# Tableau 10: distinguishable, colour-blind tolerant, the same list as the theme's
# chartCategoricalColors in .streamlit/config.toml.
RUN_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)

STATUS_COLORS = {
    "queued": "gray",
    "running": "blue",
    "completed": "green",
    "diverged": "red",
    "failed": "red",
    "cancelled": "orange",
    "interrupted": "orange",
    "pruned": "violet",
}

STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/progress_activity:",
    "completed": ":material/check_circle:",
    "diverged": ":material/trending_up:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
    "pruned": ":material/content_cut:",
}


def run_colors(keys: Iterable[str]) -> dict[str, str]:
    """Colour per key in order of first appearance, cycling past ten."""
    out: dict[str, str] = {}
    for key in keys:
        if key not in out:
            out[key] = RUN_COLORS[len(out) % len(RUN_COLORS)]
    return out


def faded(color: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(...)`` with ``alpha``: raw curves under smoothed ones, bands."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
