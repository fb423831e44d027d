"""``python -m engine``: everything the dashboard does, headless.

Each sub-command lives in ``engine/commands/<name>.py`` with ``add_parser`` and
``run``. Bad input exits with status 2 and a field-named message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from typing import Any

from engine import json_input
from engine.errors import ConfigError, StoreError

COMMANDS = (
    "tasks",
    "run",
    "schedule",
    "export_script",
    "lr_find",
    "sweep",
    "runs",
    "cancel",
    "export",
    "diagnose",
    "follow_up",
    "worker",
)

MAX_CONFIG_BYTES = json_input.MAX_BYTES


class UsageError(Exception):
    """Bad command-line input: reported on stderr with exit status 2."""


def read_json(path: str, what: str = "config") -> Any:
    """A JSON file given on the command line (``-`` = stdin), through the engine's one
    guarded reader (``engine.json_input``): size, encoding, nesting and number limits."""
    return json_input.read(path, what)


def _clean(obj: Any) -> Any:
    """JSON without NaN/Infinity tokens (strict parsers reject them): they become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=None, default=str) + "\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"engine.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"engine.commands.{name}":
                continue  # command not built yet
            raise
        mod.add_parser(sub)
        modules[name.replace("_", "-")] = mod
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    except (UsageError, StoreError) as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
