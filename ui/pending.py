"""Waiting for the TensorFlow service without blocking a page.

A page never waits for an answer: it draws a "preparing…" state and this fragment
re-checks a few times a second, drawing what has arrived so far (a range test's curve
as it grows); once the answer is in, one full rerun draws the page with it (and the
fragment, no longer called, stops polling). Streamlit cannot change a fragment's
``run_every`` from inside it, hence the full rerun at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

POLL_SECONDS = 0.4


def rerun_when_done(
    check: Callable[[], bool],
    *,
    draw: Callable[[], None] | None = None,
    every: float = POLL_SECONDS,
) -> None:
    """Poll ``check()`` every ``every`` seconds; True reruns the page. ``draw`` renders
    the waiting state (inside the fragment, so it refreshes with each poll)."""

    @st.fragment(run_every=every)
    def _poll() -> None:
        if check():
            st.rerun()
        if draw is not None:
            draw()

    _poll()
