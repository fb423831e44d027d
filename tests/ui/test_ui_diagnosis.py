"""The diagnosis as the dashboard draws it: badges, explanations, markers, the gap."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from ui_fake_runs import _finish, _info, fill
from ui_helpers import open_app

from engine.config import validate
from engine.diagnosis import LABELS, diagnose_stored
from engine.store import RunStore
from ui.charts import GAP_ALPHA, Marker, RunCurves, marker_x, metric_figure, updates_figure
from ui.diagnosis_view import (
    LABEL_COLORS,
    badge,
    badges,
    evidence_lines,
    explanation_markdown,
    label_counts,
    table_label,
)
from ui.palette import RUN_COLORS, faded
from ui.runs import curves_for, runs_table

# ----------------------------------------------------------------------------- fixtures


def _series(values):
    return {"epoch": list(range(1, len(values) + 1)), "value": list(values)}


LOSS = (1.0, 0.6, 0.4, 0.3, 0.2, 0.12)
VAL = (1.1, 0.8, 0.7, 0.75, 0.9, 1.1)


def _run(*, markers=(), gap_from=None, loss=LOSS, val=VAL, **kw) -> RunCurves:
    """Six epochs of ten updates; epoch e ends at update 10e, example 320e, second e²."""
    n = len(loss)
    ups = list(range(1, 10 * n + 1))
    base = dict(
        run_id="a",
        name="run a",
        color=RUN_COLORS[1],
        epochs={
            "loss": _series(loss),
            "val_loss": _series(val),
            "updates": _series([10 * e for e in range(1, n + 1)]),
            "wall_time": _series([float(e * e) for e in range(1, n + 1)]),
        },
        updates={
            "update": ups,
            "loss": [1.0 if u % 7 else 5.0 for u in ups],  # a spike every 7th update
            "lr": [1e-3] * len(ups),
            "grad_norm": [1.0] * len(ups),
            "clipped": [False] * len(ups),
        },
        updates_per_epoch=10.0,
        batch_size=16,
        accum=2,
        n_train=320,
        markers=list(markers),
        gap_from=gap_from,
    )
    base.update(kw)
    return RunCurves(**base)


def _traces(fig, series):
    return [t for t in fig.data if t.meta and t.meta.get("series") == series]


OVERFIT = Marker(key="val_loss", label="overfitting from epoch 4", epoch=4, symbol="triangle-up")
DIVERGED = Marker(key="*", label="diverged at update 23", update=23, kind="line")
SPIKES = [Marker(key="loss", label=f"spike {u}", update=u, symbol="triangle-down") for u in (7, 14)]


# ----------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("axis", "x"),
    [("epoch", 4), ("update", 40), ("examples", 4 * 320), ("wall", 16.0)],
)
def test_overfitting_marker_follows_the_x_axis(axis, x):
    fig = metric_figure([_run(markers=[OVERFIT])], "loss", x_axis=axis)
    (mark,) = _traces(fig, "marker")
    assert list(mark.x) == [x]
    assert list(mark.y) == [VAL[3]]  # on the validation curve
    assert mark.marker.symbol == "triangle-up" and mark.marker.color == RUN_COLORS[1]


def test_point_markers_stay_off_other_metrics_and_update_charts():
    run = _run(markers=[OVERFIT])
    run.epochs["mae"] = _series([0.5] * 6)
    assert not _traces(metric_figure([run], "mae"), "marker")
    assert not _traces(updates_figure([run], "loss"), "marker")


@pytest.mark.parametrize(
    ("axis", "on_epochs", "on_updates"),
    [
        # per-epoch charts drawn by epoch: the epoch containing update 23
        ("epoch", 3, 2.3),
        ("update", 22, 22),  # update 23 is Keras step 22
        ("examples", 23 * 16 * 2, 23 * 16 * 2),
        # wall time is interpolated between epoch ends: update 20 at 4 s, 30 at 9 s
        ("wall", 5.5, 5.5),
    ],
)
def test_divergence_line_follows_the_x_axis(axis, on_epochs, on_updates):
    run = _run(markers=[DIVERGED])
    for fig, x in (
        (metric_figure([run], "loss", x_axis=axis), on_epochs),
        (updates_figure([run], "loss", x_axis=axis), on_updates),
        (updates_figure([run], "lr", x_axis=axis), on_updates),  # "*": every chart
    ):
        (line,) = fig.layout.shapes
        assert line.x0 == pytest.approx(x) and line.x1 == pytest.approx(x)
        assert line.yref == "paper" and line.line.color == RUN_COLORS[1]
        assert "update 23" in line.label.text
    assert marker_x(run, DIVERGED, "update", per_epoch=False) == 22


def test_no_divergence_line_without_the_finding():
    run = _run(markers=[OVERFIT, *SPIKES])
    assert not metric_figure([run], "loss").layout.shapes
    assert not updates_figure([run], "loss").layout.shapes


@pytest.mark.parametrize(("axis", "xs"), [("update", [6, 13]), ("epoch", [0.7, 1.4])])
def test_spikes_sit_on_the_per_update_loss_only(axis, xs):
    run = _run(markers=SPIKES)
    (spikes,) = _traces(updates_figure([run], "loss", x_axis=axis, smoothing=0.9), "update_marker")
    assert list(spikes.x) == pytest.approx(xs)
    assert list(spikes.y) == [5.0, 5.0]  # the raw spike, not the smoothed curve
    assert list(spikes.meta["updates"]) == [7, 14]
    assert not _traces(updates_figure([run], "lr"), "update_marker")
    assert not _traces(metric_figure([run], "loss"), "update_marker")


def test_a_thinned_away_spike_sits_on_the_nearest_earlier_point():
    run = _run(markers=SPIKES)
    keep = [i for i, u in enumerate(run.updates["update"]) if u % 2 == 0]
    run.updates = {k: [v[i] for i in keep] for k, v in run.updates.items()}
    (spikes,) = _traces(updates_figure([run], "loss"), "update_marker")
    assert list(spikes.x) == [6, 13] and list(spikes.y) == [1.0, 5.0]  # steps of 7, 14


# ----------------------------------------------------------------------------- the gap


def test_gap_is_shaded_only_when_overfitting_is_found():
    assert not _traces(metric_figure([_run()], "loss"), "gap")
    fig = metric_figure([_run(markers=[OVERFIT], gap_from=4)], "loss", x_axis="update")
    (gap,) = _traces(fig, "gap")
    # from the best epoch (3, where validation turned) to the last: val forward, train back
    assert list(gap.x) == [30, 40, 50, 60, 60, 50, 40, 30]
    assert list(gap.y) == [*VAL[2:], *LOSS[2:][::-1]]
    assert gap.fill == "toself" and gap.fillcolor == faded(RUN_COLORS[1], GAP_ALPHA)
    assert fig.data[0] is gap  # beneath the curves
    # only on the loss chart with validation shown
    assert not _traces(metric_figure([_run(gap_from=4)], "loss", show_val=False), "gap")


def test_gap_follows_smoothing_and_skips_missing_points():
    run = _run(gap_from=4, val=(1.1, 0.8, 0.7, 0.75, math.nan, 1.1))
    (gap,) = _traces(metric_figure([run], "loss"), "gap")
    assert list(gap.x) == [3, 4, 6, 6, 4, 3]
    smooth = metric_figure([_run(gap_from=4)], "loss", smoothing=0.6)
    (gap,) = _traces(smooth, "gap")
    val_drawn = next(t for t in _traces(smooth, "val_loss") if not t.meta.get("raw"))
    assert list(gap.y)[:4] == pytest.approx(list(val_drawn.y)[2:])


# ----------------------------------------------------------------------------- from a run


def _stored_run(diagnosis) -> dict:
    cfg = validate({"task": "regression", "data": {"n_train": 400}, "epochs": 6})
    return {
        "id": "r1",
        "name": "overfit",
        "status": "completed",
        "config": cfg,
        "info": {"updates_per_epoch": 10, "n_train": 320},
        "best": {"val_loss": 0.7},
        "best_epoch": {"val_loss": 3},
        "last": {},
        "diagnosis": diagnosis,
    }


DIAG = {
    "label": "overfitting",
    "labels": ["overfitting", "lr_too_high"],
    "summary": "Overfitting: training keeps improving while validation gets worse.",
    "evidence": {"best_val_epoch": 3, "val_rise_since_best": 0.571, "loss_spikes": 2},
    "advice": ["Stop earlier.", "Lower the learning rate 3–10×."],
    "markers": {"best_epoch": 3, "overfit_from": 4, "diverged_at_update": 23, "spike_updates": [7]},
}


def test_curves_for_turns_the_stored_diagnosis_into_markers_and_the_gap():
    run = curves_for(_stored_run(DIAG), _run().epochs, _run().updates, RUN_COLORS[0])
    assert run.gap_from == 4
    by_label = {m.label: m for m in run.markers}
    assert by_label["best val_loss (epoch 3)"].epoch == 3
    assert by_label["overfitting from epoch 4"].epoch == 4
    assert by_label["diverged at update 23"].kind == "line"
    assert by_label["loss spike at update 7"].update == 7
    plain = curves_for(_stored_run(None), _run().epochs, None, RUN_COLORS[0])
    assert plain.gap_from is None and [m.label for m in plain.markers] == [
        "best val_loss (epoch 3)"
    ]


# ----------------------------------------------------------------------------- the words


def test_badges_are_coloured_by_label_main_first():
    assert badge("healthy").startswith(":green-badge[")
    assert badge("overfitting").startswith(":orange-badge[")
    assert badge("underfitting").startswith(":orange-badge[")
    assert badge("lr_too_high").startswith(":yellow-badge[") and "LR too high" in badge(
        "lr_too_high"
    )
    assert badge("diverged").startswith(":red-badge[")
    assert badge("too_early").startswith(":gray-badge[")
    assert badge("something_new").startswith(":gray-badge[") and "something new" in badge(
        "something_new"
    )
    assert set(LABEL_COLORS) >= set(LABELS)  # every label the engine gives has its colour
    assert badges(DIAG).index("overfitting") < badges(DIAG).index("LR too high")
    assert "no diagnosis yet" in badges(None)
    assert table_label(DIAG) == "overfitting + LR too high" and table_label(None) is None
    assert label_counts([DIAG, DIAG, None]) == "2 overfitting · 1 no diagnosis yet"


def test_explanation_has_summary_evidence_and_advice():
    text = explanation_markdown(DIAG)
    assert DIAG["summary"] in text
    assert "- best validation epoch: **3**" in text
    assert "- validation loss now vs its best: **+57%**" in text
    assert "1. Stop earlier." in text and "2. Lower the learning rate 3–10×." in text
    assert "▲ where overfitting starts (epoch 4)" in text
    assert "Not judged yet" in explanation_markdown(None)
    assert evidence_lines({"new_thing": 0.5, "skipped": None}) == [("new thing", "0.5")]


def test_run_table_has_a_diagnosis_column():
    df = runs_table([_stored_run(DIAG), _stored_run(None)], now=0.0)
    assert df["Diagnosis"][0] == "overfitting + LR too high"
    assert pd.isna(df["Diagnosis"][1])  # a dash in the table


# ----------------------------------------------------------------------------- pages


def _overfitting_run(store: RunStore) -> str:
    """Eight epochs where training keeps falling while validation turns at epoch 4."""
    cfg = validate({"task": "regression", "epochs": 8, "data": {"n_train": 200, "n_test": 20}})
    (rid,) = store.create_runs([cfg], names=["memoriser"])
    store.claim(rid, "w-test")
    store.record_start(rid, _info(cfg))
    val = (1.0, 0.7, 0.55, 0.5, 0.56, 0.66, 0.8, 1.0)
    for e in range(1, 9):
        store.append_epoch(
            rid,
            {
                "epoch": e,
                "values": {"loss": 1.0 / e, "val_loss": val[e - 1], "mae": 0.5, "val_mae": 0.6},
                "lr": 1e-3,
                "epoch_time": 0.2,
                "examples_per_sec": 1000.0,
                "wall_time": 0.2 * e,
                "updates": 5 * e,
            },
        )
    _finish(store, rid, "completed", cfg)
    return rid


@pytest.fixture
def diagnosed(store_path) -> dict[str, str]:
    """The usual fake runs plus an overfitting one, each diagnosed by the engine."""
    ids = fill(store_path)
    store = RunStore(store_path)
    ids["memoriser"] = _overfitting_run(store)
    for label in ("adam", "sgd", "diverged", "memoriser"):
        store.set_diagnosis(ids[label], diagnose_stored(store, ids[label]))
    return ids


def test_compare_shows_each_runs_badge_explanation_and_table_label(diagnosed, store_path):
    store = RunStore(store_path)
    chosen = ["adam", "sgd", "diverged", "memoriser"]
    at = open_app("pages/compare.py", compare_ids=[diagnosed[k] for k in chosen])
    assert not at.exception, [e.message for e in at.exception]
    diags = {k: store.get_run(diagnosed[k])["diagnosis"] for k in chosen}
    labels = {k: d["label"] for k, d in diags.items()}
    assert labels["diverged"] == "diverged" and labels["memoriser"] == "overfitting"
    assert len(set(labels.values())) >= 3  # the page is shown several different findings
    md = [m.value for m in at.markdown]
    for k, d in diags.items():
        assert badges(d) in md, (k, badges(d))  # the badge row of the run
        # the explanation (in the run's Explain popover)
        assert any(d["summary"] in m and d["advice"][0] in m for m in md), k
    assert at.get("popover")  # explanations are on demand
    table = next(d.value for d in at.dataframe if "Diagnosis" in d.value.columns)
    by_run = dict(zip(table["id"], table["Diagnosis"], strict=True))
    assert by_run[diagnosed["memoriser"]] == table_label(diags["memoriser"])
    assert by_run[diagnosed["diverged"]].startswith("diverged")
    assert pd.isna(by_run[diagnosed["queued"]])  # not judged yet

    # ... and the loss chart draws the memoriser's gap and overfitting marker
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = [t for t in spec["data"] if t.get("meta", {}).get("run_id") == diagnosed["memoriser"]]
    series = {t["meta"]["series"] for t in traces}
    assert "gap" in series
    onset = diags["memoriser"]["markers"]["overfit_from"]
    marks = [t for t in traces if t["meta"]["series"] == "marker"]
    assert any(m["x"] == [onset] and "overfitting" in m["meta"]["label"] for m in marks)
    assert not [
        t
        for t in spec["data"]
        if t.get("meta", {}).get("series") == "gap"
        and t["meta"]["run_id"] != diagnosed["memoriser"]
    ]


def test_run_detail_shows_the_diagnosis(diagnosed, store_path):
    store = RunStore(store_path)
    d = store.get_run(diagnosed["memoriser"])["diagnosis"]
    at = open_app("pages/run.py", detail_run=diagnosed["memoriser"])
    assert not at.exception
    assert badges(d) in [m.value for m in at.markdown]
    assert any(d["summary"] in e.label for e in at.expander)
    assert any(d["advice"][0] in m.value for m in at.markdown)
