"""Follow-up runs: a run's config with one of its diagnosis' suggestions applied, queued
as its child, and the verdict on the pair once the child has ended.

The CLI (``python -m engine follow-up``) and the dashboard's **Try this fix** both go
through ``queue_follow_up``, so both validate the same way and link the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.config import validate
from engine.diagnosis import apply_change, diagnose_stored
from engine.diagnosis.text import NAMES

BETTER = 0.10  # the child's best result at least 10 % lower counts as better
NOT_WORSE = 0.10  # a healthy child no more than 10 % worse has fixed the problem
MAX_NAME = 200


class NoSuggestion(ValueError):
    """The run's diagnosis proposes no change (healthy, too early, or nothing valid)."""


def describe(change: Mapping[str, Any]) -> str:
    """``learning_rate 0.003, epochs 20``: a change as a run name reads it."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, Mapping | list):
            return json.dumps(v, separators=(",", ":"))
        return "null" if v is None else str(v)

    return ", ".join(f"{k} {fmt(v)}" for k, v in change.items())


def follow_up_config(config: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """The child's canonical config (raises ``ConfigError`` if the change breaks it)."""
    return validate(apply_change(config, change))


def queue_follow_up(store, run_id: str, index: int = 0) -> str:
    """Queue the run's config with suggestion ``index`` (0 = the most promising) applied,
    linked to it as its parent; returns the child's id. The suggestions are worked out
    again from the stored curves, exactly as ``python -m engine diagnose`` shows them."""
    run = store.get_run(run_id)  # KeyError for an unknown run
    if run["status"] == "queued":
        raise NoSuggestion(f"run {run_id} has not started: nothing to diagnose yet")
    diag = diagnose_stored(store, run_id)
    store.set_diagnosis(run_id, diag)
    suggestions = diag.get("suggestions") or []
    if not suggestions:
        raise NoSuggestion(
            f"run {run_id} is diagnosed {diag['label']}: its diagnosis suggests no change"
        )
    if not 0 <= index < len(suggestions):
        raise IndexError(
            f"suggestion: must be 1..{len(suggestions)} for run {run_id}, got {index + 1}"
        )
    change = suggestions[index]["change"]
    cfg = follow_up_config(run["config"], change)
    name = f"{run['name']} → {describe(change)}"[:MAX_NAME]
    return store.create_runs([cfg], names=[name], parent_id=run_id, tags=run.get("tags"))[0]


@dataclass(frozen=True)
class Verdict:
    """``kind``: pending (the child has not ended), fixed (the child is healthy and not
    worse), better (its best result ≥ 10 % lower), or not better."""

    kind: str
    key: str
    parent_best: float | None
    child_best: float | None
    child_label: str | None

    @property
    def change(self) -> float | None:
        p, c = self.parent_best, self.child_best
        if p is None or c is None or not math.isfinite(p) or not math.isfinite(c) or not p:
            return None
        return (c - p) / abs(p)

    def text(self) -> str:
        nums = ""
        if self.parent_best is not None and self.child_best is not None:
            nums = f"best {self.key} {self.parent_best:.4g} → {self.child_best:.4g}"
            if self.change is not None:
                nums += f" ({self.change:+.0%})"
        elif self.child_best is None and self.kind != "pending":
            nums = f"the follow-up has no finite {self.key}"
        label = NAMES.get(self.child_label or "", self.child_label or "not judged")
        head = {
            "pending": "Waiting for the follow-up to finish",
            "fixed": "Fixed: the follow-up is healthy",
            "better": f"Better: a lower loss, though the follow-up is still diagnosed {label}",
            "not better": f"Not better: the follow-up is diagnosed {label}",
        }[self.kind]
        return f"{head}; {nums}." if nums else f"{head}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "parent_best": self.parent_best,
            "child_best": self.child_best,
            "change": self.change,
            "child_label": self.child_label,
            "text": self.text(),
        }


ENDED_WELL = ("completed",)
PENDING = ("queued", "running")


def _best(run: Mapping[str, Any], key: str) -> float | None:
    v = (run.get("best") or {}).get(key)
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def verdict(parent: Mapping[str, Any], child: Mapping[str, Any]) -> Verdict:
    """Parent and child as ``RunStore.list_runs`` returns them (with ``best`` values)."""
    key = (
        "val_loss"
        if "val_loss" in (parent.get("best") or {}) and "val_loss" in (child.get("best") or {})
        else "loss"
    )
    p, c = _best(parent, key), _best(child, key)
    label = (child.get("diagnosis") or {}).get("label")
    if child["status"] in PENDING:
        return Verdict("pending", key, p, c, label)
    if child["status"] not in ENDED_WELL or c is None:
        return Verdict("not better", key, p, c, label)
    change = (c - p) / abs(p) if p else None
    if label == "healthy" and (change is None or change <= NOT_WORSE):
        return Verdict("fixed", key, p, c, label)
    if p is None or (change is not None and change <= -BETTER):
        return Verdict("better", key, p, c, label)
    return Verdict("not better", key, p, c, label)
