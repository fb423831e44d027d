"""Set up runs › Find a learning rate: the LR range test under the field it fills.

The test trains in the server's TensorFlow service (its job process, beside the
training workers, so it never waits behind a training run and never loads the
server): clicking queues it, the curve is drawn as it grows, and the result with
its **Use** button replaces it when done. Its own module so the setup page stays a
short script; the widget keys (``setup_lrf_*``) are the page's.
"""

from __future__ import annotations

import streamlit as st

from engine.spec.optimizers import OPTIMIZERS
from ui import form, pending, plan, presentation, resources
from ui.charts import lr_finder_figure
from ui.widgets import escape_md, problem_list

LRF_RATES = tuple(10.0**e for e in range(-8, 2))  # the range test's sweep bounds to pick from
LRF_UPDATES = (50, 100, 200, 400)
LRF_METHODS = {
    "steepest": "where the smoothed loss falls fastest",
    "min_over_10": "a tenth of the rate with the lowest loss (the safe classic bound)",
    "too_few_points": "the loss blew up almost at once: a tenth of the first rate tried",
}


def lr_note() -> None:
    """The optimizer's usual range, beside the learning-rate field."""
    name = st.session_state.get(form.key("optimizer"))
    if name in OPTIMIZERS:
        lo, hi = OPTIMIZERS.entry(name).fixed.get("lr_range", (None, None))
        if lo is not None:
            st.caption(
                f"{OPTIMIZERS.entry(name).title} usually trains with {lo:g} – {hi:g}; HP Lab "
                f"warns beyond {plan.LR_SLACK:g}× outside that range."
            )


def _use_lr(value: float) -> None:
    # A callback runs before the widgets are drawn: the only time a widget's value
    # may be set from code.
    st.session_state[form.key("learning_rate")] = value
    st.toast(f"learning_rate set to {value:g}.", icon=":material/check:")


def lr_finder(base_cfg: dict | None, base_problems: list[tuple[str, str]]) -> None:
    """The LR range test on the form's current config, right under the field it fills
    (full width: its chart reads loss against a log axis across eight decades)."""
    with st.expander("Find a learning rate", icon=":material/manage_search:"):
        st.caption(
            "An LR range test: train a fresh copy of this config while the learning rate "
            "rises exponentially, update by update, until the loss blows up; the weights are "
            "thrown away after. A good rate sits where the loss falls fastest, well before "
            "its minimum. It runs in a TensorFlow process of its own (a few seconds), not "
            "behind your training runs, and ignores the schedule and callbacks; with a "
            "schedule, the rate you pick is its peak."
        )
        if not resources.tf_service_enabled():  # (asking would start the service)
            st.info(
                "The range test is off in this server (HPLAB_TF_SERVICE=0: it starts no "
                "TensorFlow process). `python -m engine lr-find CONFIG.json` runs the same "
                "test in a terminal.",
                icon=":material/info:",
            )
            return
        if base_cfg is None:
            st.error(
                "Fix these settings first: the test trains the config in the form.",
                icon=":material/error:",
            )
            problem_list(base_problems)
            return
        lo, hi = st.select_slider(
            "Rates to sweep",
            LRF_RATES,
            value=(1e-7, 10.0),  # a range: select_slider reads that from value, not state
            key="setup_lrf_range",
            format_func=lambda v: f"{v:g}",
        )
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        updates = c1.select_slider(
            "Updates",
            LRF_UPDATES,
            value=200,
            key="setup_lrf_updates",
            help="More updates resolve the curve more finely and take longer.",
        )
        run = c2.button(
            "Run the range test",
            icon=":material/play_arrow:",
            key="setup_lrf_run",
            width="stretch",
            disabled=lo >= hi,
        )
        if lo >= hi:
            st.error("**Rates to sweep**: the lower end must be below the upper end.")
            return
        key = resources.lr_find_key(base_cfg, min_lr=lo, max_lr=hi, updates=updates)
        if run:
            resources.lr_range_test(base_cfg, min_lr=lo, max_lr=hi, updates=updates)
            st.session_state["setup_lrf"] = {"key": key, "result": None, "error": None}
        held = st.session_state.get("setup_lrf")
        if not held:
            return
        if held["key"] != key:
            st.caption("The settings changed since the last test: run it again for these.")
            return
        if held["result"] is None and held["error"] is None:
            ticket = resources.lr_range_ticket(key)
            if ticket is None:  # the service restarted or dropped it: nothing to wait for
                st.session_state["setup_lrf"] = None
                st.warning("The range test was lost: run it again.", icon=":material/warning:")
                return
            if ticket.pending:
                _running(key, updates)
                return
            held = {**held, "result": ticket.result, "error": ticket.error}
            st.session_state["setup_lrf"] = held
        if held["error"]:
            st.error(f"The range test failed: {escape_md(held['error'])}", icon=":material/error:")
            return
        _result(held["result"])


def _running(key: str, updates: int) -> None:
    """The test while it is queued or training: its state and its curve so far."""

    def done() -> bool:
        t = resources.lr_range_ticket(key)
        return t is None or not t.pending

    def draw() -> None:
        t = resources.lr_range_ticket(key)
        if t is None or not t.pending:
            return
        part = t.partial or {}
        n = len(part.get("lr") or [])
        if t.state == "starting":
            text = (
                "**Preparing the range test…** TensorFlow is starting in its own process "
                "(once per server, a few seconds)."
            )
        elif t.state == "queued":
            text = (
                f"**Waiting:** {t.ahead} range test{'s' if t.ahead != 1 else ''} ahead of this "
                "one (one at a time; previews and training runs do not wait for them)."
            )
        elif n:
            text = (
                f"**Training:** update {n} of up to {updates}, learning rate {part['lr'][-1]:.2g}…"
            )
        else:
            text = "**Training:** building the model…"
        st.markdown(f":material/hourglass_top: {text}")
        if n:
            presentation.plotly_chart(
                st,
                lr_finder_figure(
                    {**part, "suggestion": None, "min_loss_lr": None},
                    title="Loss as the learning rate rises",
                ),
                key="setup_lrf_live",
                width="stretch",
                config={"displaylogo": False},
            )

    pending.rerun_when_done(done, draw=draw, every=0.3)


def _result(res: dict) -> None:
    presentation.plotly_chart(
        st,
        lr_finder_figure(res, title="Loss as the learning rate rises"),
        key="setup_lrf_chart",
        width="stretch",
        config={"displaylogo": False},
    )
    suggestion = float(f"{res['suggestion']:.2g}")  # two digits: the test is no finer
    how = LRF_METHODS.get(res.get("method"), res.get("method") or "")
    low = res.get("min_loss_lr")
    st.caption(
        "Faint: each update's loss; solid: smoothed. "
        f"Suggested **{suggestion:g}** (★): {how}. "
        + (f"The loss was lowest at {low:.2g} (●). " if low else "")
        + f"{res.get('updates', len(res['lr']))} updates"
        + (", stopped when the loss blew up." if res.get("stopped_early") else ".")
    )
    current = st.session_state.get(form.key("learning_rate"))
    st.button(
        f"Use {suggestion:g}",
        icon=":material/input:",
        key="setup_lrf_use",
        on_click=_use_lr,
        args=(suggestion,),
        type="primary",
        disabled=current == suggestion,
        help="Put the suggestion into the learning_rate field.",
    )
