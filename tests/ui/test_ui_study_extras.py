"""What no peer shows, headless through ``app.py`` on real trained searches and a real
grid: the edge warning beside the best trial, the isolation plot of one chosen knob
(pruned and diverged values marked, never drawn as values) and the pruner replay
(which runs a pruner would have stopped, the epochs saved, whether the winner
survives), on the Study page and, for a finished grid, in Watch & compare."""

from __future__ import annotations

import pytest
from ui_helpers import all_text, app_store, chart_titles, open_app, plotly_spec

from engine.search import replay as replay_mod
from engine.search import study as study_mod
from engine.store import RunStore
from tests.search import tiny_study
from ui import edge_view, literal
from ui.widgets import say

PAGE = "pages/study.py"
SID = "sw-tinyextras"
EDGE = "sw-edgestudy"
GRID = "sw-gridextra"
EDGE_SWEEP = {
    **tiny_study.SWEEP,
    "space": {"learning_rate": {"choice": [1e-7, 1e-5, 0.01]}},
    "search": {"sampler": "grid", "trials": 3, "seed": 0},
    "name": "edge",
}
GRID_RATES = [0.01, 3e-7, 2e-7, 1e-7]  # launch order: every later run is worse


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    path = tmp_path_factory.mktemp("studyextras") / "hplab.db"
    store = RunStore(path)
    tiny_study.queue(store, SID)
    tiny_study.queue(store, EDGE, EDGE_SWEEP)
    tiny_study.train(path, SID)
    tiny_study.train(path, EDGE)
    base = tiny_study.SWEEP["base"]
    tiny_study.train_grid(path, [{**base, "learning_rate": lr} for lr in GRID_RATES], GRID)
    return path


@pytest.fixture
def store(stores, monkeypatch) -> RunStore:
    return app_store(stores, monkeypatch)


def _edge_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "edge of the range searched" in w.value]


def test_the_best_trial_at_the_edge_of_its_range_is_warned_in_plain_text(store):
    at = open_app(PAGE, study_pick=EDGE)
    assert not at.exception, [e.message for e in at.exception]
    from engine.search import report as report_mod

    edges = report_mod.report(store, EDGE)["edges"]
    assert [e["param"] for e in edges] == ["learning_rate"] and edges[0]["side"] == "high"
    (warning,) = _edge_warnings(at)
    assert warning == literal.md(edge_view.edge_text(edges))
    assert "extend learning\\_rate above 0.01" in warning  # escaped: shown as typed
    # Inside every range: no warning.
    at = open_app(PAGE, study_pick=SID)
    assert not _edge_warnings(at)


def test_isolation_draws_the_best_per_value_and_marks_values_without_one(store):
    at = open_app(PAGE, study_pick=SID)
    assert not at.exception, [e.message for e in at.exception]
    key = f"study_iso_{SID}_knob"
    assert at.selectbox(key=key).value == "learning_rate"
    fig = plotly_spec(at, "Isolation · best val_loss per learning_rate")
    assert fig["layout"]["xaxis"]["type"] == "log"  # a rate
    runs = store.list_runs(sweep_id=SID)
    rec = study_mod.load(store, SID)
    lr = {rid: t.params["learning_rate"] for rid, t in rec.trials.items()}
    values = [t for t in fig["data"] if t.get("yaxis", "y") == "y"]
    (points,) = values
    done = {}
    for r in runs:
        if r["status"] == "completed":
            v = r["best"]["val_loss"]
            done[lr[r["id"]]] = min(done.get(lr[r["id"]], v), v)
    assert dict(zip(points["x"], points["y"], strict=True)) == pytest.approx(done)
    (marks,) = [t for t in fig["data"] if t.get("yaxis") == "y2"]  # at the axis edge
    no_value = {lr[r["id"]] for r in runs} - set(done)
    assert set(marks["x"]) == no_value and 10.0 in no_value  # SGD at 10 diverged twice
    assert marks["marker"]["symbol"] == "x" and "2 without a value" in marks["text"]
    # Another knob: a linear axis, chosen with the picker.
    at.selectbox(key=key).set_value("batch_size").run()
    assert not at.exception
    fig = plotly_spec(at, "Isolation · best val_loss per batch_size")
    assert fig["layout"]["xaxis"]["type"] == "linear"


def test_pruner_replay_says_what_it_stops_saves_and_whether_the_winner_survives(store):
    at = open_app(PAGE, study_pick=SID)
    assert not at.exception, [e.message for e in at.exception]
    key = f"study_replay_{SID}"
    assert at.selectbox(key=f"{key}_pruner").value == "median"  # the study's own first
    assert at.text_input(key=f"{key}_startup_median").value == "1"  # and its arguments
    rep = replay_mod.replay(store, SID, {"name": "median", "n_startup_trials": 1})
    text = all_text(at)
    assert rep["winner"]["survives"]
    assert f"The eventual winner ({literal.md(rep['winner']['name'])}" in text
    assert "survives — median would not have stopped it" in text
    (metric,) = [m for m in at.metric if m.label == "Epochs saved"]
    assert metric.value == f"{rep['epochs_saved']} ({100 * rep['saved_fraction']:.0f}%)"
    fig = plotly_spec(at, "Pruner replay · median")
    stops = [t for t in fig["data"] if (t.get("marker") or {}).get("symbol") == "x"]
    stopped = {x["run_id"]: x["stopped_at"] for x in rep["runs"] if x["stopped_at"]}
    assert {t["customdata"][0]: t["x"][0] for t in stops} == stopped
    (table,) = [d for d in at.dataframe if "stopped at" in d.value.columns]
    assert len(table.value) == len(rep["runs"])
    assert list(table.value["stopped at"]) == [
        "—" if x["stopped_at"] is None else f"epoch {x['stopped_at']}" for x in rep["runs"]
    ]
    # Another pruner from the registry.
    at.selectbox(key=f"{key}_pruner").set_value("hyperband").run()
    assert not at.exception
    assert plotly_spec(at, "Pruner replay · hyperband")
    assert "Epochs saved" in [m.label for m in at.metric]


def test_a_finished_grid_offers_isolation_and_replay_in_watch_and_compare(store):
    ids = [r["id"] for r in store.list_runs(sweep_id=GRID)]
    at = open_app("pages/compare.py", compare_ids=ids)
    assert not at.exception, [e.message for e in at.exception]
    assert [e.label for e in at.expander if "pruner replay" in e.label] == [
        "Isolation and pruner replay of this grid"
    ]
    key = f"grid_replay_{GRID}"
    at.text_input(key=f"{key}_startup_median").set_value("1").run()
    rep = replay_mod.replay(store, GRID, {"name": "median", "n_startup_trials": 1})
    assert rep["stopped"] == 3 and rep["winner"]["survives"]
    text = all_text(at)
    assert "3 of 4 runs stopped" in text and "survives" in text
    titles = chart_titles(at)
    assert any(t and t.startswith("Isolation · best val_loss per learning_rate") for t in titles)
    assert any(t and t.startswith("Pruner replay · median") for t in titles)
    # A study's runs link to the Study page instead.
    study_ids = [r["id"] for r in store.list_runs(sweep_id=SID)]
    at = open_app("pages/compare.py", compare_ids=study_ids)
    assert not at.exception
    assert not [e for e in at.expander if "pruner replay" in e.label]
    assert "Its study: history, isolation, pruner replay" in [x.value for x in at.get("page_link")]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "must be in [0, 1000], got -1"),
        ("1e9", "must be in [0, 1000], got 1000000000"),
        ("2.5", "must be an integer, got 2.5"),
        ("", "is empty: type a value"),
    ],
)
def test_a_bad_startup_count_is_named_not_clamped(store, typed, message):
    """What was typed is what the replay uses, or the field is named: never 1e9 → 1."""
    ids = [r["id"] for r in store.list_runs(sweep_id=GRID)]
    at = open_app("pages/compare.py", compare_ids=ids)
    key = f"grid_replay_{GRID}"
    at.text_input(key=f"{key}_startup_median").set_value(typed).run()
    assert not at.exception, [e.message for e in at.exception]
    errs = [e.value for e in at.error if "n_startup_trials" in e.value]
    assert errs and (say(message) in errs[0] or message in errs[0]), errs
    assert "Epochs saved" not in [m.label for m in at.metric]  # no replay of another value
