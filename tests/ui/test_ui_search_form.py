"""Set up runs → Search, headless through ``app.py`` on a real store: a bad range is
refused under its field with the engine's field-named sentence and queues nothing; a
valid search stores the study and queues its first trials in the store."""

from __future__ import annotations

import re

import pytest
from ui_helpers import open_app

from engine.store import RunStore
from ui import search_form

TINY = {"setup_task": "regression"}


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "hplab.db"
    monkeypatch.setenv("HPLAB_STORE", str(path))
    monkeypatch.setenv("HPLAB_WORKERS", "0")  # the store is the queue; nobody trains
    return RunStore(path)


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def _search_page(**state):
    at = open_app("pages/setup.py", setup_mode=search_form.MODE, **state)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _launch(at):
    (btn,) = [b for b in at.button if b.key == "search_launch"]
    return btn


@pytest.mark.parametrize("low", ["0", "-1", "", "abc"])
def test_bad_range_is_named_and_launches_nothing(store, low):
    at = _search_page(**{search_form.key("learning_rate", "low"): low})
    errs = _errors(at)
    assert any("space.learning_rate" in e for e in errs), errs
    assert "Traceback" not in "\n".join(errs)
    assert _launch(at).disabled
    # Even asked directly, the launch refuses what the engine's parser refuses.
    s = search_form.build({search_form.key("learning_rate", "low"): low}, {"task": "regression"})
    assert not s.ok and any(f.startswith("space.learning_rate") for f, _ in s.problems)
    with pytest.raises(Exception, match=r"space\.learning_rate"):
        search_form.launch(s, store=store, slots=1)
    assert store.list_runs() == []


def test_range_above_bounds_uses_engine_message(store):
    at = _search_page(**{search_form.key("learning_rate", "high"): "1e9"})
    errs = [e for e in _errors(at) if "space.learning_rate" in e]
    assert errs and ("10" in errs[0]), errs  # the Param's own bound, from the engine
    assert store.list_runs() == []


def test_valid_search_shows_plan_and_queues_runs(store):
    state = {
        search_form.key("optimizer.name", "on"): True,
        search_form.key("optimizer.momentum", "on"): True,
        f"{search_form.K}trials": "3",
        f"{search_form.K}sampler": "random",
    }
    at = _search_page(**state)
    assert not [e for e in _errors(at)], _errors(at)
    info = "\n".join(i.value for i in at.info)
    assert re.search(r"3 trials of up to \d+ epochs,", info), info
    assert "random sampler" in info and "median pruner" in info
    assert "optimizer.momentum" in info and "if optimizer.name = sgd" in info
    assert store.list_runs() == []
    _launch(at).click().run()
    assert not at.exception
    runs = store.list_runs()
    assert runs, "the first trial is queued in the store"
    assert all(r["status"] == "queued" for r in runs)
    (sid,) = {r["study_id"] for r in runs}
    assert sid and any(sid in s.value for s in at.success)


def test_typed_markdown_is_shown_as_typed_in_the_error(store):
    """The engine's message quotes what was typed; ``**bold**`` must not turn bold."""
    at = _search_page(**{search_form.key("learning_rate", "low"): "**bold**"})
    errs = [e for e in _errors(at) if "space.learning_rate" in e]
    assert errs and all(r"\*\*bold\*\*" in e for e in errs), errs
    at = _search_page(**{f"{search_form.K}seed": "**x**"})
    errs = [e for e in _errors(at) if "search.seed" in e]
    assert errs and r"\*\*x\*\*" in errs[0], errs


@pytest.mark.parametrize(("typed", "value"), [("1e9", 1_000_000_000), ("24.0", 24)])
def test_a_whole_number_written_as_a_float_is_that_number(store, typed, value):
    s = search_form.build({f"{search_form.K}seed": typed}, {"task": "regression"})
    assert s.ok, s.problems
    assert s.sweep["search"]["seed"] == value
    bad = search_form.build({f"{search_form.K}trials": "2.5"}, {"task": "regression"})
    assert any(f == "search.trials" for f, _ in bad.problems), bad.problems
