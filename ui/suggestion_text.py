"""A diagnosis suggestion as one line of text: the why and the config change.

Shared by the explanation (``ui.diagnosis_view``) and its Try-this-fix buttons
(``ui.followup_view``), so the two never word a change differently and neither
imports the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def change_text(change: Mapping[str, Any]) -> str:
    """``learning_rate = 0.003, epochs = 20``: a suggestion's config change."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool) or v is None:
            return json.dumps(v)
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, Mapping | list):
            return json.dumps(v, separators=(", ", ": "))
        return str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in change.items())


def suggestion_line(number: int, suggestion: Mapping[str, Any]) -> str:
    """``2. Lower the learning rate 3×. `learning_rate = 0.001` `` (markdown)."""
    change = change_text(suggestion.get("change") or {})
    return f"{number}. {suggestion.get('why', '')} `{change}`"
