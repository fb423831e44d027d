"""What the store's reads return: typed, immutable records (after mlflow's entities).

``Run`` and ``Series`` are frozen dataclasses, so a reader gets named, typed fields
(``run.status``, ``series.value``) and cannot change the store's answer in place by
accident; they are also read-only ``Mapping``s, so the many callers written against
the old dicts (``run["config"]``, ``run.get("finished")``, ``dict(run)``) keep
working, and a ``Run`` equals the dict it used to be. ``to_dict()`` gives the plain
JSON-ready form for exports.
"""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.store.validation import loads


class _Record(Mapping):
    """A read-only mapping over the dataclass' fields; fields left ``None`` that are
    marked optional are not keys (a run read alone has no ``last``/``best``)."""

    _OPTIONAL: frozenset[str] = frozenset()

    @classmethod
    @functools.cache
    def _field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    def _keys(self) -> list[str]:
        optional = self._OPTIONAL
        return [k for k in self._field_names() if k not in optional or getattr(self, k) is not None]

    def __getitem__(self, key: str) -> Any:
        if key not in self._field_names():
            raise KeyError(key)
        value = getattr(self, key)
        if value is None and key in self._OPTIONAL:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def to_dict(self) -> dict[str, Any]:
        return dict(self.items())


@dataclass(frozen=True, eq=False)
class Run(_Record):
    """One row of ``runs`` with its JSON columns decoded.

    ``last`` / ``best`` / ``best_epoch`` (per series key) are filled by
    ``RunStore.list_runs``, which reads the summary table too; ``get_run`` leaves
    them out. The fields are the table's columns: a column added to the schema must
    be added here (``tests/store/test_store_entities.py`` checks they match).
    """

    _OPTIONAL = frozenset({"last", "best", "best_epoch"})

    id: str
    name: str
    task: str | None
    tags: list[str]
    notes: str
    config: dict[str, Any]
    status: str
    error: str | None
    created: float
    started: float | None
    finished: float | None
    sweep_id: str | None
    worker_id: str | None
    cancel_requested: bool
    info: dict[str, Any] | None
    result: dict[str, Any] | None
    diagnosis: dict[str, Any] | None
    heartbeat: float | None
    epochs_done: int
    updates_done: int
    parent_id: str | None
    study_id: str | None
    last: dict[str, float | None] | None = None
    best: dict[str, float] | None = None
    best_epoch: dict[str, int] | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, **summary: Any) -> Run:
        d = dict(row)
        d.pop("seq", None)
        for k in ("config", "tags", "info", "result", "diagnosis"):
            d[k] = loads(d[k])
        d["cancel_requested"] = bool(d["cancel_requested"])
        return cls(**d, **summary)


@dataclass(frozen=True, eq=False)
class Series(_Record):
    """One per-epoch series of a run (``loss``, ``val_accuracy``, ``lr`` …): the
    epochs that were written and their values, NaN/inf restored, ``None`` for a value
    that was missing."""

    epoch: list[int]
    value: list[float | None]
