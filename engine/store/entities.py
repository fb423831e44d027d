"""What the store's reads return: typed, immutable records (after mlflow's entities).

``Run``, ``Series`` and ``Updates`` are frozen dataclasses, so a reader gets named, typed fields
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

_SUMMARY = ("last", "best", "best_epoch")  # filled by list_runs only


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class _Record(Mapping):
    """A read-only mapping over the dataclass' fields; fields left ``None`` that are
    marked optional are not keys (a run read alone has no ``last``/``best``)."""

    _OPTIONAL: frozenset[str] = frozenset()

    # The instance ``__dict__`` holds exactly the dataclass' fields, in field order: a
    # dict lookup keeps ``run["status"]`` as cheap as it was on the old dicts (the run
    # table reads a dozen keys of every run on every poll).
    def _keys(self) -> list[str]:
        optional = self._OPTIONAL
        return [k for k, v in self.__dict__.items() if v is not None or k not in optional]

    def __getitem__(self, key: str) -> Any:
        try:
            value = self.__dict__[key]
        except (KeyError, TypeError):
            raise KeyError(key) from None
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

    _OPTIONAL = frozenset(_SUMMARY)

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
    config_key: str | None
    reused_from: str | None
    last: dict[str, float | None] | None = None
    best: dict[str, float] | None = None
    best_epoch: dict[str, int] | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, **summary: Any) -> Run:
        """A ``runs`` row (``SELECT *``) as a ``Run``; ``summary`` fills ``last`` etc.

        Built without the dataclass' ``__init__`` (25 frozen ``__setattr__`` calls per
        run were most of ``list_runs``' cost for a 200-run table), after checking the
        row has exactly the fields' columns, which is all ``__init__`` would check."""
        d = dict(row)
        d.pop("seq", None)
        for k in ("config", "tags", "info", "result", "diagnosis"):
            d[k] = loads(d[k])
        d["cancel_requested"] = bool(d["cancel_requested"])
        for k in _SUMMARY:
            d[k] = summary.pop(k, None)
        names = _field_names(cls)
        if tuple(d) != names or summary:
            raise TypeError(f"runs row: columns {sorted(d)} are not Run's fields {sorted(names)}")
        run = cls.__new__(cls)
        run.__dict__.update(d)
        return run


@dataclass(frozen=True, eq=False)
class Series(_Record):
    """One per-epoch series of a run (``loss``, ``val_accuracy``, ``lr`` …): the
    epochs that were written and their values, NaN/inf restored, ``None`` for a value
    that was missing."""

    epoch: list[int]
    value: list[float | None]


@dataclass(frozen=True, eq=False)
class Updates(_Record):
    """A run's per-update columns (``schema.UPDATE_COLUMNS``), one entry per recorded
    update, in update order: the optimizer step's number (``update``), its epoch, the
    batch loss, the applied learning rate, the gradient norm and whether clipping
    changed it. NaN/inf restored; ``None`` where a value was not recorded."""

    update: list[int]
    epoch: list[int | None]
    loss: list[float | None]
    lr: list[float | None]
    grad_norm: list[float | None]
    clipped: list[bool | None]
