"""The downloads that reproduce runs: a config as JSON, a standalone Keras script, the
curves as CSV. One button each, built the same wherever it is offered (run detail,
Set up runs' launch bar, Compare's selection); ``where`` is ``st`` or a column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import streamlit as st

from ui import resources

_KINDS = {  # what a download is: its MIME type and icon
    "json": ("application/json", ":material/data_object:"),
    "script": ("text/x-python", ":material/code:"),
    "csv": ("text/csv", ":material/download:"),
}


def _button(kind: str, label: str, data, *, where=st, width: str = "stretch", **kw) -> None:
    """``kw``: the button's ``key``, ``file_name`` and optional ``help`` / ``disabled``."""
    mime, icon = _KINDS[kind]
    where.download_button(
        label, data=data, mime=mime, icon=icon, width=width, on_click="ignore", **kw
    )


def config_json(cfg: dict | None, **kw) -> None:
    """The config, as the JSON ``engine run`` and Set up runs' import read."""
    data = json.dumps(cfg, indent=2) if cfg else ""
    _button("json", "Config JSON", data, disabled=cfg is None, **kw)


def keras_script(cfg: dict | None, *, label: str, **kw) -> None:
    """``engine.export_script``'s plain Keras + NumPy script for ``cfg``, written when
    the button is clicked: building it on every rerun slowed the first page load."""
    scripted = cfg is not None and resources.can_export_script()
    data = (lambda: resources.export_script_for(cfg) or "") if scripted else ""
    _button("script", label, data, disabled=not scripted, **kw)


def curves_csv(run_ids: Sequence[str], *, label: str, **kw) -> None:
    """The runs' curves in the store's long CSV, made only when the button is clicked."""
    ids = list(run_ids)
    _button("csv", label, lambda: resources.store().export_csv(ids), **kw)
