"""``export RUN_ID... --format csv|json``: many runs' series in one file.

CSV is long format (one row per run, series and point), which pandas and
spreadsheets pivot as they like; JSON is everything, full resolution, NaN kept.
"""

from __future__ import annotations

import json
import sys

from engine.cli import UsageError, output_file
from engine.commands.runs import add_store_arg, open_store


def add_parser(sub):
    p = sub.add_parser("export", help="export runs' series as CSV or JSON")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to export")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    p.add_argument("-o", "--output", default=None, help="write to this file (default: stdout)")
    add_store_arg(p)


def run(args):
    store = open_store(args.store)
    try:
        if args.format == "csv":
            text = store.export_csv(args.run_ids)
        else:
            # NaN/inf stay as JSON's NaN/Infinity tokens: a diverged curve must survive.
            text = json.dumps(store.export_json(args.run_ids)) + "\n"
    except KeyError as e:
        raise UsageError(f"run_id: {e.args[0]}") from None
    if args.output:
        with output_file(args.output, "-o") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0
