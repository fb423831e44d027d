"""What a person sees when a page breaks: one short message, details on request.

Expected problems (a bad field, a refused launch) are named where they happen; this is
for the rest. The browser never gets a traceback with server paths
(``showErrorDetails = "type"``); the details expander shows the exception and the
frames of this repository's own files by their repository-relative path, and the full
traceback goes to the server's log.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("hplab.page")
MAX_MESSAGE = 300


class PageError(Exception):
    """The exception as the details expander shows it: message and our frames only."""


def short_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def own_frames(exc: BaseException) -> list[str]:
    """``pages/setup.py:331 in <module>`` for each frame in this repository (no site
    packages, no absolute paths)."""
    out = []
    for fr in traceback.extract_tb(exc.__traceback__):
        try:
            rel = Path(fr.filename).resolve().relative_to(ROOT)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] == ".venv":
            continue
        out.append(f"{rel.as_posix()}:{fr.lineno} in {fr.name}")
    return out


def show_unexpected(exc: Exception, where: str) -> None:
    log.exception("unexpected error on %s", where, exc_info=exc)
    st.error(
        f"**Something went wrong on {where}.** {short_message(exc)}  \n"
        "Your settings and runs are kept: change the last thing you did, or open another "
        "page and come back. Please report it with the details below.",
        icon=":material/error:",
    )
    with st.expander("Details for a bug report"):
        frames = own_frames(exc)
        detail = PageError(
            f"{type(exc).__name__}: {short_message(exc)}"
            + ("\n" + "\n".join(frames) if frames else "")
        )
        # st.exception of a traceback-free exception: the type and text, no paths; and
        # the page's tests still see an exception element, so a crash never passes.
        st.exception(detail)
