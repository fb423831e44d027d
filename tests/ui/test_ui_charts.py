"""The figure builders' conventions, checked on the figures themselves."""

from __future__ import annotations

import itertools
import math

import pytest

from ui.charts import (
    BAND_ALPHA,
    MANY_RUNS,
    RAW_ALPHA,
    Marker,
    RunCurves,
    confusion_figure,
    ema,
    epoch_x,
    mean_band,
    metric_figure,
    parallel_figure,
    regression_figure,
    schedule_figure,
    thin,
    update_x,
    updates_figure,
)
from ui.palette import RUN_COLORS, faded, run_colors


def _series(values, start=1):
    return {"epoch": list(range(start, start + len(values))), "value": list(values)}


def _run(rid="a", color=RUN_COLORS[0], *, loss=(1.0, 0.5, 0.25), val=(1.2, 0.7, 0.6), **kw):
    epochs = {
        "loss": _series(loss),
        "val_loss": _series(val),
        "updates": _series([10, 20, 30]),
        "wall_time": _series([1.0, 2.0, 4.0]),
    }
    updates = {
        "update": list(range(1, 31)),
        "epoch": [1 + (u - 1) // 10 for u in range(1, 31)],
        "loss": [1.0 / u for u in range(1, 31)],
        "lr": [1e-3] * 30,
        "grad_norm": [0.5 + (u % 4) for u in range(1, 31)],
        "clipped": [(u % 4) == 3 for u in range(1, 31)],
    }
    base = dict(
        run_id=rid,
        name=f"run {rid}",
        color=color,
        epochs=epochs,
        updates=updates,
        updates_per_epoch=10.0,
        batch_size=32,
        accum=2,
        n_train=320,
    )
    base.update(kw)
    return RunCurves(**base)


def _curves(fig):
    """Main curve traces (not raw copies, markers, bands or thresholds)."""
    return [
        t
        for t in fig.data
        if t.meta
        and t.meta.get("series") in ("loss", "val_loss")
        and "run_id" in t.meta
        and not t.meta.get("raw")
    ]


# ----------------------------------------------------------------------------- maths


def test_ema_weight_zero_is_identity():
    assert ema([3.0, 1.0, 2.0], 0.0) == [3.0, 1.0, 2.0]


def test_ema_is_debiased_so_a_constant_stays_constant():
    assert ema([5.0] * 6, 0.9) == pytest.approx([5.0] * 6)


def test_ema_follows_the_recurrence():
    w = 0.6
    out = ema([1.0, 3.0], w)
    raw2 = (1 - w) * 1.0 * w + (1 - w) * 3.0
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx(raw2 / (1 - w**2))


def test_ema_keeps_nan_in_place_without_poisoning_the_rest():
    out = ema([1.0, math.nan, 1.0], 0.5)
    assert out[0] == pytest.approx(1.0) and math.isnan(out[1]) and out[2] == pytest.approx(1.0)


def test_ema_rejects_weight_one():
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_mean_band_is_mean_plus_minus_sample_std():
    band = mean_band([([1, 2], [1.0, 2.0]), ([1, 2], [3.0, 2.0]), ([1], [5.0])])
    assert band["x"] == [1, 2]
    assert band["mean"] == pytest.approx([3.0, 2.0])
    assert band["hi"][0] - band["mean"][0] == pytest.approx(2.0)  # std of 1, 3, 5
    assert band["lo"][1] == band["hi"][1] == pytest.approx(2.0)
    assert band["n"] == [3, 2]


def test_mean_band_skips_non_finite_points():
    band = mean_band([([1], [math.nan]), ([1], [2.0])])
    assert band["mean"] == [2.0] and band["n"] == [1]


def test_thin_keeps_first_and_last():
    idx = thin(10_001, 1000)
    assert idx[0] == 0 and idx[-1] == 10_000 and len(idx) <= 1001
    assert thin(5, 1000) == [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- x axes


def test_epoch_x_axes():
    r = _run()
    assert epoch_x(r, [1, 2, 3], "epoch") == [1, 2, 3]
    assert epoch_x(r, [1, 2, 3], "update") == [10, 20, 30]
    assert epoch_x(r, [1, 2, 3], "examples") == [320, 640, 960]
    assert epoch_x(r, [1, 2, 3], "wall") == [1.0, 2.0, 4.0]
    with pytest.raises(ValueError):
        epoch_x(r, [1], "steps")


def test_update_x_axes():
    r = _run()
    assert update_x(r, [5, 20], "update") == [4, 19]  # Keras steps: update u is step u - 1
    assert update_x(r, [5, 20], "epoch") == [0.5, 2.0]
    assert update_x(r, [5, 20], "examples") == [5 * 32 * 2, 20 * 32 * 2]  # update × batch × accum
    # wall time: interpolated between epoch ends (0 → 0 s, 10 → 1 s, 20 → 2 s, 30 → 4 s)
    assert update_x(r, [5, 25, 40], "wall") == pytest.approx([0.5, 3.0, 6.0])


# ----------------------------------------------------------------------------- metric charts


def test_train_is_solid_validation_dashed_one_colour_per_run():
    a, b = _run("a", RUN_COLORS[0]), _run("b", RUN_COLORS[1])
    fig = metric_figure([a, b], "loss")
    curves = _curves(fig)
    assert [(t.meta["run_id"], t.meta["series"], t.line.dash) for t in curves] == [
        ("a", "loss", "solid"),
        ("a", "val_loss", "dash"),
        ("b", "loss", "solid"),
        ("b", "val_loss", "dash"),
    ]
    assert [t.line.color for t in curves] == [RUN_COLORS[0]] * 2 + [RUN_COLORS[1]] * 2
    # one legend entry per run; clicking it hides train and validation together
    assert [t.showlegend for t in curves] == [True, False, True, False]
    assert {t.legendgroup for t in curves} == {"a", "b"}
    assert fig.layout.hovermode == "x unified"
    assert fig.layout.uirevision  # zoom survives live redraws


def test_smoothing_draws_the_raw_curve_faintly_beneath():
    fig = metric_figure([_run()], "loss", smoothing=0.5)
    raw = [t for t in fig.data if t.meta and t.meta.get("raw")]
    assert len(raw) == 2
    assert raw[0].line.color == faded(RUN_COLORS[0], RAW_ALPHA)
    assert list(raw[0].y) == [1.0, 0.5, 0.25]
    smooth = _curves(fig)[0]
    assert list(smooth.y) == pytest.approx(ema([1.0, 0.5, 0.25], 0.5))
    assert fig.data.index(raw[0]) < fig.data.index(smooth)  # drawn beneath


def test_log_y_and_x_axis_choice():
    fig = metric_figure([_run()], "loss", log_y=True, x_axis="examples")
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.title.text == "Examples seen"
    assert list(_curves(fig)[0].x) == [320, 640, 960]


def test_a_diverged_curve_breaks_and_is_marked():
    r = _run(loss=(1.0, 3.0, math.nan))
    fig = metric_figure([r], "loss")
    assert list(_curves(fig)[0].y) == [1.0, 3.0, None]
    marks = [t for t in fig.data if t.meta and t.meta.get("series") == "diverged"]
    assert len(marks) == 1 and list(marks[0].x) == [3] and list(marks[0].y) == [3.0]
    assert "NaN" in marks[0].hovertemplate


def test_markers_sit_on_their_series():
    r = _run(markers=[Marker(key="val_loss", label="best val_loss", epoch=3)])
    fig = metric_figure([r], "loss")
    marks = [t for t in fig.data if t.meta and t.meta.get("series") == "marker"]
    assert len(marks) == 1 and list(marks[0].x) == [3] and list(marks[0].y) == [0.6]


def test_seed_repeats_become_mean_and_band():
    a = _run("a", RUN_COLORS[0], loss=(1.0, 0.5, 0.3), group="g", group_label="adam")
    b = _run("b", RUN_COLORS[1], loss=(3.0, 1.5, 0.5), group="g", group_label="adam")
    c = _run("c", RUN_COLORS[2])
    fig = metric_figure([a, b, c], "loss", group_seeds=True, show_val=False)
    bands = [t for t in fig.data if t.meta and t.meta.get("band")]
    means = [t for t in fig.data if t.meta and t.meta.get("group") and not t.meta.get("band")]
    assert len(bands) == 1 and len(means) == 1
    assert list(means[0].y) == pytest.approx([2.0, 1.0, 0.4])
    assert means[0].line.color == RUN_COLORS[0]
    assert bands[0].fillcolor == faded(RUN_COLORS[0], BAND_ALPHA)
    assert means[0].name == "adam (mean of 2 seeds)"
    # the band polygon: upper edge forward, lower edge back
    assert list(bands[0].y)[:3] == pytest.approx(
        [2.0 + math.sqrt(2), 1.0 + math.sqrt(0.5), 0.4 + math.sqrt(0.02)]
    )
    # the ungrouped run is still drawn on its own
    assert [t.meta["run_id"] for t in _curves(fig)] == ["c"]
    # and without grouping every run is its own line
    assert len(_curves(metric_figure([a, b, c], "loss", show_val=False))) == 3


# ----------------------------------------------------------------------------- update charts


def test_gradient_norm_chart_draws_the_clip_threshold_and_clipped_updates():
    r = _run(clipping={"global_clipnorm": 1.5})
    fig = updates_figure([r], "grad_norm")
    thr = [t for t in fig.data if t.meta and t.meta.get("series") == "clip_threshold"]
    assert len(thr) == 1 and list(thr[0].y) == [1.5, 1.5] and thr[0].line.dash == "dot"
    assert thr[0].line.color == r.color
    clipped = [t for t in fig.data if t.meta and t.meta.get("series") == "clipped"]
    assert len(clipped[0].x) == sum(r.updates["clipped"])


def test_clipvalue_has_no_norm_threshold_line():
    fig = updates_figure([_run(clipping={"clipvalue": 0.5})], "grad_norm")
    assert not [t for t in fig.data if t.meta and t.meta.get("series") == "clip_threshold"]


def test_lr_chart_starts_at_zero():
    fig = updates_figure([_run()], "lr")
    assert list(fig.layout.yaxis.range) == pytest.approx([0, 1e-3 * 1.12])


def test_applied_lr_of_a_real_run_is_drawn_at_keras_steps():
    """The per-update x axis counts like Keras's ``optimizer.iterations``: the rate a
    real tiny run recorded is drawn at step k, and equals Keras's own schedule(k)."""
    import keras

    from engine.config import validate
    from engine.training.train import train

    cfg = validate(
        {
            "task": "regression",
            "epochs": 2,
            "batch_size": 16,
            "learning_rate": 1e-2,
            "data": {"n_train": 128, "n_test": 32},
            "schedule": {"name": "cosine_decay", "decay_steps": 20, "warmup_steps": 4},
        }
    )
    r = train(cfg)
    run = RunCurves("r", "real", RUN_COLORS[0], updates=r["steps"], updates_per_epoch=8.0)
    fig = updates_figure([run], "lr")
    (curve,) = [t for t in fig.data if t.meta and t.meta.get("series") == "lr"]
    assert list(curve.x) == list(range(len(r["steps"]["update"])))  # step 0 = first update
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=20, warmup_target=1e-2, warmup_steps=4
    )
    want = [float(keras_schedule(k)) for k in curve.x]
    assert list(curve.y) == pytest.approx(want, rel=1e-5, abs=1e-9)
    assert "optimizer.iterations" in fig.layout.xaxis.title.text


def test_runs_without_updates_are_skipped():
    fig = updates_figure([_run(updates=None)], "loss")
    assert len(fig.data) == 0


# ----------------------------------------------------------------------------- other figures


def test_schedule_preview_per_update_and_per_epoch():
    p = {"step": [0, 1, 2, 3], "lr": [0.1, 0.2, 0.3, 0.4], "updates_per_epoch": 2.0}
    fig = schedule_figure([("a", "#000000", p)], per="epoch")
    assert list(fig.data[0].x) == [0.5, 1.0, 1.5, 2.0]  # step s ends update s + 1
    assert fig.layout.xaxis.title.text == "Epoch"
    fig = schedule_figure([("a", "#000000", p)], per="update")
    assert list(fig.data[0].x) == [0, 1, 2, 3]
    assert fig.layout.xaxis.title.text == "Step (Keras optimizer.iterations)"
    big = {"step": list(range(10_000)), "lr": [0.1] * 10_000, "updates_per_epoch": 10.0}
    assert len(schedule_figure([("a", "#000", big)]).data[0].x) <= 2001


def test_parallel_coordinates_encode_text_dimensions():
    rows = [
        {"optimizer.name": "adam", "learning_rate": 1e-3, "val_loss": 0.5},
        {"optimizer.name": "sgd", "learning_rate": 1e-2, "val_loss": 0.9},
    ]
    fig = parallel_figure(rows, ["optimizer.name", "learning_rate"], "val_loss")
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == ["optimizer.name", "learning_rate", "val_loss"]
    assert list(dims[0].ticktext) == ["adam", "sgd"] and list(dims[0].values) == [0, 1]


def _shade(fig, i):
    """The colour Plotly draws line ``i`` in, as (r, g, b)."""
    import plotly.colors as pc

    line = fig.data[0].line
    t = (line.color[i] - line.cmin) / (line.cmax - line.cmin)
    scale = [(p, pc.hex_to_rgb(c) if c.startswith("#") else c) for p, c in line.colorscale]
    scale = [(p, c) for p, c in scale]
    if line.reversescale:
        scale = [(1 - p, c) for p, c in reversed(scale)]
    for (p0, c0), (p1, c1) in itertools.pairwise(scale):
        if p0 <= t <= p1:
            f = 0 if p1 == p0 else (t - p0) / (p1 - p0)
            return tuple(a + (b - a) * f for a, b in zip(c0, c1, strict=True))
    return scale[-1][1]


def _lum(rgb):
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


@pytest.mark.parametrize(
    ("target", "values", "higher", "best", "worst"),
    [("val_loss", [0.5, 0.1, 0.9], False, 1, 2), ("val_accuracy", [0.5, 0.1, 0.9], True, 2, 1)],
)
def test_parallel_coordinates_draw_the_best_darkest_either_way(target, values, higher, best, worst):
    rows = [
        {"learning_rate": lr, target: v} for lr, v in zip((1e-3, 1e-2, 1e-1), values, strict=True)
    ]
    fig = parallel_figure(rows, ["learning_rate"], target, higher_is_better=higher)
    lum = [_lum(_shade(fig, i)) for i in range(3)]
    assert lum.index(min(lum)) == best and lum.index(max(lum)) == worst
    ticks = list(fig.data[0].line.colorbar.ticktext)
    assert ticks[0].endswith("(best)") and ticks[0].startswith(f"{values[best]:.3g}")


@pytest.mark.parametrize("higher", [False, True])
def test_a_diverged_run_sits_past_the_worst_end_in_its_own_colour(higher):
    target = "val_accuracy" if higher else "val_loss"
    rows = [{"learning_rate": 1e-3, target: 0.4}, {"learning_rate": 1e-2, target: 0.6}]
    rows += [{"learning_rate": 1.0, target: math.nan}, {"learning_rate": 0.5, target: 0.3}]
    flags = [False, False, False, True]  # NaN result, and a run stored as diverged
    fig = parallel_figure(rows, ["learning_rate"], target, higher_is_better=higher, diverged=flags)
    dim = fig.data[0].dimensions[-1]
    values = list(dim.values)
    assert all(math.isfinite(v) for v in values)  # never a NaN Plotly would misplace
    assert values[2] == values[3]
    assert values[2] < min(values[:2]) if higher else values[2] > max(values[:2])
    at = dict(zip(dim.tickvals, dim.ticktext, strict=True))
    assert at[values[2]] == "diverged"
    assert dim.range[0] <= min(values) and dim.range[1] >= max(values)
    red = _shade(fig, 2)
    assert red == _shade(fig, 3) and all(math.dist(red, _shade(fig, i)) > 100 for i in (0, 1))
    assert list(fig.data[0].line.colorbar.ticktext)[-1] == "diverged"


def test_rate_like_dimensions_use_a_log_axis_labelled_with_the_values():
    rows = [
        {"learning_rate": lr, "batch_size": b, "loss": 1.0}
        for lr, b in zip((1e-4, 1e-3, 1e-2), (16, 32, 64), strict=True)
    ]
    fig = parallel_figure(rows, ["learning_rate", "batch_size"], "loss", log_dims=["learning_rate"])
    lr, batch = fig.data[0].dimensions[:2]
    assert lr.label == "learning_rate (log)"
    assert list(lr.values) == pytest.approx([-4, -3, -2])
    assert list(lr.ticktext) == ["0.0001", "0.001", "0.01"]
    assert list(batch.values) == [16, 32, 64] and batch.label == "batch_size"
    many = [{"learning_rate": 10 ** (-5 + i / 3), "loss": 1.0} for i in range(12)]
    ticks = parallel_figure(many, ["learning_rate"], "loss", log_dims=["learning_rate"])
    assert list(ticks.data[0].dimensions[0].ticktext) == ["1e-05", "0.0001", "0.001", "0.01"]


def test_confusion_and_regression_figures():
    fig = confusion_figure([[8, 2], [1, 9]], ["0", "1"])
    assert [list(r) for r in fig.data[0].z] == [[0.8, 0.2], [0.1, 0.9]]
    assert [list(r) for r in fig.data[0].text] == [[8, 2], [1, 9]]
    fig = regression_figure([0.0, 1.0, math.nan], [0.1, 0.9, 1.0], color="#123456")
    assert list(fig.data[-1].x) == [0.0, 1.0]  # NaN points dropped
    assert list(fig.data[0].x) == [0.0, 1.0]  # the y = x diagonal


def test_predicted_vs_true_spans_the_data_on_both_axes():
    target = [-5 + 11 * i / 20 for i in range(21)]
    fig = regression_figure(target, [t * 0.9 for t in target], color="#123456")
    assert list(fig.layout.xaxis.range) == list(fig.layout.yaxis.range)
    lo, hi = fig.layout.xaxis.range
    assert -5.6 < lo < -5 and 6 < hi < 6.6
    # one unit as long on both axes: the plot narrows instead of the y axis widening
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.xaxis.constrain == "domain"


# ----------------------------------------------------------------------------- many runs


def _many(n):
    return [
        _run(f"r{i}", RUN_COLORS[i % 10], markers=[Marker(key="val_loss", label="best", epoch=2)])
        for i in range(n)
    ]


def test_few_runs_keep_a_legend_entry_each():
    fig = metric_figure(_many(MANY_RUNS), "loss")
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [f"run r{i}" for i in range(MANY_RUNS)]


def test_many_runs_are_bundled_by_colour_with_a_legend_of_line_styles():
    runs = _many(200)
    fig = metric_figure(runs, "loss")
    assert len(fig.data) <= 40  # was one trace per curve and marker: 600
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["train", "validation"]
    assert fig.layout.hovermode == "closest"
    train = [t for t in fig.data if t.meta and t.meta.get("series") == "loss"]
    assert len(train) == 10 and {t.line.color for t in train} == set(RUN_COLORS)
    assert all(t.mode == "lines" for t in train)  # no point markers on 200 curves
    drawn = {rid for t in train for rid in t.meta["runs"]}
    assert drawn == {r.run_id for r in runs}
    blue = next(t for t in train if t.line.color == RUN_COLORS[0])
    # each curve is its 3 points then a gap, and every point's hover names its run
    assert len(blue.x) == 20 * 4 and list(blue.y[3:5]) == [None, 1.0]
    assert list(blue.customdata[:3]) == ["run r0 · train"] * 3
    assert blue.hovertemplate == "%{customdata}: %{y:.4g}<extra></extra>"
    stars = [t for t in fig.data if t.meta and t.meta.get("series") == "marker"]
    assert len(stars) == 1 and len(stars[0].x) == 200
    assert list(stars[0].marker.color[:2]) == [RUN_COLORS[0], RUN_COLORS[1]]


def test_many_runs_per_update_charts_are_bundled_too():
    fig = updates_figure(_many(50), "grad_norm")
    assert len(fig.data) <= 40
    assert [t.name for t in fig.data if t.showlegend is not False] == ["grad_norm"]


# ----------------------------------------------------------------------------- user text


def test_names_are_shown_as_typed_in_legends_and_hovers():
    name = '<a href="http://x/">x</a> %{y} <img src=y>'
    fig = metric_figure([_run(name=name)], "loss")
    curve = _curves(fig)[0]
    assert curve.name == '&lt;a href="http://x/"&gt;x&lt;/a&gt; %{y} &lt;img src=y&gt;'
    assert "%{y}" not in curve.hovertemplate.split("·")[0]
    assert "<a" not in curve.hovertemplate and "<img" not in curve.hovertemplate


def test_run_colours_are_stable_and_distinct():
    c = run_colors(["x", "y", "x", "z"])
    assert list(c) == ["x", "y", "z"] and len(set(c.values())) == 3
    assert run_colors(str(i) for i in range(11))["10"] == RUN_COLORS[0]


def test_every_status_the_store_can_hold_has_a_colour_and_an_icon():
    """A status added to the store (``pruned`` came with searches) is never drawn as a
    grey unknown: the badge's colour and icon cover the store's whole list."""
    from engine.store.schema import STATUSES
    from ui.palette import STATUS_COLORS, STATUS_ICONS

    assert set(STATUS_COLORS) == set(STATUSES)
    assert set(STATUS_ICONS) == set(STATUSES)
