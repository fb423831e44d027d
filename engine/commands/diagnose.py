"""``diagnose RUN_ID``: the label, evidence, advice and suggested changes for a stored run."""

import json
import sys

from engine.cli import print_json
from engine.commands.runs import add_store_arg, known, open_store
from engine.diagnosis import diagnose_stored
from engine.errors import StoreReadOnly


def add_parser(sub):
    p = sub.add_parser("diagnose", help="label a stored run and say what to change")
    p.add_argument("run_id", help="run id (see `runs`)")
    add_store_arg(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print label, findings, evidence, clipping, advice and suggestions as JSON",
    )


def run(args):
    store = open_store(args.store)
    with known("run_id", f"unknown run {args.run_id!r}"):
        d = diagnose_stored(store, args.run_id)
    try:  # kept with the run for the dashboard; reading it needs no write
        store.set_diagnosis(args.run_id, d)
    except StoreReadOnly as e:
        print(f"note: the diagnosis was not saved: {e}", file=sys.stderr)
    if args.json:
        print_json(d)
        return 0
    print(f"{d['label']}: {d['summary']} (confidence {d['confidence']:.0%})")
    if len(d["labels"]) > 1:
        print("also: " + ", ".join(d["labels"][1:]))
    for k, v in d["evidence"].items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    if d.get("clipping"):
        print(f"clipping: {d['clipping']['message']}")
    for a in d["advice"]:
        print(f"- {a}")
    for i, s in enumerate(d.get("suggestions") or [], 1):
        change = json.dumps(s["change"], separators=(", ", ": "))
        print(f"{i}. {s['why']}  {change}")
    if d.get("suggestions"):
        print(f"(queue one: python -m engine follow-up {args.run_id} --suggestion N)")
    return 0
