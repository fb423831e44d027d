"""Pages as addresses (``ui.address``, applied by ``ui.navigation``): the pure maps
between a page's state and its query, and the rule that any query gives either a
state or field-named notices, never an exception."""

from __future__ import annotations

import collections

from hypothesis import given
from hypothesis import strategies as st

from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import TASKS
from tests.fuzz_strategies import fuzz_settings
from ui import address, charts, form, launch, navigation, plan, search_form
from ui import loss_curves as lc
from ui import schedule_explorer as sx
from ui.launch import MODES


class Params(dict):
    """``st.query_params`` as navigation uses it: get, [], del, iteration."""

    def from_dict(self, d: dict) -> None:
        self.clear()
        self.update(d)


def _names(notices) -> list[str]:
    return [n.param for n in notices]


# ----------------------------------------------------------------------------- set up runs


def test_the_task_defaults_are_an_address_of_one_parameter():
    for task_id in TASKS:
        assert address.setup_query(address.task_defaults(task_id)) == {"task": task_id}


def test_a_comparison_is_written_as_its_differences_and_read_back():
    state = address.task_defaults("binary-20")
    state[form.key("optimizer")] = "sgd"
    state[form.key("optimizer", "sgd", "momentum")] = 0.9
    state[form.key("learning_rate")] = 0.01
    state[form.key("epochs")] = 12.0  # a number input holds floats: written as 12
    state["setup_mode"] = MODES[1]
    state["setup_knob"] = "learning_rate"
    state[launch.values_key("learning_rate")] = ["0.01", "0.1", "1e-3"]
    state["setup_repeats"] = 3
    q = address.setup_query(state)
    assert q == {
        "task": "binary-20",
        "mode": "knob",
        "optimizer": "sgd",
        "optimizer.momentum": "0.9",
        "learning_rate": "0.01",
        "epochs": "12",
        "repeats": "3",
        "knob": "learning_rate",
        "values": "0.01,0.1,1e-3",
    }
    back, notices = address.setup_state(q)
    assert notices == []
    assert address.setup_query(back) == q
    assert form.config_from_state(back)["optimizer"] == {
        "name": "sgd",
        "momentum": 0.9,
        "nesterov": False,
    }
    assert launch.build(back).runs and len(launch.build(back).runs) == 9  # 3 values × 3 seeds


def test_bad_values_are_named_and_their_fields_keep_the_default():
    state, notices = address.setup_state(
        {
            "task": "regression",
            "learning_rate": "abc",
            "optimizer": "nope",
            "epochs": "1e9",
            "batch_size": "2.5",
            "x": "update",
            "mode": "knob",
            "knob": "learning_rate",
            "values": "0.01,zz",
        }
    )
    by = {n.param: n.message for n in notices}
    assert set(by) == {"learning_rate", "optimizer", "epochs", "batch_size", "x", "values"}
    assert "number" in by["learning_rate"] and "'nope'" in by["optimizer"]
    assert "[1, 1000]" in by["epochs"] and "not a setting" in by["x"]
    defaults = address.task_defaults("regression")
    for k in ("learning_rate", "optimizer", "epochs", "batch_size"):
        assert state[form.key(k)] == defaults[form.key(k)]
    assert state[launch.values_key("learning_rate")] == ["0.01"]


def test_an_unknown_task_or_mode_falls_back_named():
    state, notices = address.setup_state({"task": "nope", "mode": "zz"})
    assert _names(notices) == ["task", "mode"]
    assert state[form.key("task")] == form.DEFAULT_TASK and state["setup_mode"] == MODES[0]


def test_dependent_fields_follow_their_selector():
    """``optimizer.momentum`` is sgd's only when sgd is chosen; a schedule's list knob
    and a multi-output head's loss are addressed by their own paths."""
    state, notices = address.setup_state(
        {"task": "regression", "optimizer.momentum": "0.5"}  # adam has no momentum
    )
    assert _names(notices) == ["optimizer.momentum"]
    state, notices = address.setup_state(
        {
            "schedule": "piecewise_constant",
            "schedule.boundaries": "100,200",
            "clipping": "clipnorm",
            "clipping.value": "2",
            "callbacks.early_stopping": "true",
            "callbacks.early_stopping.patience": "3",
        }
    )
    assert notices == []
    cfg = form.config_from_state(state)
    assert cfg["schedule"]["boundaries"] == [100, 200]
    assert cfg["clipping"] == {"clipnorm": 2.0}
    assert cfg["callbacks"]["early_stopping"]["patience"] == 3
    state, notices = address.setup_state(
        {"task": "multi-output", "loss.price": "huber", "loss.price.delta": "2"}
    )
    assert notices == [] and form.config_from_state(state)["loss"]["price"]["delta"] == 2.0


def test_compared_choices_are_read_by_their_labels():
    state, notices = address.setup_state(
        {"mode": "knob", "knob": "optimizer", "values": "sgd,adam,sgd · momentum 0.9,zz"}
    )
    assert _names(notices) == ["values"]
    assert state[launch.values_key("optimizer")] == ["sgd", "adam", "sgd · momentum 0.9"]
    for knob_id in plan.KNOBS:  # a label with a comma could not be a list item
        if plan.KNOBS[knob_id].kind == "choice":
            raw = form.config_from_state(address.task_defaults("regression"))
            assert all("," not in label for label in plan.choice_options(knob_id, raw))


def test_a_search_is_addressed_by_its_form():
    q = {"mode": "search", "search.batch_size": "true", "search.learning_rate.low": "1e-5"}
    state, notices = address.setup_state({**q, "search.sampler": "zz", "search.trials": "12"})
    assert _names(notices) == ["search.sampler"]
    assert address.setup_query(state) == {"task": "regression", **q, "search.trials": "12"}
    assert (
        search_form.build(state, form.config_from_state(state), 1).sweep["search"]["trials"] == 12
    )
    state, _ = address.setup_state({"search.trials": "12"})  # not a search: not its field
    assert "search_trials" not in state


def test_an_address_wins_once_then_the_form_writes_it():
    state: dict = {}
    form.ensure_state(state)
    params = Params(task="binary-20", optimizer="sgd", learning_rate="abc")
    notices = navigation.setup_address(state, params)
    assert _names(notices) == ["learning_rate"]
    assert state[form.key("optimizer")] == "sgd"
    assert params == {"task": "binary-20", "optimizer": "sgd"}  # the bad one is dropped
    assert _names(navigation.setup_address(state, params)) == ["learning_rate"]  # still shown
    state[form.key("optimizer")] = "adam"  # the person's edit: the same address is not re-read
    assert navigation.setup_address(state, params) == []
    assert params == {"task": "binary-20"} and state[form.key("optimizer")] == "adam"
    fresh: dict = {}  # a reload: a new session reads the address again
    form.ensure_state(fresh)
    navigation.setup_address(fresh, Params(task="binary-20", optimizer="sgd"))
    assert fresh[form.key("task")] == "binary-20" and fresh[form.key("optimizer")] == "sgd"


def test_an_address_the_page_wrote_coming_back_late_does_not_undo_later_edits():
    """A rerun the browser sent before the page's newer address reached it carries the
    page's own older address: what the person typed since stays (CI saw warmup 40 and
    epochs 6 come back as 0 and 10), and the address is written again as shown."""
    state: dict = {}
    form.ensure_state(state)
    navigation.setup_address(state, Params(task="regression"))
    state[form.key("epochs")] = 6  # typed: this run writes it
    params = Params(task="regression")
    navigation.setup_address(state, params)
    stale = dict(params)
    state[form.key("learning_rate")] = 0.05  # typed next, while that run was in flight
    late = Params(stale)  # the rerun's address is the one written before the second edit
    navigation.setup_address(state, late)
    assert state[form.key("epochs")] == 6 and state[form.key("learning_rate")] == 0.05
    assert late == {**stale, "learning_rate": "0.05"}
    older = Params(task="regression")  # older still: the address before both edits
    navigation.setup_address(state, older)
    assert state[form.key("epochs")] == 6 and state[form.key("learning_rate")] == 0.05
    link = Params(task="regression", epochs="3")  # a link the page never wrote still wins
    navigation.setup_address(state, link)
    assert state[form.key("epochs")] == 3


def test_a_late_address_does_not_undo_a_run_or_study_picked_since():
    state: dict = {}
    runs = [{"id": i} for i in ("a", "b", "c")]
    navigation.run_selection(state, runs, Params(run="a"))
    navigation.detail_view(state, params := Params(run="a"))
    state["detail_run"] = "b"  # the person picks another run
    navigation.run_selection(state, runs, params)
    navigation.detail_view(state, params)
    assert params["run"] == "b"
    navigation.run_selection(state, runs, late := Params(run="a"))  # the old address, late
    assert state["detail_run"] == "b"
    navigation.detail_view(state, late)
    assert late["run"] == "b"
    navigation.run_selection(state, runs, Params(run="c"))  # a new link still wins
    assert state["detail_run"] == "c"
    studies: dict = {}
    navigation.study_selection(studies, ["s1", "s2"], Params(study="s1"))
    navigation.study_address(studies, Params(study="s1"))
    studies["study_pick"] = "s2"
    navigation.study_address(studies, Params(study="s1"))
    navigation.study_selection(studies, ["s1", "s2"], Params(study="s1"))
    assert studies["study_pick"] == "s2"


def test_an_address_replaces_another_knobs_values():
    state: dict = {}
    form.ensure_state(state)
    state[launch.values_key("batch_size")] = ["8", "16"]
    navigation.setup_address(state, Params(mode="knob", knob="epochs", values="5,10"))
    assert launch.values_key("batch_size") not in state
    assert state[launch.values_key("epochs")] == ["5", "10"]


# ----------------------------------------------------------------------------- property

_KNOWN = sorted(
    {f.name for t in TASKS for f in address.selector_fields(t)}
    | {f.name for f in address.value_fields("regression", address.task_defaults("regression"))}
    | {"task", "mode", "knob", "values", "repeats", "usual_lr", "preset"}
    | {"optimizer.momentum", "schedule.decay_steps", "clipping.value", "loss.price"}
    | {f.name for f in address.search_fields()}
)
_PLAUSIBLE = st.sampled_from(
    [
        *TASKS,
        *address.MODE_SLUGS,
        *plan.KNOBS,
        *SCHEDULES.names(),
        "sgd",
        "adam",
        "true",
        "false",
        "0",
        "1",
        "0.01",
        "1e-3",
        "32",
        "1e9",
        "-1",
        "nan",
        "inf",
        "",
        "0.01,0.1",
        "mae,zz",
        "100, 200",
    ]
)
_WILD = st.text(max_size=300)
_GOOD = [
    *(("task", t) for t in TASKS),
    *(("mode", m) for m in address.MODE_SLUGS),
    ("optimizer", "sgd"),
    ("optimizer", "rmsprop"),
    ("learning_rate", "0.03"),
    ("epochs", "7"),
    ("batch_size", "64"),
    ("schedule", "cosine_decay"),
    ("knob", "learning_rate"),
    ("values", "0.01,0.1"),
    ("repeats", "2"),
    ("data.noise", "0.1"),
    ("search.batch_size", "true"),
    ("search.trials", "12"),
]
_QUERY = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(_KNOWN), st.text(max_size=20)),
        st.one_of(_PLAUSIBLE, _WILD),
        max_size=12,
    ),
    st.lists(st.sampled_from(_GOOD), max_size=6).map(dict),  # links a page wrote
)


def test_any_query_gives_a_state_or_named_notices():
    outcomes: collections.Counter = collections.Counter()

    @fuzz_settings()
    @given(_QUERY)
    def check(query):
        state, notices = address.setup_state(query)
        for n in notices:  # every notice names one of the query's parameters
            assert n.param.strip() and any(
                n.param.startswith(repr(k)) or n.param == k[:60] for k in query
            ), (n, query)
            assert len(n.message) <= 400
        q = address.setup_query(state)  # the state writes an address that reads cleanly
        back, again = address.setup_state(q)
        assert again == [] and address.setup_query(back) == q, (query, q, again)
        launch.build(state)  # and the page can plan it
        outcomes["notices" if notices else "clean"] += 1

    check()
    assert sum(outcomes.values()) == 1000
    assert outcomes["notices"] > 200 and outcomes["clean"] > 100, outcomes


# ----------------------------------------------------------------------------- other pages


def test_the_chart_options_are_the_charts_own():
    assert tuple(charts.X_AXES) == address.X_AXES
    assert address.COMPARE_TABS == navigation.COMPARE_TABS


def test_compare_options_ride_beside_the_selection():
    state: dict = {}
    params = Params(sweep="s", x="update", smooth="0.6", log="true", group="false")
    assert navigation.compare_view(state, params) == []
    assert (state["compare_x"], state["compare_smooth"]) == ("update", 0.6)
    assert state["compare_log"] is True and state["compare_group"] is False
    state["compare_smooth"] = 0.0  # the person: the address follows
    navigation.compare_view(state, params)
    assert params == {"sweep": "s", "x": "update", "log": "true", "group": "false"}
    bad: dict = {}
    params = Params(x="sideways", smooth="5", runs="a")
    assert _names(navigation.compare_view(bad, params)) == ["x", "smooth"]
    assert "compare_x" not in bad and params == {"runs": "a"}


def test_run_detail_keeps_the_run_and_its_tab_in_the_address():
    state: dict = {"detail_run": "r2", "detail_query_applied": "r1"}
    params = Params(run="r1", tab="Predictions")
    navigation.detail_view(state, params)
    assert params == {"run": "r2", "tab": "Predictions"}
    assert state["detail_tabs"] == "Predictions"
    assert _names(navigation.detail_view({}, Params(tab="nope"))) == ["tab"]


def test_the_loss_explorer_round_trips_and_names_what_it_cannot_use():
    state, notices = address.losses_state(
        {"reg": "mse,huber", "delta": "9", "gamma": "2.5", "wrt": "logit", "targets": "1"}
    )
    assert _names(notices) == ["delta"]
    q = address.losses_query(state)
    assert q == {"reg": "mse,huber", "gamma": "2.5", "targets": "1", "wrt": "logit"}
    assert address.losses_query({}) == {}
    fields, _ = address.loss_fields()
    names = {f.name: f for f in fields}
    assert names["reg"].options == lc.REGRESSION and names["cls"].options == lc.CLASSIFICATION


def test_the_schedule_explorer_round_trips_its_curves():
    state, notices = address.schedules_state(
        {
            "schedules": "cosine_decay,piecewise_constant,zz",
            "s1.decay_steps": "500",
            "s2.boundaries": "10,20",
            "s1.lr": "abc",
            "batch_size": "32",
            "log": "true",
        }
    )
    assert _names(notices) == ["schedules", "s1.lr"]
    assert state["sx_ids"] == [0, 1] and state["sx1"] == "piecewise_constant"
    q = address.schedules_query(state)
    assert q == {
        "schedules": "cosine_decay,piecewise_constant",
        "s1.decay_steps": "500",
        "s2.boundaries": "10, 20",
        "batch_size": "32",
        "log": "true",
    }
    assert address.schedules_state(q)[1] == []
    fresh, _ = address.schedules_state({})
    assert address.schedules_query(fresh) == {} and list(sx.START) == [
        fresh["sx0"],
        fresh["sx1"],
    ]
