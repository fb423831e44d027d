"""Run detail's predictions: the test metrics, then a sample of the test set against its
targets per output — predicted vs true for regression (both axes spanning the data,
one unit as long on each), the confusion matrix and the predicted probability by true
class for classification. They exist once a run has ended.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from engine.store import TERMINAL
from ui import presentation, resources
from ui.charts import confusion_figure, probability_figure, regression_figure


def render_predictions(run: Mapping, test: Mapping[str, float], color: str) -> None:
    run_id = run["id"]
    store = resources.store()
    preds = store.predictions(run_id) if run["status"] in TERMINAL else None
    if test:
        st.markdown("**Test set** (evaluated once, after training)")
        st.dataframe(
            [{"metric": k, "value": v} for k, v in test.items()],
            hide_index=True,
            width="content",
            key="detail_test_table",
        )
    if not preds:
        st.info(
            "Predictions appear when the run completes (or is cancelled): a sample of the "
            "test set against its targets.",
            icon=":material/info:",
        )
    else:
        for head, p in preds.items():
            title = head if len(preds) > 1 else None
            if title:
                st.markdown(f"**Output · {head}**")
            if p.get("kind") == "regression":
                presentation.plotly_chart(
                    st,
                    regression_figure(
                        p["target"],
                        p["prediction"],
                        color=color,
                        title="Predicted vs true (test sample)",
                    ),
                    key=f"detail_pred_{head}",
                    width="stretch",
                )
            else:
                c1, c2 = st.columns(2)
                if p.get("confusion"):
                    presentation.plotly_chart(
                        c1,
                        confusion_figure(
                            p["confusion"],
                            p.get("labels") or [],
                            title="Confusion matrix (whole test set)",
                        ),
                        key=f"detail_confusion_{head}",
                        width="stretch",
                    )
                if p.get("kind") == "binary":
                    presentation.plotly_chart(
                        c2,
                        probability_figure(
                            p["target"],
                            p["prediction"],
                            title="Predicted probability by true class",
                        ),
                        key=f"detail_proba_{head}",
                        width="stretch",
                    )
                else:
                    c2.caption(
                        "Rows are true classes, columns predicted ones; a strong diagonal is "
                        "skill. On random labels expect an even spread (chance)."
                    )
