"""``runs``: the store's runs with status, last and best values, oldest first.

Also home of what every run-store command shares: the ``--store`` option, opening the
store, and an unknown id refused as a usage error naming its field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.cli import UsageError, print_json
from engine.store import STATUSES, RunStore
from engine.store.db import resolve_path

_SHOWN = ("val_loss", "loss")


def add_store_arg(p) -> None:
    p.add_argument(
        "--store",
        default=None,
        help="run store file (default: $HPLAB_STORE, else ./hplab.db)",
    )


def open_store(path: str | None, *, create: bool = False) -> RunStore:
    """The store, refusing to invent an empty one for a read: a typo in ``--store``
    should say so, not list zero runs."""
    p = resolve_path(path or None)  # ':memory:', a URI: a StoreError naming it (exit 2)
    if not create and not p.exists():
        raise UsageError(f"--store: no run store at {str(p)!r} (give --store or set HPLAB_STORE)")
    return RunStore(p)  # a bad path or file: a StoreError naming the path and the problem


@contextmanager
def known(field: str, message: str | None = None) -> Iterator[None]:
    """A ``KeyError`` inside (an unknown run or study) becomes the usage error
    ``field: message`` (exit 2); without ``message``, the ``KeyError``'s own text."""
    try:
        yield
    except KeyError as e:
        raise UsageError(f"{field}: {e.args[0] if message is None else message}") from None


def summary(run: dict) -> dict:
    """What a person (or a script) wants per run, without the bulky config."""
    keys = (
        "id", "name", "status", "task", "sweep_id", "tags", "error", "worker_id",
        "created", "started", "finished", "epochs_done", "updates_done",
        "last", "best", "best_epoch",
    )  # fmt: skip
    return {k: run.get(k) for k in keys}


def add_parser(sub):
    p = sub.add_parser("runs", help="list the runs in the store")
    add_store_arg(p)
    p.add_argument("--status", action="append", choices=STATUSES, help="only runs in this state")
    p.add_argument("--sweep", default=None, help="only the runs of this sweep id")
    p.add_argument("--config", action="store_true", help="include each run's config (--json)")
    p.add_argument("--json", action="store_true", help='print {"runs": [...]}')


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def _trials(store, runs) -> dict:
    """A study's runs: their trial (number and sampled values), by run id."""
    from engine.search.report import trial_of
    from engine.search.study import load

    records = {}
    for sid in {r["study_id"] for r in runs if r["study_id"]}:
        try:
            records[sid] = load(store, sid)
        except KeyError:
            continue
    return {
        r["id"]: trial_of(records[r["study_id"]], r["id"]) for r in runs if r["study_id"] in records
    }


def run(args):
    store = open_store(args.store)
    runs = store.list_runs(status=args.status, sweep_id=args.sweep)
    if args.json:
        out = []
        trials = _trials(store, runs)
        for r in runs:
            d = summary(r)
            if r["id"] in trials:
                d["trial"] = trials[r["id"]]
            if args.config:
                d["config"] = r["config"]
            out.append(d)
        print_json({"store": str(store.path), "runs": out})
        return 0
    if not runs:
        print(f"no runs in {store.path}")
        return 0
    print(f"{'id':12}  {'status':11}  {'epochs':>6}  {'last loss':>10}  {'best':>18}  name")
    for r in runs:
        key = next((k for k in _SHOWN if k in r["last"]), None)
        last = _fmt(r["last"].get(key)) if key else "-"
        best = f"{key}={_fmt(r['best'].get(key))}@{r['best_epoch'].get(key, '-')}" if key else "-"
        print(
            f"{r['id']:12}  {r['status']:11}  {r['epochs_done']:>6}  {last:>10}  {best:>18}"
            f"  {r['name']}"
        )
        if r["error"] and r["status"] in ("failed", "interrupted"):
            print(f"{'':14}error: {r['error'].splitlines()[0][:200]}")
    return 0
