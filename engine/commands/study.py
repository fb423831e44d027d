"""``study ID``: a search's best trial, its parameter importances and its pruning summary."""

from __future__ import annotations

from engine.cli import print_json
from engine.commands.runs import add_store_arg, known, open_store


def add_parser(sub):
    p = sub.add_parser("study", help="a search's best trial, importances and pruning")
    p.add_argument("study", help="the study's id (the sweep id `engine sweep` printed)")
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args):
    from engine.search.report import report

    store = open_store(args.store)
    with known("study", f"no study {args.study!r} in {store.path}"):
        out = report(store, args.study)
    if args.json:
        print_json(out)
        return 0
    t = out["trials"]
    print(
        f"study {out['study_id']}: {out['sampler']} sampler, {t['asked']}/{t['budget']} trials,"
        f" metric {out['metric']} ({out['direction']})"
    )
    b = out["best"]
    if b is None:
        print("best: no completed trial yet")
    else:
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in b["params"].items()
        )
        print(
            f"best: trial #{b['number']} ({b['run_id']}) {out['metric']}={b['value']:.4g}  {params}"
        )
    for w in out["edges"]:
        print(f"warning: {w['message']}")
    if out["importances"] is None:
        print(f"importances: {out['importances_note']}")
    else:
        print("importances: " + ", ".join(f"{k} {v:.2f}" for k, v in out["importances"].items()))
    p = out["pruning"]
    print(
        f"pruned: {p['pruned']} trial(s), at epochs {p['at_epochs'] or '-'};"
        f" {p['epochs_saved']} epochs saved of {p['epochs_trained'] + p['epochs_saved']}"
    )
    for reason in p["reasons"]:
        print(f"    {reason}")
    return 0
