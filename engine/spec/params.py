"""Typed, range-checked hyperparameters with help text.

One ``Param`` drives three things: the validator's field-named error, the UI
widget (kind, range, step, help) and the default that fills a partial config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, field_path, show


def _fmt_interval(lo, hi, lo_open, hi_open, *, whole: bool = False) -> str:
    """``[1, 8192]``; whole-number bounds in full (a seed's top is 2147483647, not the
    2.14748e+09 that ``:g`` would print)."""

    def fmt(v) -> str:
        return str(int(v)) if whole else f"{v:g}"

    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    lo_s = "-inf" if lo is None else fmt(lo)
    hi_s = "inf" if hi is None else fmt(hi)
    return f"{left}{lo_s}, {hi_s}{right}"


@dataclass(frozen=True)
class Param:
    """One hyperparameter: kind is ``float``, ``int``, ``bool``, ``str``, ``floats``, ``ints``."""

    kind: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    nullable: bool = False
    help: str = ""
    log: bool = False  # the UI should offer a log-scale slider
    max_len: int = 64
    # A newcomer's name for the knob ("Momentum decay"); forms show it with the Keras
    # argument name beside it, so both the idea and the code stay visible.
    label: str = ""

    def title(self, name: str) -> str:
        """``"Momentum decay (beta_1)"``; just the label when it *is* the name."""
        if not self.label:
            return name
        if self.label.lower().replace(" ", "_").replace("-", "_") == name.lower():
            return self.label
        return f"{self.label} ({name})"

    def describe_range(self) -> str:
        return _fmt_interval(
            self.lo, self.hi, self.lo_open, self.hi_open, whole=self.kind in ("int", "ints")
        )

    def check(self, value: Any, where: str) -> Any:  # noqa: C901 (one branch per Param kind)
        """Return the normalised value or raise ConfigError naming ``where``."""
        if value is None:
            if self.nullable:
                return None
            raise ConfigError(where, "must not be null")
        k = self.kind
        if k == "bool":
            if not isinstance(value, bool):
                raise ConfigError(where, f"must be true or false, got {show(value)}")
            return value
        if k == "str":
            if not isinstance(value, str):
                raise ConfigError(where, f"must be a string, got {show(value)}")
            if self.choices and value not in self.choices:
                raise ConfigError(where, f"must be one of {list(self.choices)}, got {show(value)}")
            return value
        if k in ("floats", "ints"):
            if not isinstance(value, list | tuple):
                raise ConfigError(where, f"must be a list, got {show(value)}")
            if len(value) > self.max_len:
                raise ConfigError(where, f"must have at most {self.max_len} items")
            item = Param(
                "float" if k == "floats" else "int",
                lo=self.lo,
                hi=self.hi,
                lo_open=self.lo_open,
                hi_open=self.hi_open,
            )
            return [item.check(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if k == "int":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(where, f"must be an integer, got {show(value)}")
            if isinstance(value, float):
                if not math.isfinite(value) or value != int(value):
                    raise ConfigError(where, f"must be an integer, got {show(value)}")
                value = int(value)
        elif k == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(where, f"must be a number, got {show(value)}")
            try:
                value = float(value)
            except OverflowError:  # an integer beyond any float: out of every range
                raise ConfigError(
                    where, f"must be in {self.describe_range()}, got {show(value)}"
                ) from None
            if not math.isfinite(value):
                raise ConfigError(where, f"must be a finite number, got {show(value)}")
        else:  # pragma: no cover - programming error
            raise TypeError(k)
        if self.choices and value not in self.choices:
            raise ConfigError(where, f"must be one of {list(self.choices)}, got {show(value)}")
        bad_lo = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        bad_hi = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        if bad_lo or bad_hi:
            raise ConfigError(where, f"must be in {self.describe_range()}, got {show(value)}")
        return value


@dataclass(frozen=True)
class Entry:
    """A named thing in a registry (a loss, an optimizer, a schedule, ...).

    ``target`` is the import path of the Keras class or factory that builds it;
    ``keras_args`` maps our parameter names to the target's argument names where
    they differ.
    """

    name: str
    title: str
    target: str
    params: dict[str, Param] = field(default_factory=dict)
    help: str = ""
    keras_args: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {k: p.default for k, p in self.params.items()}


@dataclass(frozen=True)
class Symbol:
    """A value a Keras call takes from the run rather than from the entry's params
    (the learning rate): the build binds it to a number, the exported script names it."""

    name: str


LEARNING_RATE = Symbol("LEARNING_RATE")


@dataclass(frozen=True)
class KerasCall:
    """``target(**kwargs)``: how an entry becomes a Keras object, as data.

    ``keras_parts.build`` calls it and ``export_script`` writes it out, both from this
    one description, so the object a run trains with and the script's line cannot
    drift. Values are checked config values or ``Symbol`` s.
    """

    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def bind(self, **symbols: Any) -> dict[str, Any]:
        """The keyword arguments with every ``Symbol`` replaced by its value."""
        return {k: symbols[v.name] if isinstance(v, Symbol) else v for k, v in self.kwargs.items()}

    def build(self, **symbols: Any):
        return resolve(self.target)(**self.bind(**symbols))


def resolve(target: str):
    """Import ``"package.module:attr"`` (or ``package.module.attr``) lazily."""
    import importlib

    if ":" in target:
        mod, attr = target.split(":", 1)
    else:
        mod, _, attr = target.rpartition(".")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_object(value: Any, where: str, params: dict[str, Param]) -> dict[str, Any]:
    """Check a dict of kwargs against ``params``; unknown keys are errors.

    Collects every problem so the caller can report them together.
    """
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for key in value:
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            problems.append((field_path(where, key), f"unknown key (allowed: {known})"))
    for key, p in params.items():
        try:
            out[key] = p.check(value.get(key, p.default), f"{where}.{key}")
        except ConfigError as e:
            problems.extend(e.problems)
    if problems:
        raise ConfigError(problems)
    return out
