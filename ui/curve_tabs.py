"""Watch & compare's charts: the controls every chart follows and one tab per question
(loss, metrics, learning rate, gradients, speed), each chart with the caption that
says how to read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from ui import navigation, presentation, resources
from ui.charts import MANY_RUNS, X_AXES, metric_figure, updates_figure
from ui.navigation import COMPARE_TABS
from ui.runs import curves_for, metric_keys

state = st.session_state


def controls(has_groups: bool) -> dict:
    """The x axis, smoothing, log y and seed-band controls every chart follows."""
    # The address holds these and the chart tab: a link opens the same charts.
    navigation.show_notices(navigation.compare_view(state))
    # One row of content-wide controls: columns would cut "wall time" and the toggle's
    # label at a projector's 1280 px.
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    x_axis = bar.segmented_control(
        "x axis",
        list(X_AXES),
        key="compare_x",
        default="epoch",
        format_func=lambda k: {
            "epoch": "epoch",
            "update": "step",
            "examples": "examples",
            "wall": "wall time",
        }[k],
        required=True,
        help="Per epoch; per optimizer step (Keras's optimizer.iterations: step 0 is the "
        "first update); examples seen (update × batch × accumulation); "
        "or seconds since the run started. Examples seen compares runs with different batch "
        "sizes fairly.",
    )
    state.setdefault("compare_smooth", 0.0)
    smoothing = bar.slider(
        "Smoothing",
        0.0,
        0.99,
        key="compare_smooth",
        step=0.01,
        width=170,
        help="Exponential moving average (TensorBoard's debiased EMA). The raw curve stays "
        "faint beneath. 0.6-0.9 for noisy per-update curves.",
    )
    log_y = bar.toggle("log y", key="compare_log")
    group = False
    if has_groups:
        group = bar.toggle(
            "Seeds: mean ± std",
            value=True,
            key="compare_group",
            help="Runs identical but for the seed are drawn as their mean with "
            "a ±1 standard deviation band.",
        )
    return {"x_axis": x_axis, "smoothing": smoothing or 0.0, "log_y": log_y, "group": group}


def charts(
    runs: Sequence[Mapping],
    ctl: dict,
    colors: Mapping[str, str],
    names: Mapping[str, str],
    group_of: Mapping[str, str],
    *,
    live: bool = False,
) -> None:
    """The chart tabs; only the open one is drawn, so a live redraw builds one or two
    figures, not ten. ``live``: a poll's redraw, which shares its read with the other
    sessions watching (``ui.shared_reads``)."""
    tabs = st.tabs(COMPARE_TABS, key="compare_tabs", on_change="rerun")
    need_updates = tabs[2].open or tabs[3].open
    series = resources.series_for(runs, updates=need_updates, shared=live)
    curves = [
        curves_for(
            r, *series[r["id"]], colors[r["id"]], group=group_of.get(r["id"]), name=names[r["id"]]
        )
        for r in runs
    ]
    if len(runs) > MANY_RUNS:
        st.caption(
            f"{len(runs)} runs: each chart's legend keeps only the line styles, and pointing "
            "at a curve names its run. Colours repeat every ten runs; the table is the key."
        )
    opts = {"x_axis": ctl["x_axis"], "smoothing": ctl["smoothing"], "log_y": ctl["log_y"]}
    if tabs[0].open:
        with tabs[0]:
            chart(
                metric_figure(
                    curves, "loss", **opts, group_seeds=ctl["group"], title="Loss", height=420
                ),
                "compare_chart_loss",
                "Solid = training loss (averaged over the epoch), dashed = validation loss (end "
                "of epoch). ★ marks each run's best epoch, ▲ where it starts to overfit, and the "
                "shaded band its widening train/validation gap; a dotted line marks the update "
                "where the loss became NaN. Both high and flat means underfitting; spikes or a ✕ "
                "(NaN) mean the learning rate is too high. Explain (below) gives each run's "
                "evidence and what to try.",
            )
    if tabs[1].open:
        with tabs[1]:
            keys = metric_keys(runs)
            if not keys:
                st.info("These runs log no metric besides the loss.", icon=":material/info:")
            else:
                metric = st.selectbox("Metric", keys, key="compare_metric")
                chart(
                    metric_figure(
                        curves, metric, **opts, group_seeds=ctl["group"], title=metric, height=400
                    ),
                    "compare_chart_metric",
                    "Train solid, validation dashed; the best epoch of each run is starred "
                    "on the loss chart.",
                )
    if tabs[2].open:
        with tabs[2]:
            chart(
                updates_figure(
                    curves,
                    "lr",
                    x_axis=opts["x_axis"],
                    log_y=opts["log_y"],
                    title="Learning rate applied at each update",
                    y_title="learning rate",
                ),
                "compare_chart_lr",
                "Read from the optimizer at every update during training: the schedule times "
                "any reduce-LR-on-plateau cuts. Compare it with the preview on the setup page.",
            )
    if tabs[3].open:
        with tabs[3]:
            chart(
                updates_figure(
                    curves,
                    "grad_norm",
                    **opts,
                    title="Global gradient norm per update (before clipping)",
                    y_title="‖g‖₂",
                ),
                "compare_chart_grad",
                "The dotted line is each run's clip threshold (global_clipnorm, or clipnorm "
                "per weight tensor); open circles mark updates that were clipped. Norms far "
                "above the threshold for long stretches mean the learning rate fights the "
                "clipping.",
            )
            chart(
                updates_figure(
                    curves, "loss", **opts, title="Training loss per update", y_title="loss"
                ),
                "compare_chart_update_loss",
                "Every update's mini-batch loss: noisier than the epoch average; smoothing "
                "helps here. ▼ marks the spikes the diagnosis counted (a loss far above the "
                "recent median): many of them mean the learning rate is too high.",
            )
    if tabs[4].open:
        with tabs[4]:
            c1, c2 = st.columns(2)
            with c1:
                chart(
                    metric_figure(
                        curves,
                        "epoch_time",
                        x_axis=opts["x_axis"],
                        show_val=False,
                        title="Seconds per epoch",
                        y_title="s",
                    ),
                    "compare_chart_epoch_time",
                )
            with c2:
                chart(
                    metric_figure(
                        curves,
                        "examples_per_sec",
                        x_axis=opts["x_axis"],
                        show_val=False,
                        title="Training throughput",
                        y_title="examples / s",
                    ),
                    "compare_chart_throughput",
                )
            st.caption(
                "The first epoch includes tracing the training step. mixed_float16 on a CPU "
                "and run_eagerly show up here as many times slower epochs."
            )


def chart(fig, key: str, caption: str | None = None) -> None:
    presentation.plotly_chart(st, fig, key=key, width="stretch", config={"displaylogo": False})
    if caption:
        st.caption(caption)
