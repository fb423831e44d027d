"""``run CONFIG.json``: train one run in this process and report it."""

from engine.cli import print_json, read_json
from engine.config import validate


def add_parser(sub):
    p = sub.add_parser("run", help="train one config in this process")
    p.add_argument("config", help="config JSON file ('-' for stdin)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: status, history, steps, test, diagnosis",
    )


def run(args):
    cfg = validate(read_json(args.config))  # field-named errors before TF is imported
    from engine.training.train import train

    result = train(cfg)
    try:
        from engine.diagnosis import diagnose_result

        result["diagnosis"] = diagnose_result(result)
    except ImportError:
        pass
    result.pop("traceback", None) if result["status"] != "failed" else None
    if args.json:
        print_json(result)
    else:
        h = result["history"]
        for i in range(len(h.get("loss", []))):
            parts = [f"{k}={h[k][i]:.4g}" for k in h if k not in ("epoch_time", "examples_per_sec")]
            print(f"epoch {i + 1}: " + " ".join(parts))
        print(
            f"status: {result['status']}"
            + (f" at update {result['diverged_at']}" if result.get("diverged_at") else "")
        )
        if result.get("error"):
            print(f"error: {result['error']}")
        for k, v in result.get("test", {}).items():
            print(f"test {k}: {v:.4f}")
    return 0 if result["status"] in ("completed", "diverged") else 1
