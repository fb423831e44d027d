"""A setting in a few characters, for run names, plan rows and table cells: one
spelling everywhere, so a name in the plan is the name in the table.

Imports nothing heavy (``ui.runs`` re-exports these with pandas beside them): Set up
runs captions its task with them on a cold server's first run, before pandas is in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def summary(value: Any) -> str:
    """``{"name": "sgd", ...}`` → ``sgd``; ``{"clipnorm": 1.0}`` → ``clipnorm 1``; lists
    and other mappings as JSON."""
    if isinstance(value, Mapping):
        if "name" in value:
            return str(value["name"])
        if len(value) == 1:
            ((k, v),) = value.items()
            return f"{k} {summary(v)}"
        return json.dumps(value, separators=(", ", ": "))
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def ident(value: Any) -> str | None:
    """``"adam"`` or ``{"name": "adam", ...}`` → ``"adam"``."""
    if isinstance(value, Mapping):
        value = value.get("name")
    return value if isinstance(value, str) else None


def loss_label(loss: Any) -> str:
    """``sparse_categorical_crossentropy (from_logits)``; per head for multi-output."""
    if isinstance(loss, Mapping) and "name" not in loss:  # multi-output: per head
        return ", ".join(f"{h}: {loss_label(v)}" for h, v in loss.items())
    name = ident(loss) or "?"
    flags = [k for k, v in loss.items() if v is True] if isinstance(loss, Mapping) else []
    return f"{name} ({', '.join(flags)})" if flags else name
