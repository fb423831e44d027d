"""``schedule CONFIG.json --steps N``: the exact LR of each of the first N updates."""

from engine.cli import UsageError, print_json, read_json
from engine.config import validate


def add_parser(sub):
    p = sub.add_parser("schedule", help="preview the learning rate per update")
    p.add_argument("config", help="config JSON file ('-' for stdin)")
    p.add_argument(
        "--steps", type=int, default=None, help="number of updates (default: the whole run)"
    )
    p.add_argument("--json", action="store_true", help='print {"step": [...], "lr": [...]}')


def run(args):
    cfg = validate(read_json(args.config))
    if args.steps is not None and not 1 <= args.steps <= 1_000_000:
        raise UsageError(f"--steps: must be in [1, 1000000], got {args.steps}")
    from engine.schedule_preview import preview

    out = preview(cfg, args.steps)
    if args.json:
        print_json({"step": out["step"], "lr": out["lr"]})
    else:
        for s, lr in zip(out["step"], out["lr"], strict=True):
            print(f"{s}\t{lr:.6g}")
    return 0
