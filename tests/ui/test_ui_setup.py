"""Set up runs' logic: what a typed value becomes, the launch built from state, names.

The browser suite (tests/browser/test_browser_setup.py) proves the same by typing in
Chromium; these run the page headless and the pure functions with generated input.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.elements.lib.js_number import JSNumber
from ui_helpers import ROOT, open_app, open_tab

from engine.config import SCALARS, validate
from engine.spec.callbacks import CALLBACKS
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS
from engine.store import RunStore
from ui import form, launch, plan

NUMERIC = [p for p in SCALARS.values() if p.kind in ("int", "float")]
NUMERIC += [
    p for p in (*DATA_PARAMS.values(), *MODEL_PARAMS.values()) if p.kind in ("int", "float")
]
for _reg in (OPTIMIZERS, SCHEDULES):
    NUMERIC += [p for e in _reg for p in e.params.values() if p.kind in ("int", "float")]
NUMERIC += [p for spec in CALLBACKS for p in spec.params.values() if p.kind != "bool"]
NUMERIC = [p for p in NUMERIC if p.kind in ("int", "float")]

ANY_NUMBER = st.one_of(
    st.none(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 1.5, 5, 10, 0.999, 1.0999, 1e9, 2.5, 1e-12, 1e-320, 1e308]),
)


def shown(markdown: str) -> str:
    """What a person reads: markdown escapes (user text is shown literally) removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


# ----------------------------------------------------------------------------- widgets


@settings(max_examples=1500, deadline=None)
@given(p=st.sampled_from(NUMERIC), value=ANY_NUMBER)
def test_number_widget_arguments_are_one_type_whatever_was_typed(p, value):
    """Streamlit's rule (all of min, max, value, step one numeric type) and the browser's
    (finite steps within JS number bounds) hold for every value a field can hold."""
    args = form.number_args(p, value)
    numbers = [args[k] for k in ("min_value", "max_value", "value", "step")]
    assert all(v is None or type(v) is float for v in numbers), args
    assert math.isfinite(args["step"]) and args["step"] > 0
    JSNumber.validate_float_bounds(args["step"], "step")
    assert args["min_value"] is None and args["max_value"] is None  # the engine checks range


TYPED = [1, 1.5, 5, 10, -1, 0, 0.999, 1e9, 2.5, None]


@pytest.mark.parametrize(
    "key",
    [
        "cfg-learning_rate",
        "cfg-batch_size",
        "cfg-grad_accum_steps",
        "cfg-epochs",
        "cfg-optimizer-adam-epsilon",
        "cfg-optimizer-adam-beta_2",
        "cfg-clip-value",
        "setup_repeats",
    ],
)
def test_any_typed_value_is_named_or_launches_never_raises(store_path, key):
    at = open_app()
    if key == "cfg-clip-value":
        at.selectbox(key="cfg-clip").set_value("clipnorm").run()
    for v in TYPED:
        at.number_input(key=key).set_value(v).run()
        assert not at.exception, (key, v, [e.message for e in at.exception])
        assert at.number_input(key=key).value == v  # kept as typed: not clamped or reset
        launch_button = at.button(key="setup_launch")
        shown_errors = errors(at)
        assert launch_button.disabled == bool(shown_errors), (key, v, shown_errors)


def test_out_of_range_values_are_refused_by_the_engines_message(store_path):
    at = open_app()
    at.number_input(key="cfg-epochs").set_value(5000).run()
    assert any("epochs" in e and "must be in [1, 1000], got 5000" in e for e in errors(at))
    assert at.button(key="setup_launch").disabled
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.number_input(key="cfg-batch_size").set_value(2.5).run()
    assert any("batch_size" in e and "must be an integer, got 2.5" in e for e in errors(at))
    at.number_input(key="cfg-batch_size").set_value(16).run()
    at.number_input(key="setup_repeats").set_value(100).run()
    assert any("Seed repeats" in e and "[1, 10], got 100" in e for e in errors(at))
    assert at.button(key="setup_launch").disabled
    at.number_input(key="setup_repeats").set_value(2).run()
    at.button(key="setup_launch").click().run()
    runs = RunStore(store_path).list_runs()
    assert sorted((r["config"]["epochs"], r["config"]["batch_size"]) for r in runs) == [(3, 16)] * 2


def test_the_launch_is_rebuilt_from_state_at_the_click(store_path):
    """A value changed after the page was drawn (the blur of a field the person typed in
    then clicked Launch) is the one launched."""
    at = open_app()
    at.session_state[form.key("epochs")] = 4  # as if committed by the click's own rerun
    at.button(key="setup_launch").click().run()
    (run,) = RunStore(store_path).list_runs()
    assert run["config"]["epochs"] == 4


def test_tab_labels_never_change(store_path):
    at = open_app()
    labels = [t.label for t in at.tabs]
    open_tab(at, "Precision & compile")
    at.selectbox(key="cfg-precision").set_value("mixed_float16").run()
    assert [t.label for t in at.tabs] == labels
    assert at.session_state["setup_tabs"] == "Precision & compile"  # still open
    assert any("**Precision & compile**: 1 warning" in c.value for c in at.caption)
    open_tab(at, "Optimizer & schedule")
    at.number_input(key="cfg-batch_size").set_value(0).run()
    assert [t.label for t in at.tabs] == labels
    assert any("**Optimizer & schedule**: 1 to fix" in c.value for c in at.caption)


def test_labels_say_the_idea_and_the_keras_name(store_path):
    at = open_app()
    assert at.number_input(key="cfg-optimizer-adam-beta_1").label == "Momentum decay (beta_1)"
    assert (
        at.number_input(key="cfg-grad_accum_steps").label
        == "Gradient accumulation steps (grad_accum_steps)"
    )
    assert at.number_input(key="cfg-learning_rate").label == "Learning rate"
    text = "\n".join(c.value for c in at.caption)
    assert "From “The Training Pipeline”" in text and "000 ·" not in text


# ----------------------------------------------------------------------------- the launch


def _state(**kw) -> dict:
    s: dict = {}
    form.ensure_state(s, "regression")
    s.update(kw)
    return s


def test_an_invalid_knob_value_keeps_every_label_on_its_own_run():
    s = _state(
        setup_mode=launch.MODES[1],
        setup_knob="learning_rate",
        setup_values_learning_rate=["0.0001", "0.001", "0.01", "-1", "5"],
    )
    L = launch.build(s)
    assert [r.name for r in L.runs] == ["lr 0.0001", "lr 0.001", "lr 0.01", "lr -1", "lr 5"]
    assert [c is None for c in L.configs] == [False, False, False, True, False]
    assert [f for f, _ in L.problems] == ["lr -1 → learning_rate"]
    assert not L.ok
    fields = {a.field: a.message for a in L.review_advice(gpu=False)}
    assert fields["lr 5 → learning_rate"].startswith("Learning rate 5 is 500×")
    assert all(r.raw["learning_rate"] == c["learning_rate"] for r, c in L.valid)


def test_comparing_optimizers_runs_each_at_its_usual_rate_by_default():
    L = launch.build(_state(setup_mode=launch.MODES[1], setup_values_optimizer=["adam", "sgd"]))
    assert [(r.name, c["learning_rate"]) for r, c in L.valid] == [
        ("adam · lr 0.001", 1e-3),
        ("sgd · lr 0.01", 1e-2),
    ]
    off = launch.build(
        _state(
            setup_mode=launch.MODES[1], setup_values_optimizer=["adam", "sgd"], setup_usual_lr=False
        )
    )
    assert [c["learning_rate"] for _, c in off.valid] == [1e-3, 1e-3]
    assert all("usual_lr" in e.fixed for e in OPTIMIZERS)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.dictionaries(
        st.sampled_from(
            [
                form.key("learning_rate"),
                form.key("batch_size"),
                form.key("epochs"),
                form.key("grad_accum_steps"),
                form.key("seed"),
                form.key("validation_split"),
                form.key("clip", "value"),
                form.key("optimizer", "adam", "beta_1"),
                form.key("data", "n_train"),
                "setup_repeats",
            ]
        ),
        ANY_NUMBER,
    ),
    mode=st.sampled_from(launch.MODES),
    knob_values=st.lists(st.text(max_size=30), max_size=6),
)
def test_any_state_builds_a_launch_or_named_problems_never_raises(values, mode, knob_values):
    s = _state(setup_mode=mode, setup_knob="learning_rate", **values)
    s["setup_values_learning_rate"] = knob_values
    L = launch.build(s)
    if L.ok:
        assert all(c is not None for c in L.configs)
        for r, c in L.valid:
            assert validate(r.raw) == c
    else:
        assert L.all_problems or L.hint
        for field, message in L.all_problems:
            assert field and message


# ----------------------------------------------------------------------------- names


def test_one_run_is_named_by_what_differs_from_the_article():
    cfg = validate(
        {"task": "regression", "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 64}
    )
    assert plan.one_run_name(cfg) == "regression · sgd · lr 0.01 · batch_size 64"
    cfg = validate({"task": "regression", "schedule": "cosine_decay", "seed": 7})
    assert plan.one_run_name(cfg) == "regression · adam · lr 0.001 · cosine_decay · seed 7"


def test_names_stay_unique_and_seeds_group():
    taken = ["regression · adam · lr 0.001", "lr 0.01 · seed 42", "lr 0.01 · seed 43"]
    assert plan.unique_names(["regression · adam · lr 0.001"], taken) == [
        "regression · adam · lr 0.001 (2)"
    ]
    assert plan.unique_names(
        ["lr 0.01 · seed 42", "lr 0.01 · seed 43", "lr 0.1 · seed 42"], taken
    ) == [
        "lr 0.01 (2) · seed 42",
        "lr 0.01 (2) · seed 43",
        "lr 0.1 · seed 42",
    ]


def test_launching_the_same_run_twice_gives_two_names(store_path):
    at = open_app()
    at.button(key="setup_launch").click().run()
    at = open_app()
    at.button(key="setup_launch").click().run()
    names = [r["name"] for r in RunStore(store_path).list_runs()]
    assert names == ["regression · adam · lr 0.001", "regression · adam · lr 0.001 (2)"]


def test_lr_warnings_are_one_sentence():
    low = plan.lr_advice(validate({"task": "regression", "learning_rate": 1e-12}))
    assert low.message.startswith(
        "Learning rate 1e-12 is 10,000,000× below the bottom of Adam's usual range "
        "(1e-05 – 0.01): the curves will crawl."
    )


# ----------------------------------------------------------------------------- errors


def test_an_unexpected_error_shows_a_short_message_and_no_server_path(store_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("the optimizer section broke")

    monkeypatch.setattr(form, "section_optimizer", boom)
    at = open_app()
    (err,) = [e.value for e in at.error if "Something went wrong" in e.value]
    assert "Set up runs" in err and "the optimizer section broke" in err
    (exc,) = at.exception  # still an exception element: a crash never passes a test
    assert "pages/setup.py:" in exc.message and str(ROOT) not in exc.message
    assert not exc.stack_trace or all(str(ROOT) not in line for line in exc.stack_trace)
    assert at.expander and any("Details" in x.label for x in at.expander)


def test_a_long_run_launches_and_says_how_long_it_will_take(store_path):
    """Issue 11: a run of hundreds of thousands of updates is allowed, but the bar says
    how long to expect before anyone clicks, and the review says it per run."""
    at = open_app()
    at.number_input(key="cfg-batch_size").set_value(1).run()
    at.number_input(key="cfg-epochs").set_value(1000).run()
    assert not at.button(key="setup_launch").disabled
    bar = [shown(c.value) for c in at.caption if "expected about" in c.value]
    said = re.search(r"expected about (\d+(?:\.\d)? (?:min|h)) on this machine", bar[0])
    assert said, bar
    [table] = [d.value for d in at.dataframe if "Expected time" in d.value.columns]
    assert table["Updates"].iloc[0] >= 100_000
    assert table["Expected time"].iloc[0] == said[1]


def test_the_whole_launch_is_timed_on_the_workers_it_will_have():
    """Runs start in order on whichever worker is free: four equal runs on two workers
    take two runs' time; on one worker, four."""
    cfg = validate({"task": "regression", "epochs": 50})
    runs = [plan.PlannedRun(f"run {i}", cfg) for i in range(4)]
    L = launch.Launch(
        mode=launch.MODES[1],
        raw=cfg,
        base_cfg=cfg,
        base_problems=[],
        advice=[],
        runs=runs,
        configs=[cfg] * 4,
    )
    each, on_two = launch.expected_seconds(L, 2)
    _, on_one = launch.expected_seconds(L, 1)
    assert (
        len(each) == 4 and math.isclose(on_two, 2 * each[0]) and math.isclose(on_one, 4 * each[0])
    )
    assert launch.duration_line(L, 2).endswith("in all on 2 workers")
