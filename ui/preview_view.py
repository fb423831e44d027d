"""Set up runs › the exact learning rate, update by update, for every planned run.

Runs that will apply the very same rates share one line; the curve comes from the
schedule object the workers train with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import streamlit as st

from ui import resources
from ui.charts import schedule_figure
from ui.plan import PlannedRun


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
                help="Builds the schedule object training will use (needs TensorFlow in this "
                "server, loaded once).",
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
            previews = []
            first_load = resources.tf_import_seconds() is None
            with st.spinner(
                "Loading TensorFlow to build the exact schedule (once per server)…"
                if first_load
                else "Computing the schedule…"
            ):
                for names, cfg in list(unique.values())[:12]:
                    # runs that will apply the very same rates share one line
                    label = (
                        names[0]
                        if len(names) == 1
                        else f"{', '.join(names[:4])}"
                        + (f" (+{len(names) - 4})" if len(names) > 4 else "")
                    )
                    color = colors.get(names[0], "#4e79a7") if len(unique) > 1 else "#4338ca"
                    previews.append((label, color, resources.schedule_preview(cfg)))
            st.plotly_chart(
                schedule_figure(previews, per=per, log_y=log_y),
                key="setup_schedule_chart",
                width="stretch",
            )
            notes_txt = (
                "From the same schedule object the workers train with; one point per optimizer "
                "update (with gradient accumulation, an update spans several batches)."
            )
            if len(unique) == 1 and len(configs) > 1:
                notes_txt += f" All {len(configs)} runs apply exactly these rates."
            if any("reduce_lr_on_plateau" in c["callbacks"] for c in configs):
                notes_txt += (
                    " Reduce-LR-on-plateau cuts depend on the curves, so they appear in the "
                    "run's applied-LR chart, not here."
                )
            if resources.tf_import_seconds() is not None:
                notes_txt += (
                    f" TensorFlow's one-time load for previews took "
                    f"{resources.tf_import_seconds():.1f} s in this server."
                )
            st.caption(notes_txt)
