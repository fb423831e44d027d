"""``cancel RUN_ID | --sweep ID | --all``: stop runs, keeping their partial curves.

Queued runs are cancelled at once; running ones stop at their next epoch boundary,
whichever pool (dashboard, ``engine worker``, Ray driver) trains them.
"""

from __future__ import annotations

from engine.cli import UsageError, print_json
from engine.commands.runs import add_store_arg, known, open_store


def add_parser(sub):
    p = sub.add_parser("cancel", help="cancel a run, a sweep, or every unfinished run")
    p.add_argument("run_id", nargs="?", help="the run to cancel")
    p.add_argument("--sweep", default=None, help="cancel every unfinished run of this sweep")
    p.add_argument("--all", action="store_true", help="cancel every unfinished run")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help='print {"cancelled": N}')


def run(args):
    given = [args.run_id is not None, args.sweep is not None, bool(args.all)]
    if sum(given) != 1:
        raise UsageError("cancel: give exactly one of RUN_ID, --sweep ID or --all")
    store = open_store(args.store)
    with known("run_id"):
        n = store.request_cancel(args.run_id, sweep_id=args.sweep, all=args.all)
    if args.sweep is not None and n == 0 and not store.list_runs(sweep_id=args.sweep):
        raise UsageError(f"--sweep: no runs with sweep id {args.sweep!r}")
    if args.json:
        print_json({"cancelled": n})
    else:
        print(f"cancel requested for {n} run(s)")
    return 0
