"""Errors that name the field at fault, so a person can fix the input in one go."""

from __future__ import annotations

import reprlib
from typing import Any

# A message is read by a person: a 200 KB value echoed back helps nobody and can
# flood a terminal or a web page. Values are shown through ``show``; these caps are
# the safety net for anything that reaches a ConfigError some other way.
MAX_FIELD = 120
MAX_MESSAGE = 800
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def field_path(where: str, key: object) -> str:
    """``where.key``, with an empty key written ``""`` so the message still names it."""
    k = str(key) if key != "" else '""'
    return f"{where}.{k}" if where else k


class _Shown(reprlib.Repr):
    """``repr`` bounded in length and depth, safe for any value JSON can carry."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 8
        self.maxstring = 60
        self.maxlong = 40
        self.maxother = 60
        self.fillvalue = ELLIPSIS

    def repr_int(self, x: int, _level: int) -> str:  # reprlib passes the depth
        # repr() of a > 4,300-digit int raises ValueError (CPython's DoS guard).
        if x.bit_length() > 128:
            digits = len(str(abs(x))) if x.bit_length() < 14_000 else None
            sign = "-" if x < 0 else ""
            about = (
                f"{digits:,}-digit" if digits else f"about {int(x.bit_length() * 0.30103):,}-digit"
            )
            return f"{sign}<{about} integer>"
        return repr(x)


_shown = _Shown()


def show(value: Any) -> str:
    """A short, safe rendering of a user's value for an error message."""
    try:
        return clip(_shown.repr(value), 100)
    except Exception:  # a value whose repr fails must not turn an error into a crash
        return f"<{type(value).__name__}>"


class ConfigError(ValueError):
    """One or more invalid fields of a run config.

    Carries every problem found, not just the first: a form can then mark all bad
    fields at once. ``str()`` gives one ``field: message`` line per problem.
    """

    def __init__(self, problems: list[tuple[str, str]] | str, message: str | None = None):
        if isinstance(problems, str):
            problems = [(problems, message or "invalid")]
        self.problems: list[tuple[str, str]] = [
            (clip(str(f), MAX_FIELD), clip(str(m), MAX_MESSAGE)) for f, m in problems
        ]
        super().__init__("\n".join(f"{f}: {m}" if f else m for f, m in self.problems))

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.problems]


class StoreError(RuntimeError):
    """The run store cannot be used (foreign file, newer schema, corrupt, a bad path).

    ``str()`` is one line naming the file and the problem: the command line prints
    it as is and the dashboard shows it."""


class StoreLocked(StoreError):
    """Another process held the write lock longer than the busy timeout: try again."""


class _StorePathError(StoreError):
    sentence = "{path}"

    def __init__(self, path) -> None:
        self.path = str(path)
        super().__init__(self.sentence.format(path=self.path))


class StoreReadOnly(_StorePathError):
    """The store's file, folder or file system cannot be written; reads still work."""

    sentence = "the run store is read-only: {path}"


class StoreFull(_StorePathError):
    """The disk holding the store is full (SQLITE_FULL, ENOSPC): the write that hit it
    was rolled back whole; nothing half-written is left."""

    sentence = "the disk holding the run store is full: {path} (free some space and retry)"
