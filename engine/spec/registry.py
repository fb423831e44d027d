"""String-keyed registries with one ``get()`` shape, after ``keras.optimizers.get``.

``get`` takes a name, ``{"name": ..., **kwargs}`` or None and returns the entry
with fully-filled, checked kwargs. The UI's drop-downs, the validator and the
CLI all read the same registry, so they can never disagree on what exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.errors import ConfigError, show
from engine.spec.params import Entry, check_object


class Registry:
    def __init__(self, kind: str, entries: list[Entry], aliases: dict[str, str] | None = None):
        self.kind = kind
        self._entries = {e.name: e for e in entries}
        self._aliases = dict(aliases or {})

    def register(self, entry: Entry) -> Entry:
        """Add an entry: everything that reads the registry (validation, forms, build,
        export, preview, explorers) sees it at once. Refuses a name already taken."""
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def names(self) -> list[str]:
        return list(self._entries)

    def canonical(self, name: str) -> str:
        key = name.strip().lower() if isinstance(name, str) else name
        return self._aliases.get(key, key)

    def entry(self, name: str) -> Entry:
        key = self.canonical(name)
        if key not in self._entries:
            raise KeyError(name)
        return self._entries[key]

    def get(self, identifier: Any, where: str) -> tuple[Entry, dict[str, Any]]:
        """Return ``(entry, kwargs)`` for a string or ``{"name": ...}`` identifier."""
        if isinstance(identifier, str):
            name, kwargs = identifier, {}
        elif isinstance(identifier, dict):
            if "name" not in identifier:
                raise ConfigError(f"{where}.name", f"is required (one of {self.names()})")
            name = identifier["name"]
            kwargs = {k: v for k, v in identifier.items() if k != "name"}
            if not isinstance(name, str):
                raise ConfigError(f"{where}.name", f"must be a string, got {show(name)}")
        else:
            raise ConfigError(
                where,
                f"could not interpret {self.kind} identifier {show(identifier)}: "
                f"give a name or an object with a name (one of {self.names()})",
            )
        if name not in self:
            raise ConfigError(
                f"{where}.name" if isinstance(identifier, dict) else where,
                f"unknown {self.kind} {show(name)} (one of {self.names()})",
            )
        entry = self.entry(name)
        return entry, check_object(kwargs, where, entry.params)

    def normalize(self, identifier: Any, where: str) -> dict[str, Any]:
        """The canonical JSON form: ``{"name": ..., every param filled}``."""
        entry, kwargs = self.get(identifier, where)
        return {"name": entry.name, **kwargs}
