"""``sweep SWEEP.json``: expand a grid × seed repeats, queue it, train it in workers.

Every run is validated before any is queued (exit 2 naming ``grid.<path>`` or
``base.<field>``). A file with a ``space`` instead of a grid is a search: its space
is checked whole (``space.<path>``), its first trials are asked and queued, and the
pool asks for the rest as trials end (``engine.search``). Without ``--detach`` this
process owns a worker pool until the
sweep ends; with it, the runs wait in the store for any pool (the dashboard's, or
``python -m engine worker``).
"""

from __future__ import annotations

import signal
import threading

from engine.cli import UsageError, print_json, read_json
from engine.commands.runs import add_store_arg, open_store, summary

OK_STATUSES = ("completed", "diverged", "pruned")


def add_parser(sub):
    p = sub.add_parser("sweep", help="run a grid of configs (× seed repeats) in worker processes")
    p.add_argument("sweep", help="sweep JSON file ('-' for stdin): {base, grid, repeats}")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--executor", choices=("local", "ray"), default="local", help="default: local")
    p.add_argument(
        "--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else local)"
    )
    add_store_arg(p)
    p.add_argument("--tag", action="append", default=None, help="tag every run (repeatable)")
    p.add_argument("--detach", action="store_true", help="queue the runs and return at once")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _executor(args, store_path):
    from engine.executor import get_executor

    if args.address is not None and args.executor != "ray":
        raise UsageError("--address: only with --executor ray")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be ≥ 1, got {args.workers}")
    if args.executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError(
                "--executor ray: Ray is not installed (pip install 'ray[default]')"
            ) from None
    return get_executor(
        args.executor, store_path=store_path, workers=args.workers, address=args.address
    )


def _report(args, store, sweep_id, ids, detached=False) -> int:
    by_id = {r["id"]: r for r in store.list_runs(sweep_id=sweep_id)}
    runs = [summary(by_id[i]) for i in ids if i in by_id]
    if args.json:
        print_json({"sweep_id": sweep_id, "store": str(store.path), "runs": runs})
    else:
        print(f"sweep {sweep_id}: {len(runs)} run(s) in {store.path}")
        for r in runs:
            loss = r["last"].get("val_loss", r["last"].get("loss"))
            shown = "-" if loss is None else f"{loss:.4g}"
            print(f"{r['id']}  {r['status']:11}  loss={shown:>9}  {r['name']}")
            if r["error"] and r["status"] not in OK_STATUSES:
                print(f"    error: {r['error'].splitlines()[0][:200]}")
    if detached:
        return 0
    return 0 if all(r["status"] in OK_STATUSES for r in runs) else 1


def stop_on_sigterm() -> None:
    """``kill``/``docker stop``/systemd send SIGTERM: stop like Ctrl-C (runs cancelled
    cleanly, their curves kept) instead of dying and orphaning the workers."""

    def handler(_signum, _frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _slots(args) -> int:
    import os

    return args.workers or os.cpu_count() or 1


def _run_search(args, sweep) -> int:
    """The study on the pool: its first trials queued now, the rest asked as they end."""
    from engine.search import driver
    from engine.search.space import parse_study
    from engine.sweep import new_sweep_id

    plan = parse_study(sweep)  # ConfigError (exit 2) before anything is stored
    if args.tag:
        plan = type(plan)(**{**vars(plan), "tags": tuple(dict.fromkeys([*plan.tags, *args.tag]))})
    store = open_store(args.store, create=True)
    ex = _executor(args, store.path)
    study_id = new_sweep_id()
    slots = _slots(args)
    driver.start(store, plan, study_id, slots)
    ids = lambda: [r["id"] for r in store.list_runs(sweep_id=study_id)]  # noqa: E731
    if args.detach:
        return _report(args, store, study_id, ids(), detached=True)
    stop_on_sigterm()
    try:
        ex.start()
        driver.wait(store, study_id, slots)
    except KeyboardInterrupt:
        ex.cancel(sweep_id=study_id)
        ex.stop()
        _report(args, store, study_id, ids())
        return 130
    finally:
        ex.stop()
    return _report(args, store, study_id, ids())


def run(args):
    from engine.sweep import expand, is_search, new_sweep_id

    sweep = read_json(args.sweep, "sweep")
    if is_search(sweep):
        return _run_search(args, sweep)
    runs = expand(sweep)  # ConfigError (exit 2) before anything is queued or spawned
    store = open_store(args.store, create=True)
    ex = _executor(args, store.path)
    sweep_id = new_sweep_id()
    tags = list(dict.fromkeys([*(sweep.get("tags") or []), *(args.tag or [])]))
    ids = ex.submit(
        [r["config"] for r in runs],
        names=[r["name"] for r in runs],
        sweep_id=sweep_id,
        tags=tags or None,
    )
    if args.detach:
        return _report(args, store, sweep_id, ids, detached=True)
    stop_on_sigterm()
    try:
        ex.start()
        ex.wait(ids)
    except KeyboardInterrupt:
        ex.cancel(sweep_id=sweep_id)
        ex.stop()
        _report(args, store, sweep_id, ids)
        return 130
    finally:
        ex.stop()
    return _report(args, store, sweep_id, ids)
