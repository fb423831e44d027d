"""Executors: run queued configs in worker processes, never in the caller's process.

``LocalExecutor`` (a pool of spawned processes, the default, no setup) and
``RayExecutor`` (Ray tasks on a cluster; Ray is an optional dependency, imported only
when that backend is used) share one API and one run store, so the dashboard and the
command line do not care where runs train.
"""

from __future__ import annotations

import os
from typing import Any

from engine.executor.base import recover_orphaned_runs, validate_all
from engine.executor.local import LocalExecutor

KINDS = ("local", "ray")

__all__ = [
    "KINDS",
    "LocalExecutor",
    "RayExecutor",
    "get_executor",
    "recover_orphaned_runs",
    "validate_all",
]


def get_executor(
    kind: str = "local",
    store_path: str | os.PathLike | None = None,
    workers: int | None = None,
    address: str | None = None,
    **kwargs: Any,
):
    """An unstarted executor of ``kind``; call ``start()`` or use it as a context manager.

    ``address`` (Ray only; default ``$RAY_ADDRESS``, else a local Ray instance).
    """
    from engine.errors import ConfigError

    if kind == "local":
        if address is not None:
            raise ConfigError("address", "only the Ray executor takes an address")
        return LocalExecutor(store_path, workers, **kwargs)
    if kind == "ray":
        from engine.executor.ray_backend import RayExecutor

        return RayExecutor(store_path, workers, address=address, **kwargs)
    raise ConfigError("executor", f"must be one of {', '.join(KINDS)}, got {kind!r}")


def __getattr__(name: str):
    if name == "RayExecutor":  # lazily: importing the package must not need Ray
        from engine.executor.ray_backend import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'engine.executor' has no attribute {name!r}")
