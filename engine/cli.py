"""``python -m engine``: everything the dashboard does, headless.

Each sub-command lives in ``engine/commands/<name>.py`` with ``add_parser`` and
``run``. Bad input exits with status 2 and a field-named message on stderr, never
a traceback; so does a store or file the command cannot use (one line naming the
path and the problem: read-only, locked, full disk, not a folder).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from engine import json_input
from engine.errors import ConfigError, StoreError

COMMANDS = (
    "tasks",
    "run",
    "schedule",
    "export_script",
    "lr_find",
    "sweep",
    "study",
    "replay",
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


@contextlib.contextmanager
def output_file(path: str, option: str = "-o") -> Iterator[IO[str]]:
    """A text file written whole or not at all: into a temporary file beside ``path``,
    renamed over it once complete, so a full disk or an error half way leaves the old
    file (or none), never a truncated one. A path that cannot be written is one
    ``UsageError`` naming the option, the path and the problem."""
    target = Path(path).expanduser()

    def problem(why: str) -> UsageError:
        return UsageError(f"{option}: cannot write {path!r} ({why})")

    if target.is_dir():
        raise UsageError(f"{option}: {path!r} is a folder")
    if not target.parent.is_dir():
        raise problem(f"no folder {str(target.parent)!r}")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as e:
        raise problem(e.strerror or str(e)) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise problem(e.strerror or str(e)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
    except OSError as e:  # a file or folder the command needed: one line, no traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"{where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
