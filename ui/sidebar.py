"""The sidebar every page shares: the worker pool, the device and the store in use.

It answers the three questions people ask before trusting a dashboard that trains:
where are my runs kept, what hardware will train them, and is anything waiting.
The pool line refreshes itself only while something is queued or running.
"""

from __future__ import annotations

import streamlit as st

from ui import presentation, resources

POLL_SECONDS = 2.0
CPU_ONLY = (
    "CPU only — TensorFlow uses a GPU automatically when one is visible; install the NVIDIA "
    "driver and CUDA libraries (`nvidia-smi` must list the card) to train on one."
)


def _active_count() -> int:
    return len(resources.store().list_runs(status=["queued", "running"]))


def _last_device() -> str | None:
    """What TensorFlow in a worker actually used: the truth when drivers are half there."""
    done = resources.store().list_runs(status=["completed", "cancelled", "diverged"])
    for run in reversed(done):
        device = (run.get("info") or {}).get("device")
        if device:
            return device
    return None


def _pool_panel() -> None:
    status = resources.pool_status()
    workers = status["workers"]
    if status["backend"] == "none" and status.get("problem"):
        st.markdown("**Workers** · none: the run store cannot be written")
    elif status["backend"] == "none":
        st.markdown("**Workers** · no pool in this server")
        st.caption(
            "HPLAB_WORKERS=0: launched runs wait in the store until a worker serves it "
            "(`python -m engine worker`). "
            + (
                "Schedule previews and the LR range test still work: they run in the "
                "server's own TensorFlow process."
                if resources.tf_service_enabled()
                else "No schedule previews and no LR range test either (HPLAB_TF_SERVICE=0)."
            )
        )
    else:
        alive = sum(1 for w in workers if w["alive"])
        st.markdown(f"**Workers** · {alive} {status['backend']}")
        c1, c2, c3 = st.columns(3)
        c1.metric("busy", status["busy"])
        c2.metric("idle", status["idle"])
        c3.metric("queued", status["queued"])
    if status["backend"] == "none":
        c1, c2 = st.columns(2)
        c1.metric("running", status["busy"])
        c2.metric("queued", status["queued"])


def render() -> None:
    with st.sidebar:
        st.markdown("### :material/science: HP Lab")
        st.caption("Launch training runs, watch them live, and compare them side by side.")
        presentation.toggle()
        active = _active_count() > 0
        st.fragment(run_every=POLL_SECONDS if active else None)(_pool_panel)()
        st.divider()
        gpus = resources.gpu_devices()
        st.markdown("**Device**")
        if gpus:
            for g in gpus:
                st.caption(f":material/memory: {g}")
            st.caption("TensorFlow in each worker trains on the GPU automatically.")
        else:
            st.caption(CPU_ONLY)
        seen = _last_device()
        if seen:
            st.caption(f"The last finished run trained on: **{seen}** (reported by its worker).")
        st.markdown("**Run store**")
        st.code(resources.store_path(), language=None, wrap_lines=True)
        st.caption(
            "Runs live in this SQLite file and survive restarts. Set HPLAB_STORE to use another."
        )
