"""The frame every page runs in: ``frame()`` styles it, ``require_shell()`` makes sure
a page always runs inside it, even when Streamlit runs it bare.

Streamlit treats an app as a legacy "pages/ folder" app until something calls
``st.navigation``: while a ``pages/`` directory sits next to the entry file, a
session's first run may execute ``pages/<page>.py`` directly — a deep link
(``/compare``) as the first request after a server start does, and so does every
``AppTest`` run of a non-default page. The page would then appear bare: a legacy
menu listing every file, no shared sidebar, no wide layout.

Each page calls ``require_shell()`` before anything else. In that legacy case it
switches the legacy mode off and runs ``app.py`` in place — which routes to this
same page (a page's identity is its URL path in both modes) — then ends the bare
run. Running in place rather than calling ``st.rerun()`` keeps the click or edit
that caused this run: a rerun would drop a button's one-shot value.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

from ui import presentation

APP = Path(__file__).resolve().parents[1] / "app.py"


def require_shell() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(APP), run_name="__hplab_shell__")
    st.stop()


# Streamlit leaves 128 px above every page's title (its top bar is 60 px): at a
# projector's 720 px that pushed the compare page's curves below the fold.
FRAME_CSS = "<style>[data-testid='stMainBlockContainer']{padding-top:4.5rem}</style>"


def frame() -> None:
    """The look every page shares beyond the theme (``.streamlit/config.toml``)."""
    st.html(FRAME_CSS + presentation.css())
