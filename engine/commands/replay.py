"""``replay SWEEP_OR_STUDY_ID --pruner NAME``: which finished runs a pruner would have
stopped, when, the epochs that would have saved, and whether the winner survives."""

from __future__ import annotations

import json

from engine.cli import UsageError, print_json
from engine.commands.runs import add_store_arg, open_store


def add_parser(sub):
    from engine.search.replay import PRUNER_NAMES

    p = sub.add_parser("replay", help="replay a finished grid or study through a pruner")
    p.add_argument("sweep", help="a sweep's or study's id")
    p.add_argument("--pruner", choices=PRUNER_NAMES, default="median", help="default: median")
    p.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an Optuna argument of the pruner, e.g. n_startup_trials=1 (repeatable)",
    )
    p.add_argument("--metric", default=None, help="default: the study's metric, else val_loss")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _pruner(args) -> str | dict:
    if not args.arg:
        return args.pruner
    out: dict = {"name": args.pruner}
    for item in args.arg:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--arg: expected KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            raise UsageError(f"--arg {key}: not a number or JSON value: {text!r}") from None
    return out


def run(args):
    from engine.search.replay import replay

    store = open_store(args.store)
    try:
        out = replay(store, args.sweep, _pruner(args), metric=args.metric)
    except KeyError:
        raise UsageError(f"replay: no sweep or study {args.sweep!r} in {store.path}") from None
    if args.json:
        print_json(out)
        return 0
    print(
        f"replay of {out['sweep_id']} through {out['pruner']['name']} on {out['metric']}:"
        f" {out['stopped']} of {len(out['runs'])} run(s) stopped,"
        f" {out['epochs_saved']} of {out['epochs_trained']} epochs saved"
        f" ({100 * out['saved_fraction']:.0f}%)"
    )
    for r in out["runs"]:
        if r["stopped_at"] is not None:
            print(f"  {r['run_id']}  stopped at epoch {r['stopped_at']} of {r['epochs_done']}"
                  f"  {r['name']}")  # fmt: skip
    w = out["winner"]
    if w is None:
        print("winner: no completed run")
    elif w["survives"]:
        print(f"winner {w['run_id']} ({out['metric']}={w['value']:.4g}) survives")
    else:
        b = out["best_surviving"]
        alt = "none" if b is None else f"{b['run_id']} ({out['metric']}={b['value']:.4g})"
        print(
            f"winner {w['run_id']} ({out['metric']}={w['value']:.4g}) would have been stopped"
            f" at epoch {w['stopped_at']}; best surviving: {alt}"
        )
    return 0
