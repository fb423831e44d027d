"""What keeps the compare page quick, checked for the behaviour it must keep.

The live panel's polling pace is a pure decision (``ui.runs.poll_seconds``); the run
charts are built without Plotly's per-property checks, so every kind of trace they
draw is checked against Plotly's schema here; many runs' series are read in one
query and finished runs are cached per server, which must never serve a live run's
stale curve; a long finished comparison draws its progress list only when opened.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
from ui_fake_runs import _epochs, _finish, _info
from ui_helpers import chart_titles, open_app

from engine.config import validate
from engine.store import RunStore
from ui import resources
from ui.charts import Marker, RunCurves, metric_figure, updates_figure
from ui.runs import (
    FAST_POLL_SECONDS,
    FIRST_EPOCH_SECONDS,
    JUST_QUEUED_SECONDS,
    POLL_SECONDS,
    poll_seconds,
)

NOW = 1_000_000.0


# ----------------------------------------------------------------------------- polling


def _run(status, *, epochs=0, created=NOW - 100, started=None):
    return {"status": status, "epochs_done": epochs, "created": created, "started": started}


def test_finished_runs_are_not_polled():
    assert poll_seconds([], NOW) is None
    assert poll_seconds([_run("completed", epochs=5), _run("cancelled")], NOW) is None


def test_a_just_launched_run_is_polled_fast_until_its_first_epoch():
    assert poll_seconds([_run("queued", created=NOW - 0.2)], NOW) == FAST_POLL_SECONDS
    started = _run("running", created=NOW - 1, started=NOW - 0.5)
    assert poll_seconds([_run("completed", epochs=3), started], NOW) == FAST_POLL_SECONDS
    drawing = _run("running", epochs=1, created=NOW - 1, started=NOW - 0.5)
    assert poll_seconds([drawing], NOW) == POLL_SECONDS


def test_runs_that_wait_or_trace_long_are_polled_at_the_normal_pace():
    waiting = _run("queued", created=NOW - JUST_QUEUED_SECONDS - 1)  # behind other runs
    slow = _run("running", started=NOW - FIRST_EPOCH_SECONDS - 1)  # a big graph tracing
    assert poll_seconds([waiting], NOW) == POLL_SECONDS
    assert poll_seconds([slow], NOW) == POLL_SECONDS
    assert poll_seconds([waiting, slow, _run("queued", created=NOW - 0.1)], NOW) == (
        FAST_POLL_SECONDS
    )


def test_the_fast_pace_is_faster():
    assert 0 < FAST_POLL_SECONDS < POLL_SECONDS


# ----------------------------------------------------------------------------- figures


def _curves(rid: str, *, group: str | None = None) -> RunCurves:
    n = 30
    ep = list(range(1, n + 1))
    loss = [1 / e for e in ep[:-1]] + [float("nan")]
    ups = list(range(1, 25 * n + 1))
    return RunCurves(
        run_id=rid,
        name=f"run {rid} 100%",
        color="#4e79a7",
        epochs={
            "loss": {"epoch": ep, "value": loss},
            "val_loss": {"epoch": ep, "value": [1.1 / e + 0.01 * e for e in ep]},
            "updates": {"epoch": ep, "value": [25 * e for e in ep]},
            "wall_time": {"epoch": ep, "value": [0.1 * e for e in ep]},
        },
        updates={
            "update": ups,
            "epoch": [(u - 1) // 25 + 1 for u in ups],
            "loss": [1 / u for u in ups[:-1]] + [float("inf")],
            "lr": [0.01] * len(ups),
            "grad_norm": [0.5 + u % 3 for u in ups],
            "clipped": [u % 7 == 0 for u in ups],
        },
        updates_per_epoch=25,
        batch_size=32,
        n_train=800,
        clipping={"global_clipnorm": 1.0},
        markers=[
            Marker(key="val_loss", label="best val_loss (epoch 5)", epoch=5),
            Marker(key="val_loss", label="overfitting from epoch 8", epoch=8, symbol="triangle-up"),
            Marker(key="*", label="diverged at update 740", update=740, kind="line"),
            Marker(key="loss", label="loss spike", update=100, symbol="triangle-down"),
        ],
        group=group,
        group_label="seeds" if group else None,
        gap_from=8,
    )


FIGURES = [
    ("loss, smoothed, seed bands", lambda rs: metric_figure(rs, "loss", smoothing=0.6,
                                                            group_seeds=True, title="Loss")),
    ("loss by update, log", lambda rs: metric_figure(rs, "loss", x_axis="update", log_y=True)),
    ("loss by wall time", lambda rs: metric_figure(rs, "loss", x_axis="wall")),
    ("gradient norms", lambda rs: updates_figure(rs, "grad_norm", title="g")),
    ("learning rate by examples", lambda rs: updates_figure(rs, "lr", x_axis="examples")),
    ("update loss, smoothed", lambda rs: updates_figure(rs, "loss", smoothing=0.9)),
]  # fmt: skip


@pytest.mark.parametrize(("what", "build"), FIGURES, ids=[f[0] for f in FIGURES])
def test_run_charts_pass_plotlys_schema_unchanged(what, build):
    """Built unchecked for speed, each figure must be exactly what Plotly's checked
    constructor makes of it: a misspelt or ill-typed property fails here."""
    fig = build([_curves("a", group="g"), _curves("b", group="g"), _curves("c")])
    drawn = fig.to_dict()
    checked = go.Figure(drawn).to_dict()
    assert json.dumps(checked, sort_keys=True) == json.dumps(drawn, sort_keys=True)


def test_the_checked_figures_draw_every_kind_of_trace():
    series = set()
    shapes = 0
    for _, build in FIGURES:
        fig = build([_curves("a", group="g"), _curves("b", group="g"), _curves("c")])
        series |= {(t.meta or {}).get("series") for t in fig.data}
        series |= {"band" for t in fig.data if (t.meta or {}).get("band")}
        shapes += len(fig.layout.shapes)
    assert {
        "loss",
        "val_loss",
        "marker",
        "gap",
        "diverged",
        "band",
        "clip_threshold",
        "clipped",
        "update_marker",
        "lr",
        "grad_norm",
    } <= series
    assert shapes  # the divergence line


# ----------------------------------------------------------------------------- series


def test_series_for_reads_many_runs_like_the_store_and_caches_only_finished_ones(
    filled, store_path
):
    store = RunStore(store_path)
    runs = store.list_runs()
    got = resources.series_for(runs, updates=True)
    for r in runs:
        epochs, ups = got[r["id"]]
        assert epochs == store.epoch_series(r["id"])[r["id"]]
        assert ups == store.update_series(r["id"])
    assert resources.series_for(runs, updates=False)[filled["adam"]][1] is None

    by_id = {r["id"]: r for r in runs}
    again = resources.series_for(runs, updates=False)
    assert again[filled["adam"]][0] is got[filled["adam"]][0]  # finished: served from cache
    # a live run is read afresh on every call: its new epoch shows at once
    assert by_id[filled["sgd"]]["status"] == "running"
    store.append_epoch(filled["sgd"], {"epoch": 3, "values": {"loss": 0.1}})
    live = resources.series_for([store.get_run(filled["sgd"])], updates=False)
    assert live[filled["sgd"]][0]["loss"]["epoch"][-1] == 3


def test_a_run_that_finished_since_a_shared_read_is_cached_with_its_last_epochs(filled, store_path):
    store = RunStore(store_path)
    rid = filled["sgd"]
    before = resources.series_for([store.get_run(rid)], updates=False, shared=True)
    store.append_epoch(rid, {"epoch": 3, "values": {"loss": 0.1}})
    store.finish(rid, {"status": "completed"})
    done = store.get_run(rid)
    # Within the shared read's second: the live read is stale, the finished one is not.
    for _ in range(2):
        got = resources.series_for([done], updates=False, shared=True)[rid][0]
        assert got["loss"]["epoch"][-1] == 3, (before[rid][0], got)


def test_series_for_reads_a_run_deleted_meanwhile_as_empty(filled, store_path):
    store = RunStore(store_path)
    runs = store.list_runs(status="queued") + store.list_runs(status="failed")
    store.delete_runs([filled["failed"]])
    got = resources.series_for(runs, updates=False)
    assert got[filled["failed"]] == ({}, None)
    assert filled["queued"] in got


# ----------------------------------------------------------------------------- page


def _finished_runs(store_path, n: int) -> list[str]:
    store = RunStore(store_path)
    cfg = validate({"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}})
    ids = store.create_runs([validate({**cfg, "seed": i}) for i in range(n)], sweep_id="sw-many01")
    for rid in ids:
        store.claim(rid, "w-test")
        store.record_start(rid, _info(cfg))
        _epochs(store, rid, cfg, 3, metric="mae")
        _finish(store, rid, "completed", cfg)
    return ids


def test_a_long_finished_comparison_draws_its_progress_list_when_opened(store_path):
    ids = _finished_runs(store_path, 7)
    at = open_app("pages/compare.py", compare_ids=ids)
    assert not at.exception
    (box,) = [e for e in at.expander if "all finished" in e.label]
    assert "7 runs" in box.label
    assert not [e for e in at.get("page_link") if "Details" in str(e.proto.label)]
    at.session_state["compare_progress"] = True
    at.run()
    assert not at.exception
    details = [e for e in at.get("page_link") if "Details" in str(e.proto.label)]
    assert len(details) == len(ids)


def test_a_run_launched_while_watching_is_drawn_from_its_first_epoch(store_path):
    store = RunStore(store_path)
    cfg = validate({"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}})
    (rid,) = store.create_runs([cfg], names=["live"], sweep_id="sw-live0001")
    at = open_app("pages/compare.py", compare_ids=[rid])
    assert not at.exception
    assert any("queued" in str(p.proto.text) for p in at.get("progress"))
    store.claim(rid, "w-test")
    store.record_start(rid, _info(cfg))
    _epochs(store, rid, cfg, 1, metric="mae")
    at.run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(t.get("meta", {}).get("run_id") == rid and t["x"] == [1] for t in spec["data"])


def test_parallel_coordinates_wait_for_a_new_runs_first_epoch(filled, store_path):
    """WebGL without a GPU holds the browser (and the live panel's polling) for seconds,
    so the chart is drawn once the run that was just started shows its first point."""
    store = RunStore(store_path)
    fresh = filled["queued"]
    store.claim(fresh, "w-test")  # just started: polled fast for its first epoch
    chosen = [filled["adam"], filled["sgd"], fresh]
    at = open_app("pages/compare.py", compare_ids=chosen, compare_pc_open=True)
    assert not at.exception
    assert chart_titles(at) == ["Loss"]  # no parallel coordinates yet
    assert any("follow once the new run" in c.value for c in at.caption)
    assert at.selectbox(key="compare_pc_target").value  # the person's choices stay put

    cfg = store.get_run(fresh)["config"]
    store.record_start(fresh, _info(cfg))
    _epochs(store, fresh, cfg, 1, metric="mae")
    at.run()
    assert not at.exception
    assert chart_titles(at) == ["Loss", None]
