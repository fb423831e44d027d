"""The study view, headless through ``app.py``, on studies really searched and trained
(``tests/search/tiny_study.py``: six real trials, some completed, one pruned, two
diverged) and on studies with no, one and zero finished trials."""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import pytest
from ui_helpers import all_text, app_store, chart_titles, open_app, plotly_spec

from engine.search import study as study_mod
from engine.store import RunStore
from tests.search import tiny_study
from ui import navigation, study_view

PAGE = "pages/study.py"
SID = "sw-tinystudy"
ONE = "sw-onetrial"
WAITING = "sw-waiting0"


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """One store: the tiny study trained to the end, a one-trial study trained, and a
    study whose first trial is queued and nobody serves."""
    path = tmp_path_factory.mktemp("studyview") / "hplab.db"
    store = RunStore(path)
    tiny_study.queue(store, SID)
    one = {
        **tiny_study.SWEEP,
        "space": {"learning_rate": {"choice": [0.01, 0.02]}},
        "search": {**tiny_study.SWEEP["search"], "trials": 1},
    }
    tiny_study.queue(store, ONE, one)
    tiny_study.train(path, SID)
    tiny_study.train(path, ONE)
    tiny_study.queue(store, WAITING)
    return path


@pytest.fixture
def store(studies, monkeypatch) -> RunStore:
    return app_store(studies, monkeypatch)


def test_the_tiny_study_really_pruned_and_diverged(store):
    statuses = sorted(r["status"] for r in store.list_runs(sweep_id=SID))
    assert statuses.count("completed") >= 2, statuses
    assert "pruned" in statuses and "diverged" in statuses, statuses


def test_no_studies_says_so(store_path):
    at = open_app(PAGE)
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Study"]
    assert "No studies yet" in all_text(at) and "engine sweep" in all_text(at)
    assert not at.get("plotly_chart")


def test_no_studies_among_plain_runs_says_so(filled):
    at = open_app(PAGE)
    assert not at.exception
    assert "No studies yet" in all_text(at)


def test_a_finished_study_shows_every_figure_and_its_best_trial(store):
    at = open_app(PAGE, study_pick=SID)
    assert not at.exception, [e.message for e in at.exception]
    titles = chart_titles(at)
    for head in ("Optimization history", "Parameter importances", "Intermediate values"):
        assert any(t and t.startswith(head) for t in titles), titles
    assert any(t and t.startswith("Slice") for t in titles)
    assert any(t and t.startswith("Contour") for t in titles)
    text = all_text(at)
    assert "Study still running" not in text
    runs = store.list_runs(sweep_id=SID)
    best = min((r for r in runs if r["status"] == "completed"), key=lambda r: r["best"]["val_loss"])
    number = study_mod.load(store, SID).trials[best["id"]].number
    assert (
        f"**Best trial #{number}** · val_loss **{study_view.fmt_num(best['best']['val_loss'])}**"
        in text
    )
    pruned = [r for r in runs if r["status"] == "pruned"]
    saved = sum(3 - r["epochs_done"] for r in pruned)
    assert f"**{len(pruned)}** pruned" in text and f"**{saved}** epochs saved" in text


def test_pruned_and_diverged_trials_are_marked_never_plotted_as_values(store):
    at = open_app(PAGE, study_pick=SID)
    runs = {r["id"]: r for r in store.list_runs(sweep_id=SID)}
    rec = study_mod.load(store, SID)
    number = {rid: t.number for rid, t in rec.trials.items()}
    completed = {number[i] for i, r in runs.items() if r["status"] == "completed"}

    hist = plotly_spec(at, "Optimization history")
    traces = hist["data"]
    values = [t for t in traces if t.get("mode") == "markers" and t.get("yaxis", "y") == "y"]
    assert values and all(set(t["x"]) <= completed for t in values)  # values: completed only
    lanes = {t["name"]: t for t in traces if t.get("yaxis") == "y2"}
    for status in ("pruned", "diverged"):
        ids = [i for i, r in runs.items() if r["status"] == status]
        assert sorted(lanes[status]["customdata"]) == sorted(ids)
        assert sorted(lanes[status]["x"]) == sorted(number[i] for i in ids)

    inter = plotly_spec(at, "Intermediate values")["data"]
    for rid, r in runs.items():
        lines = [t for t in inter if t.get("mode") == "lines+markers" and t["customdata"][0] == rid]
        ends = [t for t in inter if t.get("mode") == "markers" and t["customdata"] == [rid]]
        for t in lines:
            assert all(v is not None and math.isfinite(v) for v in t["y"])
        if r["status"] == "pruned":  # dotted, ended with ✕ at the epoch it was stopped
            (line,) = lines
            assert line["line"]["dash"] == "dot"
            (end,) = ends
            assert end["x"] == [r["result"]["pruned"]["epoch"]]
            assert "pruned at epoch" in end["hovertext"][0]
        if r["status"] == "diverged" and lines:  # red, ended with ✕ at its last finite value
            assert lines[0]["line"]["color"] == study_view.DIVERGED_COLOR
            assert len(ends) == 1
    undrawn = [t for t in runs.values() if t["status"] == "diverged" and t["epochs_done"] <= 1]
    if undrawn:
        assert "Not drawn (no finite value at any epoch)" in all_text(at)


def test_every_trial_point_carries_its_run_so_a_click_opens_its_curves(store):
    data = study_view.load_study(store, SID)
    ids = {t.run_id for t in data.trials}
    for fig in (
        study_view.history_figure(data),
        study_view.slice_figure(data),
        study_view.intermediate_figure(data)[0],
    ):
        marked = [t for t in fig.data if t.customdata is not None]
        assert marked and all(set(t.customdata) <= ids for t in marked)
    # A click (one point) or a box (several) as Streamlit reports it, then the page's
    # next run follows it to Watch & compare showing exactly those runs.
    some = sorted(ids)[:2]
    event = {"selection": {"points": [{"customdata": some[0]}, {"customdata": [some[1]]}]}}
    assert study_view.picked_runs(event) == some
    at = open_app(PAGE, study_pick=SID)
    navigation.open_runs(at.session_state, some)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Watch & compare"]
    assert at.session_state["compare_ids"] == some


def test_the_trial_picker_links_to_the_runs_curves_and_detail(store):
    at = open_app(PAGE, study_pick=SID)
    data = study_view.load_study(store, SID)
    picked = next(s for s in at.selectbox if s.label == "Trial")
    assert picked.value == data.report["best"]["run_id"]  # the best trial first
    pruned = next(t for t in data.trials if t.status == "pruned")
    picked.set_value(pruned.run_id).run()
    assert "pruned at epoch" in all_text(at)
    links = {x.value: x.proto for x in at.get("page_link")}
    curves = parse_qs(links["Open its curves"].query_string)
    assert curves == {"runs": [pruned.run_id]}
    assert parse_qs(links["Run detail"].query_string) == {"run": [pruned.run_id]}
    at.switch_page("pages/run.py")
    at.query_params["run"] = pruned.run_id
    at.run()
    assert [t.value for t in at.title] == ["Run detail"]
    assert at.session_state["detail_run"] == pruned.run_id


def test_one_finished_trial_says_importances_need_two(store):
    at = open_app(PAGE, study_pick=ONE)
    assert not at.exception, [e.message for e in at.exception]
    text = all_text(at)
    assert "parameter importances need at least 2 completed trials; this study has 1" in text
    assert "A contour needs two parameters" in text
    titles = chart_titles(at)
    assert not any(t and t.startswith("Parameter importances") for t in titles)
    assert any(t and t.startswith("Optimization history") for t in titles)


def test_a_study_still_running_refreshes_and_has_no_best_yet(store):
    at = open_app(PAGE)
    assert at.session_state["study_pick"] == WAITING  # the newest study first
    assert not at.exception, [e.message for e in at.exception]
    text = all_text(at)
    assert "Study still running: 0 of 6 trials done" in text
    assert "**Best trial**: none yet" in text and "this study has 0" in text
    assert "The slice plot needs a finished trial" in text
    # The address picks a study once.
    at.query_params["study"] = SID
    at.run()
    assert at.session_state["study_pick"] == SID
    assert "Study still running" not in all_text(at)


@pytest.mark.parametrize("asked", ["doesnotexist", "<b>x</b>", "**bold**"])
def test_an_unknown_study_in_the_address_is_named_not_silently_replaced(store, asked):
    at = open_app("pages/study.py")
    at.query_params["study"] = asked
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (warning,) = [w.value for w in at.warning if w.value.startswith("**study**")]
    assert "in this store; showing" in warning
    assert "<b>" not in warning and "**bold**" not in warning  # shown as typed, inert
