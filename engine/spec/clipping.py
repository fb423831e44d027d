"""Gradient clipping modes: what each does, its threshold and how it reaches Keras.

A ``ClipEntry`` is a mode's whole life. ``keras(threshold)`` gives the optimizer's
keyword arguments (built by ``keras_parts.build`` and written by ``export_script``
from that one description); ``target`` names the graph code that tells whether an
update was clipped and clips one member of a stacked graph alone
(``keras_parts/clipping.py``); ``chart`` says what a gradient-norm chart compares the
threshold with (None: no line). A config holds one mode as ``{"<mode>": threshold}``.
Adding a mode is one entry here, its graph code and its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError, field_path, show
from engine.spec.params import Entry, Param, resolve
from engine.spec.registry import Registry


def _threshold(default: float) -> dict[str, Param]:
    return {
        "threshold": Param("float", default, lo=0, lo_open=True, hi=1e6, label="Clip threshold")
    }


def _own_argument(name: str) -> Callable[[float], dict[str, Any]]:
    return lambda threshold: {name: threshold}


@dataclass(frozen=True)
class ClipEntry(Entry):
    """``params["threshold"].default`` is the documents' threshold for the mode."""

    keras: Callable[[float], dict[str, Any]] | None = None
    chart: str | None = None

    def optimizer_kwargs(self, threshold: float) -> dict[str, Any]:
        return (self.keras or _own_argument(self.name))(threshold)

    def graph(self):
        """The mode's graph code (imports TensorFlow)."""
        return resolve(self.target)


CLIP_MODES = Registry(
    "clipping mode",
    [
        ClipEntry(
            "clipvalue",
            "Clip each element",
            "engine.keras_parts.clipping:ClipValue",
            _threshold(0.5),
            help="Clip every gradient element to [-v, v]. Changes the gradient's direction.",
        ),
        ClipEntry(
            "clipnorm",
            "Clip each weight's norm",
            "engine.keras_parts.clipping:ClipNorm",
            _threshold(1.0),
            help="Rescale each weight's gradient whose L2 norm exceeds the threshold.",
            chart="per-weight norm (clipnorm)",
        ),
        ClipEntry(
            "global_clipnorm",
            "Clip the global norm",
            "engine.keras_parts.clipping:GlobalClipNorm",
            _threshold(1.0),
            help="Rescale all gradients together when their global norm exceeds the "
            "threshold: keeps the direction. Recommended for RNNs (1.0 is standard).",
            chart="global norm",
        ),
    ],
)


def check_clipping(value: Any) -> dict[str, float] | None:
    """``null`` or exactly one ``{"<mode>": threshold}``, the threshold checked."""
    names = CLIP_MODES.names()
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(
            "clipping", f"must be null or an object with one of {names}, got {show(value)}"
        )
    unknown = [k for k in value if k not in CLIP_MODES]
    if unknown:
        raise ConfigError(
            field_path("clipping", unknown[0]), f"unknown clipping mode (one of {names})"
        )
    if len(value) != 1:
        raise ConfigError("clipping", f"give exactly one of {names}, got {sorted(value) or 'none'}")
    ((mode, v),) = value.items()
    threshold = CLIP_MODES.entry(mode).params["threshold"]
    return {mode: threshold.check(v, f"clipping.{mode}")}


def clip_mode(clipping: dict[str, float] | None) -> tuple[str | None, float | None]:
    """``(mode, threshold)`` of a checked clipping, ``(None, None)`` when not clipping."""
    for mode, v in (clipping or {}).items():
        if mode in CLIP_MODES and v is not None:
            return mode, float(v)
    return None, None


def clip_kwargs(clipping: dict[str, float] | None) -> dict[str, Any]:
    """The optimizer's clipping arguments for a checked clipping (training and the
    exported script both take them from here)."""
    mode, threshold = clip_mode(clipping)
    return {} if mode is None else CLIP_MODES.entry(mode).optimizer_kwargs(threshold)
