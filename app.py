"""HP Lab: ``streamlit run app.py``.

The entry point frames every page: one navigation menu (``st.navigation``, so the
legacy ``pages/`` auto-discovery is off and no page is listed twice) and the
shared sidebar. Pages only read the run store and queue work; training happens in
the worker processes of ``engine.executor``, never in this process.
"""

from __future__ import annotations

import streamlit as st

from ui import sidebar

st.set_page_config(
    page_title="HP Lab",
    page_icon=":material/science:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = [
    st.Page(
        "pages/setup.py",
        title="Set up runs",
        icon=":material/tune:",
        url_path="setup",
        default=True,
    ),
    st.Page(
        "pages/compare.py",
        title="Watch & compare",
        icon=":material/monitoring:",
        url_path="compare",
    ),
    st.Page(
        "pages/run.py",
        title="Run detail",
        icon=":material/insights:",
        url_path="run",
    ),
]

page = st.navigation(PAGES, position="top")
sidebar.render()
page.run()
