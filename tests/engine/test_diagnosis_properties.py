"""Diagnosis never breaks, whatever a run recorded, and its suggestions always keep the
config contract (hypothesis: 1,000 generated runs per property)."""

from __future__ import annotations

import json
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.config import validate
from engine.diagnosis import LABELS, apply_change, diagnose
from engine.paired import paired_difference

CONFIGS = [
    validate(c)
    for c in (
        {"task": "regression", "optimizer": "sgd", "learning_rate": 0.001},
        {"task": "binary-20", "model": {"width": 0.05, "dropout": 0.8, "l2": 0.1}},
        {"task": "regression-10", "clipping": {"clipvalue": 0.5}, "learning_rate": 9.0},
        {"task": "multiclass-10", "precision": "float32", "data": {"noise": 0.3}},
        {"task": "multi-output", "epochs": 3, "callbacks": {"early_stopping": {}}},
        {"task": "sequence", "learning_rate": 1e-6, "data": {"learnable": False}},
        {"task": "mixed-precision", "precision": "float32", "epochs": 1000},
    )
]

VALUE = st.one_of(
    st.floats(min_value=-1e6, max_value=1e12, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e-30]),
    st.floats(min_value=0.0, max_value=10.0),
)
SERIES = st.lists(VALUE, max_size=40)


@st.composite
def runs(draw):
    loss = draw(SERIES)
    val = draw(st.one_of(st.just([]), st.lists(VALUE, min_size=len(loss), max_size=len(loss))))
    n_upd = draw(st.integers(0, 4)) * len(loss)
    steps = {
        "loss": draw(st.lists(VALUE, min_size=n_upd, max_size=n_upd)),
        "grad_norm": draw(st.lists(VALUE, min_size=n_upd, max_size=n_upd)),
        "clipped": draw(st.lists(st.booleans(), min_size=n_upd, max_size=n_upd)),
    }
    return {
        "history": {"loss": loss, "val_loss": val},
        "steps": steps,
        "status": draw(st.sampled_from(["running", "completed", "diverged", "cancelled"])),
        "baseline": draw(st.one_of(st.none(), VALUE)),
        "config": draw(st.one_of(st.none(), st.sampled_from(CONFIGS))),
        "n_val": draw(st.one_of(st.none(), st.integers(0, 5000))),
    }


# Found by CI's hypothesis run: a loss rising from a denormal overflowed exp() in
# gain_per_epoch (its log-slope of ~715 is past exp's range).
DENORMAL_RISE = {
    "history": {"loss": [0.0, 2.225073858507e-311, 1.0], "val_loss": []},
    "steps": {"loss": [0.0, 0.0, 1.0], "grad_norm": [0.0] * 3, "clipped": [False] * 3},
    "status": "running",
    "baseline": None,
    "config": None,
    "n_val": None,
}


@settings(max_examples=1000, deadline=None)
@given(runs())
@example(DENORMAL_RISE)
def test_any_recorded_run_gets_a_label_and_only_valid_suggestions(run):
    d = diagnose(
        run["history"],
        run["steps"],
        status=run["status"],
        baseline=run["baseline"],
        config=run["config"],
        info={"n_val": run["n_val"]},
    )
    assert d["label"] in LABELS and all(lab in LABELS for lab in d["labels"])
    assert d["label"] == d["labels"][0] and len(set(d["labels"])) == len(d["labels"])
    assert 0.0 <= d["confidence"] <= 1.0
    for f in d["findings"]:
        assert 0.0 <= f["confidence"] <= 1.0 and f["explains"] >= 0
    if any(not math.isfinite(v) for v in run["history"]["loss"]):
        assert d["label"] == "diverged"
    json.dumps(d, default=str)  # stored as JSON with the run
    if run["config"] is None:
        assert d["suggestions"] == []
    for s in d["suggestions"]:
        assert s["why"] and s["change"] and s["for"] in d["labels"]
        child = validate(apply_change(run["config"], s["change"]))  # never a broken config
        assert child != run["config"]


@settings(max_examples=1000, deadline=None)
@given(
    st.dictionaries(st.integers(0, 20), VALUE, max_size=12),
    st.dictionaries(st.integers(0, 20), VALUE, max_size=12),
)
def test_paired_differences_are_well_formed(a, b):
    p = paired_difference(a, b)
    shared = [s for s in set(a) & set(b) if math.isfinite(a[s]) and math.isfinite(b[s])]
    if len(shared) < 2:
        assert p is None
        return
    assert p.seeds == tuple(sorted(shared))
    if all(math.isfinite(x) for x in (p.mean, p.low, p.high)):
        assert p.low <= p.mean <= p.high
        assert p.significant == (not p.low <= 0 <= p.high)
