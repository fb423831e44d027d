"""HP Lab: ``streamlit run app.py``.

The entry point frames every page: one navigation menu (``st.navigation``, so the
legacy ``pages/`` auto-discovery is off and no page is listed twice) and the
shared sidebar. Pages only read the run store and queue work; training happens in
the worker processes of ``engine.executor``, never in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import streamlit as st

from engine.errors import StoreError
from ui import errors, navigation, presentation, resources, shell, sidebar

PAGES = [
    ("pages/setup.py", "Set up runs", ":material/tune:", "setup"),
    ("pages/compare.py", "Watch & compare", ":material/monitoring:", "compare"),
    ("pages/run.py", "Run detail", ":material/insights:", "run"),
    ("pages/study.py", "Study", ":material/travel_explore:", "study"),
    ("pages/demos.py", "Guided demos", ":material/school:", "demos"),
    ("pages/schedules.py", "Schedule explorer", ":material/show_chart:", "schedules"),
    ("pages/losses.py", "Loss explorer", ":material/functions:", "losses"),
]


def main() -> None:
    # Presentation mode (``?present=1`` or the sidebar's toggle) is this session's: the
    # address sets it, it survives page switches, and it decides the sidebar's state.
    navigation.present_address(st.session_state)
    st.set_page_config(
        page_title="HP Lab",
        # An emoji, not a Material icon: Streamlit turns ``:material/…:`` page icons into
        # a favicon URL on Google's font CDN, which an offline classroom cannot reach; an
        # emoji becomes an inline SVG. (Icons inside pages use the bundled font.)
        page_icon="🧪",
        layout="wide",
        initial_sidebar_state=presentation.sidebar_state(),
    )
    shell.frame()
    pages = [
        st.Page(path, title=title, icon=icon, url_path=url, default=i == 0)
        for i, (path, title, icon, url) in enumerate(PAGES)
    ]
    page = st.navigation(pages, position="top")
    navigation.visiting(st.session_state, page.url_path)
    try:
        resources.store()  # opens (or creates) the store and starts the worker pool
    except StoreError as e:  # a foreign, newer or damaged file, a bad path: say so
        st.error("**The run store cannot be used.**", icon=":material/error:")
        st.code(str(e), language=None, wrap_lines=True)  # the engine's sentence, verbatim
        st.caption(
            "Point HP Lab at another file with the HPLAB_STORE environment variable, e.g. "
            "`HPLAB_STORE=~/hplab.db streamlit run app.py`."
        )
        st.stop()
    problem = resources.store_problem()
    if problem is not None:  # read-only: every page that only reads still works
        st.warning(_with_code_path(problem), icon=":material/lock:")
        st.caption(
            "Runs can be browsed, compared and exported; launching, cancelling, renaming, "
            "tagging and deleting need a store this server can write (HPLAB_STORE)."
        )
    sidebar.render()
    try:
        page.run()
    except Exception as e:  # st.stop / st.rerun / switch_page are BaseExceptions: not caught
        errors.show_unexpected(e, page.title)
    finally:
        resources.settle()  # once per server, after the first page is drawn


def _with_code_path(problem: StoreError) -> str:
    """The engine's sentence with its path as inline code, so no character of a path
    is read as markdown."""
    text, path = str(problem), getattr(problem, "path", None)
    literal = path if path and path in text else text
    fence = "`" * (max((len(r) for r in re.findall("`+", literal)), default=0) + 1)
    pad = " " if literal.startswith("`") or literal.endswith("`") else ""
    return text.replace(literal, f"{fence}{pad}{literal}{pad}{fence}")


@contextlib.asynccontextmanager
async def lifespan(_app):
    """The server's start, before its first session: the first page's modules and the
    page libraries import in a thread (``resources.warm_up``), so a cold server's first
    run does not wait for them. Returns at once: the server answers meanwhile. At its
    end, stops the pool and the TensorFlow service (``resources.stop_started``)."""
    resources.warm_up(resources.FIRST_PAGE_MODULES)
    try:
        yield
    finally:
        await asyncio.to_thread(resources.stop_started)


# ``streamlit run app.py`` finds the ``st.App`` below and serves it: the server imports
# this file as the module ``app`` (the pages' modules come with it, and ``lifespan``
# starts the rest). Each session runs the file as a script (``__main__``; or
# ``__hplab_shell__``, ``ui.shell``), which draws the page. Streamlit installs the
# script as ``__main__``, so the worker processes the pool spawns re-import it as
# ``__mp_main__`` (multiprocessing's spawn re-imports the parent's main module): a
# worker must not start a dashboard — or a pool — of its own.
if __name__ == "app":
    app = st.App(__file__, lifespan=lifespan)
elif __name__ != "__mp_main__":
    main()
