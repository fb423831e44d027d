"""``follow-up RUN_ID [--suggestion N]``: queue the run's config with one of its
diagnosis' suggestions applied, as its child; prints the new run's id."""

from engine.cli import UsageError, print_json
from engine.commands.runs import add_store_arg, open_store


def add_parser(sub):
    p = sub.add_parser(
        "follow-up",
        help="queue a run's config with a suggestion of its diagnosis applied (its child)",
    )
    p.add_argument("run_id", help="the parent run's id (see `runs`)")
    p.add_argument(
        "--suggestion",
        type=int,
        default=1,
        metavar="N",
        help="which suggestion, as `diagnose` numbers them (default 1, the most promising)",
    )
    add_store_arg(p)
    p.add_argument("--json", action="store_true", help="print the child's id, name and change")


def run(args):
    from engine.diagnosis.followup import NoSuggestion, queue_follow_up

    if args.suggestion < 1:
        raise UsageError(f"--suggestion: must be 1 or more, got {args.suggestion}")
    store = open_store(args.store)
    try:
        child = queue_follow_up(store, args.run_id, args.suggestion - 1)
    except KeyError:
        raise UsageError(f"run_id: unknown run {args.run_id!r}") from None
    except IndexError as e:
        raise UsageError(f"--{e}") from None
    except NoSuggestion as e:
        raise UsageError(f"run_id: {e}") from None
    if args.json:
        r = store.get_run(child)
        diag = store.get_run(args.run_id)["diagnosis"]
        print_json(
            {
                "id": child,
                "name": r["name"],
                "parent_id": args.run_id,
                "suggestion": diag["suggestions"][args.suggestion - 1],
                "config": r["config"],
            }
        )
    else:
        print(child)
    return 0
