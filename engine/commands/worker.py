"""``worker``: serve the store's queue with a local pool, e.g. after ``sweep --detach``.

Runs until the queue is empty and its runs have finished (or forever with
``--forever``). A study in the store that is not finished (queued with ``sweep
--detach``, or left by a killed ``engine sweep`` or pool) is resumed: its interrupted
runs are retried and its remaining trials asked, until its budget is spent.

Ctrl-C or SIGTERM stops within seconds: runs in progress end ``interrupted`` at
their next epoch boundary (their curves kept), queued runs wait for the next pool.
A store that cannot be written exits with status 2 at once.
"""

from __future__ import annotations

import time

from engine.cli import UsageError, print_json
from engine.commands.runs import add_store_arg, open_store
from engine.commands.sweep import stop_on_sigterm

CHECK_EVERY = 0.5
STOP_TIMEOUT = 4.0  # seconds the pool gets to stop: the whole command exits within ~5 s


def add_parser(sub):
    p = sub.add_parser("worker", help="run a worker pool on the store's queue")
    add_store_arg(p)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--forever", action="store_true", help="keep serving when the queue is empty")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")


def run(args):
    from engine.executor import LocalExecutor
    from engine.search import driver

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be ≥ 1, got {args.workers}")
    store = open_store(args.store, create=True)
    ex = LocalExecutor(store.path, args.workers)
    code = 0
    stop_on_sigterm()
    try:
        ex.start()
        if not args.json:
            print(f"worker pool: {ex.n_workers} process(es) on {store.path}", flush=True)
        while True:
            if ex.error is not None:  # e.g. the store became read-only: respawning is futile
                raise ex.error
            driver.resume(store, ex.n_workers)  # after the pool's recovery of orphaned runs
            st = ex.status()
            if not args.forever and st["queued"] == 0 and st["busy"] == 0:
                break
            time.sleep(CHECK_EVERY)
    except KeyboardInterrupt:
        code = 130
    finally:
        ex.stop(timeout=STOP_TIMEOUT)
    served = [r for r in store.list_runs() if r["worker_id"] in ex.worker_ids]
    if args.json:
        print_json({"runs": [{"id": r["id"], "status": r["status"]} for r in served]})
    else:
        for r in served:
            print(f"{r['id']}  {r['status']:11}  {r['name']}")
    return code
