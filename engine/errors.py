"""Errors that name the field at fault, so a person can fix the input in one go."""

from __future__ import annotations


class ConfigError(ValueError):
    """One or more invalid fields of a run config.

    Carries every problem found, not just the first: a form can then mark all bad
    fields at once. ``str()`` gives one ``field: message`` line per problem.
    """

    def __init__(self, problems: list[tuple[str, str]] | str, message: str | None = None):
        if isinstance(problems, str):
            problems = [(problems, message or "invalid")]
        self.problems: list[tuple[str, str]] = list(problems)
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
