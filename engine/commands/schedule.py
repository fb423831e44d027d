"""``schedule CONFIG.json [--steps N]``: the exact LR the run's updates will apply.

Steps are Keras's ``optimizer.iterations``: step 0 is the first update. Without
``--steps``, the whole run at most ``MAX_POINTS`` steps (evenly spaced beyond that,
plus the steps where the rate jumps; every value exact); with it, every one of the
first N updates (steps 0 … N−1).
"""

from engine.cli import UsageError, print_json, read_json
from engine.config import validate

MAX_STEPS = 1_000_000


def add_parser(sub):
    p = sub.add_parser("schedule", help="preview the learning rate per update")
    p.add_argument("config", help="config JSON file ('-' for stdin)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="the first N updates, steps 0..N-1 (default: the whole run, sampled down to "
        "4,000 points)",
    )
    p.add_argument("--json", action="store_true", help='print {"step": [...], "lr": [...]}')


def run(args):
    cfg = validate(read_json(args.config))
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps: must be in [1, {MAX_STEPS}], got {args.steps}")
    from engine.schedule_preview import preview

    out = preview(cfg, args.steps)
    if args.json:
        print_json({"step": out["step"], "lr": out["lr"], "total_updates": out["total_updates"]})
    else:
        for s, lr in zip(out["step"], out["lr"], strict=True):
            print(f"{s}\t{lr:.6g}")
    return 0
