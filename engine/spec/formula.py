"""A rule in symbols, each symbol tied to its value and the Keras argument it is.

Pure Python: a schedule entry returns one of these for the explorer's card, so the
formula sits beside the parameters and the Keras call it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def tex_num(v: float | int) -> str:
    """A number as LaTeX: ``1e-05`` → ``10^{-5}``, ``2.5e-05`` → ``2.5 \\times 10^{-5}``."""
    if isinstance(v, bool):
        return r"\text{" + str(v).lower() + "}"
    if isinstance(v, int):
        return f"{v:,}".replace(",", "{,}")
    s = f"{v:g}"
    if "e" not in s:
        return s
    mant, exp = s.split("e")
    power = f"10^{{{int(exp)}}}"
    return power if mant == "1" else rf"{mant} \times {power}"


@dataclass(frozen=True)
class Formula:
    """A schedule's rule in symbols (t = Keras's ``optimizer.iterations``: the updates
    already applied), each symbol tied to its value and the Keras argument it is, and
    a note defining any helper symbol (kept out of the display formula so it fits a
    card)."""

    tex: str
    where: list[tuple[str, Any, str]]
    note: str = ""

    def where_text(self) -> str:
        parts = [f"${s} = {tex_num(v)}$ (`{arg}`)" for s, v, arg in self.where]
        text = "where " + ", ".join(parts) + "; $t$ = optimizer updates already applied."
        return text + (f" {self.note}." if self.note else "")
