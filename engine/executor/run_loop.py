"""What every backend's worker does with a run it was handed, and how a run fails.

A local worker process and a Ray actor live in different places (the local one
claims from the store itself, the actor gets its runs from the Ray driver), but once
they hold a run they do the same thing: TensorFlow imported once beforehand
(``warm_up``), then ``train_one``: the run trained with the process's warm cache in a
scratch folder of its own, every outcome turned into a terminal status. A failure
that ``train()`` could not record as the run's result is recorded with ``fail_run``.

Leaf module of the executor package: it imports neither the worker nor the
stacking code, which both import it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

from engine.records import RunSink

log = logging.getLogger("engine.executor")

# How long a worker keeps trying to record a run's failure while the store cannot
# take the write (disk full, locked): a person freeing space meanwhile gets the
# reason in the run, not a run left 'running'.
FAIL_RETRY_FOR = 10.0


def warm_up(intra_threads: int | None, inter_threads: int | None) -> None:
    """Import TensorFlow and Keras once and fix the thread pools before any run."""
    from engine.training import runtime

    runtime.configure(intra_threads=intra_threads, inter_threads=inter_threads)
    import keras  # noqa: F401

    import engine.training.train  # noqa: F401  (its lazy imports happen in the first run)
    from engine.keras_parts import build, models  # noqa: F401
    from engine.training import callbacks, instrumented  # noqa: F401


def failure_reason(e: Exception) -> str:
    """A store error's own sentence (it names the file); other errors with their type."""
    from engine.errors import StoreError

    return str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"


def fail_run(store, run_id: str, reason: str, *, retry_for: float = FAIL_RETRY_FOR) -> None:
    """Record a failure; a run already terminal (or gone) keeps what it has."""
    from engine.errors import StoreFull, StoreLocked
    from engine.store import IllegalTransition

    deadline = time.monotonic() + retry_for
    while True:
        try:
            store.fail_run(run_id, reason)
            return
        except (StoreFull, StoreLocked) as e:
            if time.monotonic() >= deadline:
                log.error("run %s: cannot record its failure (%s): %s", run_id, reason, e)
                return
            time.sleep(0.5)
        except (IllegalTransition, KeyError):
            return
        except Exception as e:  # a read-only store: nothing more to do here
            log.error("run %s: cannot record its failure (%s): %s", run_id, reason, e)
            return


def train_one(
    run_id: str,
    config: dict[str, Any],
    *,
    sink: RunSink,
    should_stop: Callable[[], bool],
    workdir: str | None,
    fail: Callable[[str], None],
    worker_id: str = "",
) -> str:
    """Train one run handed to this process; returns its terminal status.

    ``train()`` reports a run that fails while training through ``sink``; what it
    cannot report (a config it rejects, a sink that cannot write) goes to ``fail``
    with the reason. A run whose store record left the running state underneath us
    (recovered as interrupted, deleted) is ``lost``: there is nothing to write."""
    from engine.errors import ConfigError
    from engine.store import IllegalTransition
    from engine.training.train import train
    from engine.training.warm import CACHE

    run_dir = os.path.join(workdir, run_id) if workdir else None
    try:
        result = train(config, sink=sink, should_stop=should_stop, workdir=run_dir, warm=CACHE)
        return result["status"]
    except IllegalTransition as e:
        log.warning("worker %s: run %s left running state: %s", worker_id, run_id, e)
        return "lost"
    except ConfigError as e:  # a config queued by another version of HP Lab
        fail(f"invalid config: {e}")
        return "failed"
    except Exception as e:  # the store itself failed (disk full, locked too long)
        fail(failure_reason(e))
        return "failed"
    finally:
        if run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
