"""A setting in a few characters, for run names, plan rows and table cells: one
spelling everywhere, so a name in the plan is the name in the table."""

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
