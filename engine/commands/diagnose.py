"""``diagnose RUN_ID``: the label, evidence and advice for a stored run."""

import sys

from engine.cli import UsageError, print_json
from engine.commands.runs import add_store_arg, open_store
from engine.diagnosis import diagnose_stored
from engine.errors import StoreReadOnly


def add_parser(sub):
    p = sub.add_parser("diagnose", help="label a stored run and say what to change")
    p.add_argument("run_id", help="run id (see `runs`)")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="print label, evidence, advice as JSON")


def run(args):
    store = open_store(args.store)
    try:
        d = diagnose_stored(store, args.run_id)
    except KeyError:
        raise UsageError(f"run_id: unknown run {args.run_id!r}") from None
    try:  # kept with the run for the dashboard; reading it needs no write
        store.set_diagnosis(args.run_id, d)
    except StoreReadOnly as e:
        print(f"note: the diagnosis was not saved: {e}", file=sys.stderr)
    if args.json:
        print_json(d)
        return 0
    print(f"{d['label']}: {d['summary']}")
    if len(d["labels"]) > 1:
        print("also: " + ", ".join(d["labels"][1:]))
    for k, v in d["evidence"].items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    for a in d["advice"]:
        print(f"- {a}")
    return 0
