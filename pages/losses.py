"""Loss explorer: each loss and its gradient, against the error or the predicted probability.

The gradient is what training feels, so it is drawn beside every loss: it is where
Huber's robustness (a capped pull) and focal loss's focus (a muted pull from easy
examples) become visible. Curves are closed-form NumPy (``ui.loss_curves``, held
to the Keras losses by the tests), so the page never loads TensorFlow.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.spec.losses import LOSSES
from ui import address, navigation, presentation
from ui import loss_curves as lc
from ui.explorer_charts import Line, curve_figure
from ui.form import PERSIST
from ui.palette import RUN_COLORS
from ui.shell import require_shell

require_shell()
address_notices = navigation.losses_address(st.session_state)  # a link wins once

COLORS = dict(zip(lc.REGRESSION + lc.CLASSIFICATION, RUN_COLORS, strict=False))
SHORT = {
    "mse": "MSE",
    "mae": "MAE",
    "huber": "Huber",
    "weighted_mse": "Weighted MSE",
    "binary_crossentropy": "BCE",
    "focal": "Focal",
}


def _pick(names: tuple[str, ...], default: list[str], key: str) -> list[str]:
    """Which losses to draw; the help names each one in full with the registry's advice."""
    return st.multiselect(
        "Losses",
        names,
        default=default,
        format_func=SHORT.get,
        key=key,
        help=" ".join(
            f"{SHORT[n]} — {LOSSES.entry(n).title}: {LOSSES.entry(n).help}" for n in names
        ),
        persist_state=PERSIST,
    )


def _param_slider(label: str, loss: str, param: str, span: tuple, **kw) -> float:
    """A slider for a loss parameter: its default and help come from the registry (what a
    run would use), its range is the part worth exploring (``(lo, hi, step)``)."""
    p = LOSSES.entry(loss).params[param]
    lo, hi, step = span
    return st.slider(
        label,
        lo,
        hi,
        float(p.default),
        step,
        key=f"lx_{param}",
        help=p.help,
        persist_state=PERSIST,
        **kw,
    )


def _pair(loss_fig, grad_fig, key: str, where) -> None:
    c1, c2 = where.columns(2)
    with c1:
        presentation.plotly_chart(st, loss_fig, key=f"{key}_loss", width="stretch")
    with c2:
        presentation.plotly_chart(st, grad_fig, key=f"{key}_grad", width="stretch")


navigation.header("Loss explorer")
st.caption(
    "The loss measures how far predictions are from the targets and defines what the model "
    "optimises for (000 · Loss Functions). The gradient, drawn beside it, is what each "
    "example actually contributes to a weight update."
)
navigation.show_notices(address_notices)
reg_tab, cls_tab = st.tabs(list(address.LOSS_TABS), key="lx_tab", on_change="rerun")

# ----------------------------------------------------------------------------- regression

with reg_tab:
    # Presenting, the two charts come first and these controls follow them, folded.
    charts, knobs = presentation.placed("Losses and their parameters")
    c1, c2, c3, c4 = knobs.columns([2, 1, 1, 1])
    with c1:
        chosen = _pick(lc.REGRESSION, ["mse", "mae", "huber"], "lx_reg")
    with c2:
        delta = _param_slider("Huber δ", "huber", "delta", address.LOSS_SPANS["delta"])
    with c3:
        under = _param_slider(
            "Weighted MSE: under-prediction weight",
            "weighted_mse",
            "under_weight",
            address.LOSS_SPANS["under_weight"],
            disabled="weighted_mse" not in chosen,
        )
    with c4:
        span = st.slider(
            "Error range ±",
            *address.LOSS_SPANS["span"][:2],
            3.0,
            address.LOSS_SPANS["span"][2],
            key="lx_span",
            help="Error = prediction − target.",
            persist_state=PERSIST,
        )
    err = np.linspace(-span, span, 401)
    curves = {n: lc.regression(n, err, delta=delta, under_weight=under) for n in chosen}
    marks = [(-delta, "−δ"), (delta, "δ")] if "huber" in chosen and delta < span else []

    def _lines(part: str) -> list[Line]:
        return [
            Line(SHORT[n], COLORS[n], getattr(c, part), meta={"loss": n, "series": part})
            for n, c in curves.items()
        ]

    _pair(
        curve_figure(
            err,
            _lines("loss"),
            title="Loss vs error",
            x_title="error = prediction − target",
            y_title="loss",
            marks=marks,
        ),
        curve_figure(
            err,
            _lines("grad"),
            title="Gradient vs error",
            x_title="error = prediction − target",
            y_title="dL / d prediction",
            marks=marks,
        ),
        "lx_reg",
        charts,
    )
    pulls = [
        f"{SHORT[n]} **{lc.outlier_pull(n, 0.5, 10.0, delta=delta, under_weight=under):.3g}×**"
        for n in chosen
    ]
    st.markdown(
        "**MSE** squares each error, so large errors dominate: it is sensitive to outliers. "
        "**MAE** grows linearly, so it is robust to them — but its gradient is ±1 however "
        "close the prediction is, so it never slows down near the target. **Huber** is "
        "quadratic for small errors and linear for large ones: inside ±δ it behaves like MSE "
        "(a pull that shrinks as the error does), outside it like MAE (a pull capped at δ). "
        "Smaller δ = more robust. The documents' advice: MSE for clean data, MAE for "
        "outlier-prone data, Huber for a balanced approach."
    )
    if pulls:
        st.markdown(
            "How much harder an outlier (error 10) pulls on the weights than a typical "
            "error of 0.5: " + " · ".join(pulls) + "."
        )
    if "weighted_mse" in chosen:
        st.caption(
            f"Weighted MSE is the documents' custom loss: under-predictions (error < 0) cost "
            f"{under:g}× as much, for costs that are asymmetric (running out of stock hurts "
            "more than overstocking)."
        )

# ----------------------------------------------------------------------------- classification

with cls_tab:
    # The last column holds "probability | logit": at a projector's 1280 px anything
    # narrower cuts "logit" off.
    charts, knobs = presentation.placed("Losses, target and gradient")
    c1, c2, c3, c4, c5 = knobs.columns([2, 1, 1, 1.1, 1.8])
    with c1:
        chosen_c = _pick(lc.CLASSIFICATION, list(lc.CLASSIFICATION), "lx_cls")
    with c2:
        gamma = _param_slider("Focal γ", "focal", "gamma", address.LOSS_SPANS["gamma"])
    with c3:
        alpha = _param_slider("Focal α", "focal", "alpha", address.LOSS_SPANS["alpha"])
    with c4:
        targets = st.segmented_control(
            "Target",
            ["1", "0"],
            selection_mode="multi",
            default=["1", "0"],
            key="lx_targets",
            help="The true label. Solid lines: target 1; dashed: target 0.",
            persist_state=PERSIST,
        )
    with c5:
        wrt = st.segmented_control(
            "Gradient with respect to",
            lc.WRT,
            default="probability",
            required=True,
            key="lx_wrt",
            help="probability: dL/dp. logit: dL/dz for p = sigmoid(z), what the last layer's "
            "weights receive.",
            persist_state=PERSIST,
        )
    p = np.linspace(0.001, 0.999, 500)
    loss_lines, grad_lines = [], []
    for n in chosen_c:
        for t in sorted((int(x) for x in targets or []), reverse=True):
            c = lc.classification(n, p, t, gamma=gamma, alpha=alpha, wrt=wrt)
            label = f"{SHORT[n]} · y={t}"
            dash = "solid" if t == 1 else "dash"
            meta = {"loss": n, "target": t}
            loss_lines.append(Line(label, COLORS[n], c.loss, dash, meta | {"series": "loss"}))
            grad_lines.append(Line(label, COLORS[n], c.grad, dash, meta | {"series": "grad"}))
    by_p = wrt == "probability"
    _pair(
        curve_figure(
            p,
            loss_lines,
            title="Loss vs predicted probability",
            x_title="predicted probability p of class 1",
            y_title="loss",
            marks=[(0.5, "p = 0.5")],
            y_range=(0.0, 5.0),
        ),
        curve_figure(
            p,
            grad_lines,
            title="Gradient vs predicted probability",
            x_title="predicted probability p of class 1",
            y_title="dL / dp" if by_p else "dL / dz (logit)",
            marks=[(0.5, "p = 0.5")],
            y_range=(-10.0, 10.0) if by_p else None,
        ),
        "lx_cls",
        charts,
    )
    easy = lc.focal_weight(0.9, 1, gamma=gamma, alpha=alpha)
    hard = lc.focal_weight(0.1, 1, gamma=gamma, alpha=alpha)
    st.markdown(
        "**Binary cross-entropy** is −log of the probability given to the true class: near "
        "zero for a confident right answer, unbounded for a confident wrong one. **Focal "
        "loss** (for imbalanced classification) multiplies it by "
        "$\\alpha_t (1 - p_t)^{\\gamma}$, which "
        "down-weights easy examples — the many that are already right — so the gradient is "
        "spent on the hard, misclassified ones. γ = 0 gives cross-entropy scaled by $\\alpha_t$."
    )
    st.markdown(
        f"At γ = {gamma:g}, α = {alpha:g}: an easy positive (p = 0.9) keeps "
        f"**{easy * 100:.3g}%** of its cross-entropy, a hard one (p = 0.1) keeps "
        f"**{hard * 100:.3g}%** — "
        f"the hard example counts {hard / easy:.3g}× as much."
        if easy > 0
        else f"At γ = {gamma:g}, α = {alpha:g} positives carry no weight at all."
    )
    st.caption(
        "α weights positives and 1 − α negatives. HP Lab's focal loss counts negatives too: "
        "the documents' sketch is zero for every negative with one sigmoid output, so "
        "predicting “positive” everywhere would minimise it. It equals Keras's "
        "`BinaryFocalCrossentropy(gamma, alpha, apply_class_balancing=True)`."
        + (
            " The probability axis of the gradient is cut at ±10: dL/dp grows like 1/p "
            "towards a confident mistake."
            if by_p
            else " With respect to the logit, cross-entropy's gradient is simply p − y."
        )
    )
