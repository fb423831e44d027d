"""The LR finder on the setup page: its figure, and the suggestion filling the form."""

from __future__ import annotations

import json

import pytest
from ui_helpers import all_text, open_app, open_tab, run_until

from ui import resources
from ui.charts import LR_FINDER_COLOR, RAW_ALPHA, lr_finder_figure
from ui.palette import faded

# ----------------------------------------------------------------------------- the figure

RESULT = {
    "lr": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0],
    "loss": [2.0, 1.9, 1.0, 0.5, 3.0, float("nan")],
    "smoothed": [2.0, 1.95, 1.6, 1.1, 1.5],
    "suggestion": 1e-3,
    "method": "steepest",
    "min_loss_lr": 1e-2,
    "stopped_early": True,
    "updates": 6,
}


def _by_series(fig):
    return {t.meta["series"]: t for t in fig.data if t.meta}


def test_lr_finder_figure_draws_raw_faint_smoothed_and_both_rates_on_a_log_axis():
    fig = lr_finder_figure(RESULT)
    s = _by_series(fig)
    assert fig.layout.xaxis.type == "log"
    assert s["raw"].line.color == faded(LR_FINDER_COLOR, RAW_ALPHA)
    assert list(s["raw"].y) == [2.0, 1.9, 1.0, 0.5, 3.0, None]  # NaN is a gap
    assert list(s["smoothed"].x) == RESULT["lr"][:5] and s["smoothed"].line.color == LR_FINDER_COLOR
    # the suggestion and the lowest-loss rate sit on the smoothed curve
    assert list(s["suggestion"].x) == [1e-3] and list(s["suggestion"].y) == [1.6]
    assert list(s["min_loss"].x) == [1e-2] and list(s["min_loss"].y) == [1.1]
    assert s["suggestion"].marker.symbol == "star"
    assert [sh.x0 for sh in fig.layout.shapes] == [1e-3]
    # the y axis spans the smoothed curve, not the raw blow-up
    lo, hi = fig.layout.yaxis.range
    assert lo < 0.5 and 2.0 < hi < 3.0


def test_lr_finder_figure_without_a_suggestion_draws_only_curves():
    fig = lr_finder_figure({**RESULT, "suggestion": None, "min_loss_lr": None})
    assert set(_by_series(fig)) == {"raw", "smoothed"} and not fig.layout.shapes


def test_the_cache_key_ignores_what_the_range_test_ignores():
    from engine.config import validate

    cfg = validate({"task": "regression"})
    key = resources.lr_find_key(cfg, min_lr=1e-7, max_lr=10.0, updates=100)
    other = validate({**cfg, "learning_rate": 0.05, "epochs": 3})
    assert resources.lr_find_key(other, min_lr=1e-7, max_lr=10.0, updates=100) == key
    assert resources.lr_find_key(cfg, min_lr=1e-7, max_lr=10.0, updates=50) != key
    bigger = validate({**cfg, "batch_size": 64})
    assert resources.lr_find_key(bigger, min_lr=1e-7, max_lr=10.0, updates=100) != key


# ----------------------------------------------------------------------------- the page


def _use_button(at):
    try:
        return at.button(key="setup_lrf_use")
    except KeyError:
        return None


def _finder_chart(at):
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if (spec["layout"].get("title") or {}).get("text") == "Loss as the learning rate rises":
            return spec
    return None


@pytest.mark.slow
def test_finding_a_learning_rate_fills_the_form(store_path):
    at = open_app()
    assert at.selectbox(key="cfg-task").value == "regression"
    open_tab(at, "Data & model")
    at.number_input(key="cfg-data-n_train").set_value(400).run()
    open_tab(at, "Optimizer & schedule")
    at.select_slider(key="setup_lrf_updates").set_value(50).run()
    assert _finder_chart(at) is None and not at.button(key="setup_lrf_run").disabled
    at.button(key="setup_lrf_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    # The test trains in the TensorFlow service: the page says so and does not wait.
    text = all_text(at)
    assert any(w in text for w in ("Preparing the range test", "Waiting:", "Training:")), text
    run_until(at, lambda a: _use_button(a) is not None, what="the range test's result")
    spec = _finder_chart(at)
    assert spec is not None and spec["layout"]["xaxis"]["type"] == "log"
    series = {t["meta"]["series"]: t for t in spec["data"]}
    assert len(series["raw"]["x"]) <= 50 and series["smoothed"]["x"]
    suggestion = series["suggestion"]["x"][0]
    use = at.button(key="setup_lrf_use")
    shown = float(f"{suggestion:.2g}")
    assert use.label == f"Use {shown:g}"
    assert at.number_input(key="cfg-learning_rate").value != pytest.approx(shown)
    use.click().run()
    assert at.number_input(key="cfg-learning_rate").value == pytest.approx(shown)
    assert at.session_state["cfg-learning_rate"] == pytest.approx(suggestion, rel=0.05)
    # the learning rate is not an input of the test: its result stays, the button is spent
    assert _finder_chart(at) is not None and at.button(key="setup_lrf_use").disabled
    # a setting the test does use makes the result stale
    at.number_input(key="cfg-batch_size").set_value(16).run()
    assert _finder_chart(at) is None
    assert any("settings changed" in c.value for c in at.caption)


def test_bad_form_input_names_the_field_and_offers_no_finder(store_path):
    at = open_app()
    open_tab(at, "Data & model")
    at.number_input(key="cfg-data-n_train").set_value(50).run()
    open_tab(at, "Optimizer & schedule")
    at.number_input(key="cfg-batch_size").set_value(64).run()
    assert any("Fix these settings first" in e.value for e in at.error)
    assert any("batch_size" in e.value and "training examples" in e.value for e in at.error)
    with pytest.raises(KeyError):
        at.button(key="setup_lrf_run")
