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
    """The run store cannot be used (foreign file, newer schema, corrupt)."""
