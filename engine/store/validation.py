"""What the store accepts, checked before a transaction opens.

Every value a caller writes (names, tags, notes, ids, numbers, JSON payloads) is
checked here first, so a bad value raises ``ValueError`` naming its field and nothing
is half-written: the store's write methods validate everything, then open one
transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.store.schema import encode

MAX_NAME = 200
MAX_NOTES = 10_000
MAX_TAGS = 50
MAX_TAG = 50
MAX_ERROR = 20_000
MAX_ID = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Notes are several lines: tab, newline and carriage return are allowed there.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(field: str, value: Any, cap: int, *, single_line: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be text, got {type(value).__name__}")
    if len(value) > cap:
        raise ValueError(f"{field}: at most {cap} characters, got {len(value)}")
    if single_line and _CONTROL.search(value):
        raise ValueError(f"{field}: must be one line without control characters")
    if not single_line and _CONTROL_MULTILINE.search(value):
        raise ValueError(f"{field}: must not contain control characters")
    return value


def check_name(value: Any, field: str = "name") -> str:
    value = check_text(field, value, MAX_NAME, single_line=True).strip()
    if not value:
        raise ValueError(f"{field}: must not be empty")
    return value


def check_notes(value: Any) -> str:
    return check_text("notes", value, MAX_NOTES, single_line=False)


def check_tags(value: Any, field: str = "tags") -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{field}: must be a list of text tags, got {type(value).__name__}")
    out: list[str] = []
    for i, tag in enumerate(value):
        tag = check_text(f"{field}[{i}]", tag, MAX_TAG, single_line=True).strip()
        if not tag:
            raise ValueError(f"{field}[{i}]: must not be empty")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValueError(f"{field}: at most {MAX_TAGS} tags, got {len(out)}")
    return out


def check_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"{field}: must be non-empty text of at most {MAX_ID} characters")
    return value


def check_error(error: Any) -> str | None:
    """A failure's text, capped: a traceback of a recursion error can be megabytes."""
    return None if error is None else str(error)[:MAX_ERROR]


def dumps(field: str, value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{field}: not JSON-serialisable ({e})") from e


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def number(field: str, value: Any) -> tuple[float | None, int]:
    """A number as ``(value, kind)`` for SQLite (NaN/inf kept by kind); numpy scalars
    are accepted, booleans and text are not."""
    if isinstance(value, bool) or not (value is None or isinstance(value, int | float)):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise ValueError(f"{field}: must be a number, got {value!r}") from None
    return encode(value)


def as_ids(run_ids: str | Iterable[str]) -> list[str]:
    if isinstance(run_ids, str):
        return [run_ids]
    return list(dict.fromkeys(run_ids))


def default_name(config: Mapping[str, Any], run_id: str) -> str:
    """``task optimizer lr=… abc123``: readable in a table and unique enough to tell
    runs of one sweep apart."""

    def ident(v: Any) -> str | None:
        if isinstance(v, Mapping):
            v = v.get("name")
        return v if isinstance(v, str) else None

    parts = [ident(config.get("task")), ident(config.get("optimizer"))]
    lr = config.get("learning_rate")
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        parts.append(f"lr={lr:g}")
    parts = [p for p in parts if p]
    return (" ".join(parts) + f" {run_id[:6]}")[:MAX_NAME] if parts else f"run {run_id}"
