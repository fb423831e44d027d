"""``export RUN_ID... --format csv|json``: many runs' series in one file, streamed.

CSV is long format (one row per run, series and point, plus the run's config as
dotted-path columns), which pandas and spreadsheets pivot as they like; JSON is
everything about each run, NaN kept. Both are written as they are read, so a long run
costs disk, not memory; per-update series are thinned to about 1,000 points per run
unless ``--updates full`` (or ``--updates N``) asks otherwise.
"""

from __future__ import annotations

import sys

from engine.cli import UsageError, output_file
from engine.commands.runs import add_store_arg, known, open_store
from engine.store.export import EXPORT_UPDATE_POINTS


def updates_arg(text: str) -> int | None:
    """``full`` → every row (None); a number ≥ 2 → about that many points per run."""
    if text.strip().lower() in ("full", "all"):
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 2:
        raise UsageError(f"--updates: give 'full' or a number of points ≥ 2, got {text[:40]!r}")
    return n


def add_parser(sub):
    p = sub.add_parser("export", help="export runs' series as CSV or JSON")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to export")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    p.add_argument("-o", "--output", default=None, help="write to this file (default: stdout)")
    p.add_argument(
        "--updates",
        default=str(EXPORT_UPDATE_POINTS),
        metavar="full|N",
        help=f"per-update points per run (default {EXPORT_UPDATE_POINTS}, evenly spaced, "
        "first/last/NaN kept); 'full' for every update",
    )
    add_store_arg(p)


def run(args):
    updates = updates_arg(args.updates)
    store = open_store(args.store)
    write = store.write_csv if args.format == "csv" else store.write_json
    with known("run_id"):  # unknown ids refused before the file is created: nothing half-written
        store.require_runs(args.run_ids)
    if not args.output:
        write(args.run_ids, sys.stdout, updates=updates)
        if args.format == "json":
            sys.stdout.write("\n")
        return 0
    # Written beside the target and renamed once whole: a full disk leaves no half file.
    with output_file(args.output, "-o") as f:
        write(args.run_ids, f, updates=updates)
        if args.format == "json":
            f.write("\n")
    return 0
