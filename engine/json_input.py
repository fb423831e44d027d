"""The one reader of JSON a person hands in: CLI config and sweep files, dashboard imports.

``json.loads`` alone crashes on input a person can easily produce (a 1000-deep
nesting raises RecursionError, a 5,000-digit integer ValueError) and happily returns
values the rest of the engine cannot hold (a 900-deep list breaks ``copy.deepcopy``).
Every text goes through ``loads`` so the CLI and the dashboard share the same guards
and the same field-named ``ConfigError``; ``check_nesting`` is the same depth guard
for objects that arrive without being text (``validate`` calls it).
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, field_path, show

MAX_BYTES = 1_000_000
MAX_DEPTH = 32  # the deepest legitimate document (a runs export) nests about 6 levels
MAX_INT_DIGITS = 4300  # CPython's own limit for int(str); longer literals are refused

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_LONG_INT = re.compile(rf"\d{{{MAX_INT_DIGITS + 1}}}")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"\s*:?|[\[\]{}]', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Overlong:
    """Stands in for an integer literal too long to convert, so its path can be named."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _walk(obj: Any, limit: int):
    """Yield ``(path, value, depth)`` of every node, iteratively (no recursion to exhaust);
    stops descending below ``limit`` so a pathological object costs no more than that."""
    stack = [("", obj, 0)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if depth > limit:
            continue
        if isinstance(value, dict):
            stack.extend((field_path(path, k), v, depth + 1) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))


def check_nesting(obj: Any, where: str = "", limit: int = MAX_DEPTH) -> None:
    """Raise ``ConfigError`` naming the first value nested deeper than ``limit`` levels."""
    for path, value, depth in _walk(obj, limit):
        if depth > limit and isinstance(value, dict | list | tuple):
            field = ".".join(path.split("[", 1)[0].split(".")[:3])
            raise ConfigError(
                field_path(where, field) if field else where or "config",
                f"nested more than {limit} levels deep (no setting nests like that)",
            )


def _depth_of_text(text: str) -> int:
    """Deepest bracket nesting of JSON text, strings skipped; linear, no recursion."""
    brackets = _BRACKETS.findall(_STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _deep_key(text: str) -> str | None:
    """The dotted path (object keys, up to three) under which the text first nests
    deeper than ``MAX_DEPTH``; only computed for text already known to be too deep."""
    keys: list[str | None] = []  # the current key of each open container (None: a list)
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            keys.append(None)
            if len(keys) > MAX_DEPTH:
                named = list(itertools.takewhile(lambda k: k is not None, keys))[:3]
                return ".".join(named) or None
        elif tok in "]}":
            if keys:
                keys.pop()
        elif tok.endswith(":") and keys:
            try:
                keys[-1] = field_path("", json.loads(tok[:-1].rstrip()))
            except ValueError:
                keys[-1] = None
    return None


def loads(data: bytes | str, what: str = "config") -> Any:
    """Parse a person's JSON text or raise ``ConfigError`` naming ``what`` (or the path).

    Refuses what no config needs and the parser or the validator could not survive:
    more than ``MAX_BYTES``, text that is not UTF-8, nesting deeper than ``MAX_DEPTH``,
    integer literals of more than ``MAX_INT_DIGITS`` digits.
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise ConfigError(what, f"larger than {MAX_BYTES:,} bytes ({size:,})")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ConfigError(what, "not UTF-8 text") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as Windows editors write
    depth = _depth_of_text(text)
    if depth > MAX_DEPTH:
        raise ConfigError(
            _deep_key(text) or what, f"nested {depth:,} levels deep (at most {MAX_DEPTH})"
        )
    overlong: list[_Overlong] = []

    def parse_int(literal: str) -> int | _Overlong:
        digits = len(literal) - (literal[0] == "-")
        if digits <= MAX_INT_DIGITS:
            return int(literal)
        overlong.append(_Overlong(digits))
        return overlong[-1]

    try:
        obj = json.loads(text, parse_int=parse_int if _LONG_INT.search(text) else None)
    except json.JSONDecodeError as e:
        raise ConfigError(
            what, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    except (ValueError, RecursionError) as e:  # belt and braces: nothing escapes as a crash
        raise ConfigError(what, f"not valid JSON ({show(str(e))})") from None
    for path, value, _ in _walk(obj, MAX_DEPTH) if overlong else ():
        if isinstance(value, _Overlong):
            raise ConfigError(
                path or what,
                f"a {value.digits:,}-digit integer is out of range for any setting",
            )
    return obj


def read(path: str, what: str = "config") -> Any:
    """``loads`` of a file named on the command line (``-`` = standard input)."""
    if path == "-":
        return loads(sys.stdin.buffer.read(MAX_BYTES + 1), what)
    p = Path(path)
    if not p.is_file():
        raise ConfigError(what, f"no such file {show(path)}")
    if p.stat().st_size > MAX_BYTES:
        raise ConfigError(what, f"file larger than {MAX_BYTES:,} bytes")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(what, f"cannot read {show(path)} ({e.strerror})") from None
    return loads(data, what)


def config_of(document: Any) -> dict:
    """The config in an imported document: a config, a run (``{"config": {...}}``) or an
    HP Lab runs export (its first run). Still to be validated; raises ``ConfigError``."""
    obj = document
    if isinstance(obj, dict) and obj.get("format") == "hplab-runs":
        runs = obj.get("runs")
        if not isinstance(runs, list):
            raise ConfigError("runs", f"must be a list of runs, got {show(runs)}")
        if not runs:
            raise ConfigError("runs", "the export holds no runs")
        if not isinstance(runs[0], dict):
            raise ConfigError("runs[0]", f"must be a run object, got {show(runs[0])}")
        obj = runs[0]
        if not isinstance(obj.get("config"), dict):
            raise ConfigError(
                "runs[0].config", f"must be a config object, got {show(obj.get('config'))}"
            )
    if isinstance(obj, dict) and "task" not in obj and isinstance(obj.get("config"), dict):
        obj = obj["config"]
    if not isinstance(obj, dict):
        raise ConfigError("config", f"must be a JSON object, got {type(obj).__name__}")
    return obj
