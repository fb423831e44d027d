"""The two explorers: their NumPy losses and schedule code against the real Keras
objects, and both pages headless (AppTest) through ``app.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ui_helpers import ROOT, all_text, open_app, run_until

from engine.spec.losses import LOSSES
from engine.spec.schedules import SCHEDULES
from ui import loss_curves as lc
from ui import schedule_explorer as sx

ERRORS = np.array([-3.0, -1.3, -0.45, -0.05, 0.2, 0.75, 1.6, 4.0])
PROBS = np.array([0.02, 0.15, 0.4, 0.55, 0.8, 0.97])


def _keras_value_and_grad(loss, y_true, y_pred, *, logits: bool = False):
    """Per-example loss and d(loss)/d(input) from a Keras loss object (input: the
    prediction, or the logit fed through a sigmoid)."""
    import tensorflow as tf

    yt = tf.constant(np.asarray(y_true, np.float32).reshape(-1, 1))
    x = tf.constant(np.asarray(y_pred, np.float32).reshape(-1, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        per_example = loss.call(yt, tf.sigmoid(x) if logits else x)
        total = tf.reduce_sum(per_example)
    return per_example.numpy().reshape(-1), tape.gradient(total, x).numpy().reshape(-1)


def _close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-6, err_msg=what)


# ----------------------------------------------------------------------------- loss curves


@pytest.mark.parametrize(
    ("name", "params", "make"),
    [
        ("mse", {}, lambda k: k.losses.MeanSquaredError()),
        ("mae", {}, lambda k: k.losses.MeanAbsoluteError()),
        ("huber", {"delta": 1.0}, lambda k: k.losses.Huber(delta=1.0)),
        ("huber", {"delta": 0.5}, lambda k: k.losses.Huber(delta=0.5)),
        ("huber", {"delta": 2.5}, lambda k: k.losses.Huber(delta=2.5)),
    ],
)
def test_regression_curves_match_keras(name, params, make):
    import keras

    curve = lc.regression(name, ERRORS, **params)
    value, grad = _keras_value_and_grad(make(keras), np.zeros_like(ERRORS), ERRORS)
    _close(curve.loss, value, f"{name} {params} loss")
    _close(curve.grad, grad, f"{name} {params} gradient")


@pytest.mark.parametrize("under", [2.0, 3.5])
def test_weighted_mse_matches_the_engines(under):
    from engine.keras_parts.losses import WeightedMSE

    curve = lc.regression("weighted_mse", ERRORS, under_weight=under)
    value, grad = _keras_value_and_grad(
        WeightedMSE(under_weight=under), np.zeros_like(ERRORS), ERRORS
    )
    _close(curve.loss, value, "weighted mse loss")
    _close(curve.grad, grad, "weighted mse gradient")


def test_the_registry_focal_loss_is_the_engines_class():
    """The explorer's focal formula is the engine's FocalLoss (negatives weighted 1 − α),
    not the documents' positives-only sketch: it must be what a run trains with."""
    assert LOSSES.entry("focal").target == "engine.keras_parts.losses:FocalLoss"


@pytest.mark.parametrize("target", [1, 0])
@pytest.mark.parametrize("wrt", lc.WRT)
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.25), (0.0, 0.6), (0.5, 0.8), (3.5, 0.1)])
def test_focal_curves_match_keras_and_the_engine(target, wrt, gamma, alpha):
    import keras

    from engine.keras_parts.losses import FocalLoss

    logits = wrt == "logit"
    x = np.log(PROBS / (1 - PROBS)) if logits else PROBS
    y = np.full_like(PROBS, target)
    curve = lc.classification("focal", PROBS, target, gamma=gamma, alpha=alpha, wrt=wrt)
    engine = FocalLoss(gamma=gamma, alpha=alpha)
    builtin = keras.losses.BinaryFocalCrossentropy(
        gamma=gamma, alpha=alpha, apply_class_balancing=True
    )
    for who, loss in (("engine FocalLoss", engine), ("keras", builtin)):
        value, grad = _keras_value_and_grad(loss, y, x, logits=logits)
        _close(curve.loss, value, f"{who} loss γ={gamma} α={alpha} y={target}")
        _close(curve.grad, grad, f"{who} dL/d{wrt} γ={gamma} α={alpha} y={target}")


@pytest.mark.parametrize("target", [1, 0])
@pytest.mark.parametrize("wrt", lc.WRT)
def test_cross_entropy_curves_match_keras(target, wrt):
    import keras

    logits = wrt == "logit"
    x = np.log(PROBS / (1 - PROBS)) if logits else PROBS
    curve = lc.classification("binary_crossentropy", PROBS, target, wrt=wrt)
    value, grad = _keras_value_and_grad(
        keras.losses.BinaryCrossentropy(), np.full_like(PROBS, target), x, logits=logits
    )
    _close(curve.loss, value, "bce loss")
    _close(curve.grad, grad, f"bce dL/d{wrt}")
    if logits:  # the textbook identity the page quotes
        _close(curve.grad, PROBS - target, "bce dL/dz = p − y")


def test_focal_weight_and_outlier_pull_teach_the_right_numbers():
    assert lc.focal_weight(0.9, 1, gamma=2.0, alpha=0.25) == pytest.approx(0.25 * 0.01)
    assert lc.focal_weight(0.1, 0, gamma=2.0, alpha=0.25) == pytest.approx(0.75 * 0.01)
    assert lc.outlier_pull("mse", 0.5, 10.0) == pytest.approx(20.0)
    assert lc.outlier_pull("mae", 0.5, 10.0) == pytest.approx(1.0)
    assert lc.outlier_pull("huber", 0.5, 10.0, delta=1.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="target"):
        lc.classification("focal", PROBS, 2)


# ----------------------------------------------------------------------------- schedule helpers

SHARED = {k: p.default for k, p in sx.SHARED.items()}


def _cfg(name: str, **shared) -> dict:
    cfg, problems = sx.check(sx.raw_config(SHARED | shared, 0.01, {"name": name}))
    assert cfg is not None, problems
    return cfg


@pytest.mark.parametrize("accum", [1, 3])
@pytest.mark.parametrize("name", SCHEDULES.names())
def test_keras_code_builds_the_schedule_the_preview_shows(name, accum):
    """The snippet is our own generated code (config values enter it only as checked
    literals), so the test may run it: its schedule must give the preview's rates."""
    from engine.schedule_preview import preview

    cfg = _cfg(name, n_train=600, batch_size=16, grad_accum_steps=accum, epochs=12)
    code = sx.keras_code(cfg)
    namespace: dict = {}
    exec(compile(code, f"<{name} snippet>", "exec"), namespace)
    expected = preview(cfg)
    schedule = namespace["schedule"]
    raw_steps = (np.array(expected["step"]) + 1) * accum - 1  # step s: micro-batch (s+1)·k − 1
    try:
        got = np.asarray(schedule(raw_steps), dtype=np.float64).reshape(-1)
    except Exception:  # CosineDecay's warmup branch is not vectorised
        got = np.array([float(schedule(int(r))) for r in raw_steps])
    np.testing.assert_allclose(got, expected["lr"], rtol=1e-6, atol=1e-12)
    assert ("UpdateSchedule(" in code) == (accum > 1)
    assert "optimizer = keras.optimizers.Adam(" in code


def test_formulas_name_every_symbol_and_argument():
    for name in SCHEDULES.names():
        cfg = _cfg(name)
        spec = cfg["schedule"] or {"name": "constant"}
        f = sx.formula(spec, cfg["learning_rate"])
        assert f.tex.startswith(r"\eta_t ="), name
        for symbol, value, arg in f.where:
            assert symbol in f.tex + f.note, (name, symbol)
            assert arg == "learning_rate" or spec[arg] == value, (name, arg)
        assert all(f"(`{arg}`)" in f.where_text() for _, _, arg in f.where)
        if "s_t" in f.tex:
            assert "s_t" in f.note, name
    assert sx.tex_num(1e-05) == "10^{-5}"
    assert sx.tex_num(2.5e-05) == r"2.5 \times 10^{-5}"
    assert sx.tex_num(2370) == "2{,}370"
    staircase = sx.formula(
        {"name": "exponential_decay", "decay_steps": 10, "decay_rate": 0.5, "staircase": True}, 1.0
    ).tex
    assert r"\lfloor t / T \rfloor" in staircase


def test_bad_input_is_named_not_raised():
    cfg, problems = sx.check(
        sx.raw_config(SHARED, 0.01, {"name": "exponential_decay", "decay_rate": 0.0})
    )
    assert cfg is None and problems == [("schedule.decay_rate", "must be in (0, 1], got 0.0")]
    cfg, problems = sx.check(
        sx.raw_config(SHARED, 0.01, {"name": "piecewise_constant", "boundaries": [500, 100]})
    )
    assert cfg is None and problems[0][0] == "schedule.boundaries"
    shape, problems = sx.check_shared(SHARED | {"batch_size": 9000})
    assert shape is None and [f for f, _ in problems] == ["batch_size"]
    shape, problems = sx.check_shared(SHARED | {"n_train": 20_000, "batch_size": 2})
    assert shape is None and problems[0][0] == "epochs" and "at most" in problems[0][1]
    shape, _ = sx.check_shared(SHARED | {"batch_size": 32, "grad_accum_steps": 4})
    assert (shape.batches, shape.per_epoch, shape.total) == (157, 39.25, 1177)


def test_add_offers_every_schedule_once_then_repeats():
    shown: list[str] = []
    for _ in SCHEDULES.names():
        shown.append(sx.next_schedule(shown))
    assert sorted(shown) == sorted(SCHEDULES.names()) and shown[:2] == list(sx.START)
    assert sx.next_schedule(shown) == sx.START[0]


# ----------------------------------------------------------------------------- pages (AppTest)


def _chart(at, title: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if (spec["layout"].get("title") or {}).get("text") == title:
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def _trace(spec: dict, **meta) -> dict:
    found = [t for t in spec["data"] if all(t.get("meta", {}).get(k) == v for k, v in meta.items())]
    assert len(found) == 1, (meta, [t.get("meta") for t in spec["data"]])
    return found[0]


def _ok(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _previews_in(at) -> None:
    """Rerun until no preview is still being computed by the TensorFlow service."""
    run_until(at, lambda a: "Preparing the exact schedules" not in all_text(a), what="previews")


def test_loss_page_huber_delta_moves_where_the_gradient_saturates(store_path):
    at = open_app("pages/losses.py")
    _ok(at)
    assert [t.value for t in at.title] == ["Loss explorer"]
    assert "MSE **20×**" in all_text(at) and "Huber **2×**" in all_text(at)
    grad = _trace(_chart(at, "Gradient vs error"), loss="huber")
    assert max(grad["y"]) == pytest.approx(1.0) and min(grad["y"]) == pytest.approx(-1.0)
    mse = _trace(_chart(at, "Gradient vs error"), loss="mse")
    assert max(mse["y"]) == pytest.approx(6.0)  # 2e at e = 3: no saturation
    at.slider(key="lx_delta").set_value(0.4).run()
    _ok(at)
    spec = _chart(at, "Gradient vs error")
    assert max(_trace(spec, loss="huber")["y"]) == pytest.approx(0.4)
    assert sorted(s["x0"] for s in spec["layout"]["shapes"] if s.get("x0") == s.get("x1")) == [
        pytest.approx(-0.4),
        pytest.approx(0.4),
    ]
    assert "Huber **1×**" in all_text(at)  # both errors beyond δ: the same capped pull
    at.multiselect(key="lx_reg").set_value(["mse", "weighted_mse"]).run()
    _ok(at)
    names = [t["meta"]["loss"] for t in _chart(at, "Loss vs error")["data"]]
    assert names == ["mse", "weighted_mse"]


def test_loss_page_focal_sliders_targets_and_logit_gradient(store_path):
    at = open_app("pages/losses.py")
    _ok(at)
    loss = _chart(at, "Loss vs predicted probability")
    assert len(loss["data"]) == 4  # BCE and focal, for target 1 and target 0
    text = all_text(at)  # the teaching numbers follow the sliders: 0.25·0.1² vs 0.25·0.9²
    assert "keeps **0.25%**" in text and "keeps **20.2%**" in text and "81×" in text
    p = np.array(loss["data"][0]["x"])
    i = int(np.argmin(np.abs(p - 0.9)))
    before = _trace(loss, loss="focal", target=1)["y"][i]
    at.slider(key="lx_gamma").set_value(0.0).run()
    at.slider(key="lx_alpha").set_value(0.5).run()
    _ok(at)
    after = _trace(_chart(at, "Loss vs predicted probability"), loss="focal", target=1)["y"][i]
    assert before == pytest.approx(0.25 * (1 - p[i]) ** 2 * -np.log(p[i]))
    assert after == pytest.approx(0.5 * -np.log(p[i]))  # γ = 0: cross-entropy × α
    at.button_group(key="lx_targets").set_value(["0"]).run()
    _ok(at)
    spec = _chart(at, "Gradient vs predicted probability")
    assert {t["meta"]["target"] for t in spec["data"]} == {0}
    at.button_group(key="lx_wrt").set_value("logit").run()
    _ok(at)
    spec = _chart(at, "Gradient vs predicted probability")
    bce = _trace(spec, loss="binary_crossentropy", target=0)
    np.testing.assert_allclose(bce["y"], bce["x"], rtol=1e-6)  # dL/dz = p − 0
    assert spec["layout"]["yaxis"]["title"]["text"] == "dL / dz (logit)"


def test_loss_page_never_loads_tensorflow(tmp_path):
    """A fresh interpreter: the loss page and the schedule explorer's helpers render and
    import without TensorFlow (only the schedule preview itself may load it)."""
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests" / "ui")!r}]
        os.environ["HPLAB_STORE"] = {str(tmp_path / "s.db")!r}
        os.environ["HPLAB_WORKERS"] = "0"
        import ui.schedule_explorer, ui.explorer_charts, ui.loss_curves
        from ui_helpers import open_app
        at = open_app("pages/losses.py")
        assert not at.exception
        assert len(at.get("plotly_chart")) == 4
        print("TF" if "tensorflow" in sys.modules else "NO-TF")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.stdout.strip().splitlines()[-1:] == ["NO-TF"], proc.stdout + proc.stderr[-3000:]


def test_schedule_page_overlays_edits_and_explains(store_path):
    at = open_app("pages/schedules.py")
    _previews_in(at)
    _ok(at)
    assert [t.value for t in at.title] == ["Schedule explorer"]
    per_update = _chart(at, "Per optimizer update")
    assert [t["name"] for t in per_update["data"]] == ["1 · warmup_cosine", "2 · exponential_decay"]
    assert len(_chart(at, "Per epoch")["data"]) == 2
    # The curve is the preview's: every drawn point is the rate of the update it names.
    from engine.schedule_preview import preview

    expected, _ = sx.check(sx.raw_config(SHARED, 1e-3, {"name": "warmup_cosine"}))
    lrs = preview(expected)["lr"]
    t0 = per_update["data"][0]
    assert len(t0["x"]) > 100
    np.testing.assert_allclose(t0["y"], [lrs[s] for s in t0["customdata"]], rtol=1e-9)
    assert t0["x"][0] == 0 and t0["y"][0] == lrs[0]  # step 0: the first update
    assert "79 updates per epoch" in all_text(at) and "2,370 updates" in all_text(at)
    assert len(at.latex) == 2 and r"\begin{cases}" in at.latex[0].value
    codes = [c.value for c in at.code]
    assert any("WarmupCosineDecay(" in c and "peak_lr=LEARNING_RATE" in c for c in codes)
    assert any("ExponentialDecay(" in c and "decay_steps=1000" in c for c in codes)

    # A second batch size: fewer updates per epoch, so fewer points per update.
    at.number_input(key="sx_batch_size").set_value(128).run()
    _previews_in(at)
    _ok(at)
    assert "40 updates per epoch" in all_text(at) and "1,200 updates" in all_text(at)
    assert max(_chart(at, "Per optimizer update")["data"][0]["x"]) == 1199  # last step
    assert max(_chart(at, "Per epoch")["data"][0]["x"]) == pytest.approx(30)

    # Adding a schedule adds a curve; changing its kind changes its formula and code.
    at.button(key="sx_add").click().run()
    _previews_in(at)
    _ok(at)
    assert _chart(at, "Per optimizer update")["data"][2]["name"] == "3 · cosine_decay_restarts"
    assert len(_chart(at, "Per epoch")["data"]) == 3
    at.selectbox(key="sx2").set_value("piecewise_constant").run()
    _previews_in(at)
    _ok(at)
    assert _chart(at, "Per optimizer update")["data"][2]["name"] == "3 · piecewise_constant"
    assert any("PiecewiseConstantDecay(" in c.value for c in at.code)

    # A bad parameter: named under its field, that curve left out, nothing crashes.
    at.number_input(key="sx1-exponential_decay-decay_rate").set_value(0.0).run()
    _ok(at)
    errors = [str(e.value) for e in at.error]
    assert any("schedule.decay_rate" in e and "must be in (0, 1]" in e for e in errors), errors
    names = [t["name"] for t in _chart(at, "Per optimizer update")["data"]]
    assert names == ["1 · warmup_cosine", "3 · piecewise_constant"]

    # Removing a schedule removes its curve.
    at.button(key="sx1_remove").click().run()
    _ok(at)
    assert len(_chart(at, "Per optimizer update")["data"]) == 2


def test_schedule_page_names_a_bad_shared_knob(store_path):
    at = open_app("pages/schedules.py")
    at.number_input(key="sx_batch_size").set_value(6000).run()
    _ok(at)
    errors = [str(e.value) for e in at.error]
    assert any("batch_size" in e and "5000 training examples" in e for e in errors), errors
    assert not at.get("plotly_chart")
    assert "Fix the data and batch settings" in all_text(at)
