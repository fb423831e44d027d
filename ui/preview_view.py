"""Set up runs › the exact learning rate, update by update, for every planned run.

Runs that will apply the very same rates share one line; the curve comes from the
schedule object the workers train with, built in the server's TensorFlow service.
The page never waits for it: until it is in, a "preparing the preview" box of the
chart's size holds its place, the rest of the page (Launch included) works, and the
chart fills in when the service answers.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import streamlit as st

from ui import pending, presentation, resources
from ui.charts import schedule_figure
from ui.plan import PlannedRun
from ui.widgets import escape_md

CHART_HEIGHT = 320  # schedule_figure's; the waiting box takes the same room
UNAVAILABLE = (
    "The exact preview is off in this server (HPLAB_TF_SERVICE=0: it starts no "
    "TensorFlow process). Runs still launch and record the rate they applied."
)

K = TypeVar("K", bound=Hashable)
# Seconds a page waits for a warm preview process before it draws the waiting box: a
# preview takes milliseconds there, and a chart that blinks to "preparing" and back on
# every edit would be worse than this wait. A cold process (importing TensorFlow) is
# never waited for.
GRACE = 0.3


def previews_for(
    configs: Mapping[K, dict],
    *,
    height: int = CHART_HEIGHT,
    key: str = "setup_preview_wait",
    what: str = "the preview",
) -> tuple[dict[K, dict], dict[K, str]] | None:
    """Each validated config's exact preview once all are in, with the errors of those
    Keras refused: ``({k: preview}, {k: message})``.

    None while any is still being computed (a "preparing" box of ``height`` px holds
    their place and the page reruns itself when they are in) and when this server has
    no TensorFlow service (said so in their place).
    """
    tickets = {k: resources.schedule_preview(cfg) for k, cfg in configs.items()}
    if any(t is None for t in tickets.values()):
        st.info(UNAVAILABLE, icon=":material/info:")
        return None
    svc = resources.tf_service()
    if any(t.pending for t in tickets.values()) and svc.ready("preview"):
        settled = svc.wait("preview", [t.key for t in tickets.values()], GRACE)
        tickets = {k: s or t for (k, t), s in zip(tickets.items(), settled, strict=True)}
    waiting = [t.key for t in tickets.values() if t.pending]
    if waiting:
        _preparing(waiting, height=height, key=key, what=what)
        return None
    results = {k: t.result for k, t in tickets.items() if t.result is not None}
    errors = {k: t.error or "no answer" for k, t in tickets.items() if t.result is None}
    return results, errors


def _preparing(keys: list[str], *, height: int, key: str, what: str) -> None:
    first_load = resources.tf_import_seconds() is None
    with st.container(height=height, border=False, key=key):
        st.markdown(f":material/hourglass_top: **Preparing {what}…**")
        if first_load:
            st.caption(
                "TensorFlow is starting in a process of its own (once per server, a few "
                "seconds). Everything else on this page works meanwhile."
            )
        else:
            st.caption("Building the schedule objects training will use.")
    svc = resources.tf_service()

    def done() -> bool:
        now = [svc.ticket("preview", k) for k in keys]
        return all(t is None or not t.pending for t in now)

    pending.rerun_when_done(done)


def render(
    planned: Sequence[PlannedRun], configs: Sequence[dict], colors: Mapping[str, str]
) -> None:
    """The preview panel for the launch under review."""
    with st.container(border=True):
        pc1, pc2, pc3, pc4 = st.columns([3, 2, 1, 1.4], vertical_alignment="bottom")
        with pc1:
            st.markdown("**Learning rate, update by update**")
        with pc2:
            per = st.segmented_control(
                "x axis",
                ["update", "epoch"],
                key="setup_preview_x",
                default="update",
                format_func={"update": "step", "epoch": "epoch"}.get,
                required=True,
                label_visibility="collapsed",
            )
        with pc3:
            log_y = st.toggle("log y", key="setup_preview_log")
        with pc4:
            show = st.toggle(
                "Preview",
                value=True,
                key="setup_preview",
                help="Builds the schedule object training will use, in the server's "
                "TensorFlow process.",
            )
        if show:
            unique: dict[str, tuple[list[str], dict]] = {}
            for p, cfg in zip(planned, configs, strict=False):
                sig = json.dumps(
                    {
                        k: cfg[k]
                        for k in (
                            "learning_rate",
                            "schedule",
                            "batch_size",
                            "grad_accum_steps",
                            "epochs",
                            "validation_split",
                        )
                    }
                    | {"n": cfg["data"]["n_train"]},
                    sort_keys=True,
                )
                names, _ = unique.setdefault(sig, ([], cfg))
                base = p.name.split(" · seed ")[0]
                if base not in names:
                    names.append(base)
            lines = []
            for names, cfg in list(unique.values())[:12]:
                # runs that will apply the very same rates share one line
                label = (
                    names[0]
                    if len(names) == 1
                    else f"{', '.join(names[:4])}"
                    + (f" (+{len(names) - 4})" if len(names) > 4 else "")
                )
                color = colors.get(names[0], "#4e79a7") if len(unique) > 1 else "#4338ca"
                lines.append((label, color, cfg))
            got = previews_for({i: cfg for i, (_, _, cfg) in enumerate(lines)})
            if got is None:
                return
            results, errors = got
            for i, message in errors.items():
                st.error(  # run names and Keras's words are shown as written
                    f"**{escape_md(lines[i][0])}**: no preview: {escape_md(message)}",
                    icon=":material/error:",
                )
            previews = [
                (label, color, results[i])
                for i, (label, color, _) in enumerate(lines)
                if i in results
            ]
            presentation.plotly_chart(
                st,
                schedule_figure(previews, per=per, log_y=log_y),
                key="setup_schedule_chart",
                width="stretch",
            )
            notes_txt = (
                "From the same schedule object the workers train with; one point per optimizer "
                "update (with gradient accumulation, an update spans several batches), counted "
                "like Keras's optimizer.iterations: step 0 is the first update."
            )
            if len(unique) == 1 and len(configs) > 1:
                notes_txt += f" All {len(configs)} runs apply exactly these rates."
            if any("reduce_lr_on_plateau" in c["callbacks"] for c in configs):
                notes_txt += (
                    " Reduce-LR-on-plateau cuts depend on the curves, so they appear in the "
                    "run's applied-LR chart, not here."
                )
            st.caption(notes_txt)
