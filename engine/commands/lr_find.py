"""``lr-find CONFIG.json``: an LR range test and a suggested learning rate."""

from engine.cli import UsageError, print_json, read_json
from engine.config import validate


def add_parser(sub):
    p = sub.add_parser("lr-find", help="LR range test: loss vs learning rate, and a suggestion")
    p.add_argument("config", help="config JSON file ('-' for stdin)")
    p.add_argument("--min-lr", type=float, default=1e-7)
    p.add_argument("--max-lr", type=float, default=10.0)
    p.add_argument("--updates", type=int, default=200, help="updates to sweep over (≤ 2000)")
    p.add_argument("--json", action="store_true")


def run(args):
    cfg = validate(read_json(args.config))
    if not 10 <= args.updates <= 2000:
        raise UsageError(f"--updates: must be in [10, 2000], got {args.updates}")
    if not 0 < args.min_lr < args.max_lr <= 100:
        raise UsageError(
            f"--min-lr/--max-lr: need 0 < min < max ≤ 100, got {args.min_lr}, {args.max_lr}"
        )
    from engine.lr_finder import lr_find

    out = lr_find(cfg, min_lr=args.min_lr, max_lr=args.max_lr, updates=args.updates)
    if args.json:
        print_json(out)
    else:
        print(
            f"suggested learning rate: {out['suggestion']:.3g} ({out['method']}); "
            f"loss was lowest at {out['min_loss_lr']:.3g}; {out['updates']} updates"
            + (", stopped when the loss blew up" if out["stopped_early"] else "")
        )
    return 0
