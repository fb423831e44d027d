"""Run detail's config and exports: the canonical config, the facts of how the run
went, and the downloads that reproduce it (config JSON, a standalone Keras script,
the curves as CSV), all from the stored canonical config.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from ui import downloads
from ui.runs import plateau_text


def run_facts(run: Mapping) -> dict[str, object]:
    """What ran where: worker, device, sizes, updates, epochs, and LR cuts."""
    cfg, info, result = run["config"], run.get("info") or {}, run.get("result") or {}
    facts = {
        "status": run["status"],
        "worker": run.get("worker_id") or "—",
        "device": info.get("device", "—"),
        "parameters": f"{info['params']:,}" if info.get("params") else "—",
        "training examples": info.get("n_train", "—"),
        "validation examples": info.get("n_val", "—"),
        "batches per epoch": info.get("steps_per_epoch", "—"),
        "updates per epoch": info.get("updates_per_epoch", "—"),
        "total updates": info.get("total_updates", "—"),
        "epochs run": f"{run.get('epochs_done') or 0} of {cfg.get('epochs')}",
        "sweep": run.get("sweep_id") or "—",
    }
    if result.get("plateau_cuts"):
        facts["learning rate cut by reduce-LR-on-plateau"] = plateau_text(result["plateau_cuts"])
    return facts


def render_config_tab(run: Mapping) -> None:
    run_id, cfg = run["id"], run["config"]
    c1, c2, c3 = st.columns(3)
    downloads.config_json(cfg, key="detail_export_json", file_name=f"hplab-{run_id}.json", where=c1)
    downloads.keras_script(
        cfg,
        key="detail_export_script",
        file_name=f"hplab_{run_id}.py",
        label="Standalone Keras script",
        help="Plain Keras + NumPy that reproduces this run's data, model and training.",
        where=c2,
    )
    downloads.curves_csv(
        [run_id],
        key="detail_export_csv",
        file_name=f"hplab-{run_id}.csv",
        label="Curves CSV",
        where=c3,
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Config** (canonical: every default filled in)")
        st.json(cfg, expanded=2)
    with right:
        st.markdown("**Run facts**")
        st.markdown("\n".join(f"- **{k}**: {v}" for k, v in run_facts(run).items()))
