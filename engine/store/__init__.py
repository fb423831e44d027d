"""The run store: the single source of truth shared by the UI, executor and workers.

Pure Python and ``sqlite3``: importing it never pulls in TensorFlow, Keras or
Streamlit, so the dashboard and the command line can read runs cheaply.
"""

from engine.spec.metrics import higher_is_better
from engine.store.db import default_store_path
from engine.store.entities import Run, Series, Updates
from engine.store.runs import IllegalTransition, RunStore, new_run_id
from engine.store.schema import SCHEMA_VERSION, STATUSES, TERMINAL, TRANSITIONS
from engine.store.sink import StoreSink

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "TERMINAL",
    "TRANSITIONS",
    "IllegalTransition",
    "Run",
    "RunStore",
    "Series",
    "StoreSink",
    "Updates",
    "default_store_path",
    "higher_is_better",
    "new_run_id",
]
