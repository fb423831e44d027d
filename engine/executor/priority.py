"""CPU priority of HP Lab's background processes.

Training workers and the TensorFlow service share the machine with the Streamlit
server and the browser a person is looking at. On a laptop or a 2-core classroom
machine, two workers importing TensorFlow at the server's first start used to take
the CPU from the page: Launch became clickable after ~17 s instead of ~7 s. A worker
runs at a lower priority (``nice``) so the page comes first; idle cores still go to
training, so a run is no slower when nobody is clicking.
"""

from __future__ import annotations

import contextlib
import os

WORKER = 10  # training runs: background work, hours long
SERVICE = 5  # the LR preview and range test: someone waits, but after the page


def lower(by: int) -> None:
    """Lower this process's priority by ``by`` steps (never raises: a platform without
    ``os.nice`` or a sandbox refusing it leaves the priority as it is)."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(by)
