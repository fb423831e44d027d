"""The store's reads return typed, immutable entities that still read like the dicts
every caller was written against (``run["config"]``, ``dict(run)``, ``==`` a dict)."""

import dataclasses
import json
import math
import pickle
import sqlite3

import pytest
from store_helpers import CONFIG, epoch_record, info, run_in_state, update_columns

from engine.store import Run, Series, Updates
from engine.store.schema import UPDATE_COLUMNS


def test_a_run_has_one_field_per_column_of_the_runs_table(store):
    with sqlite3.connect(store.path) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    fields = [f.name for f in dataclasses.fields(Run)]
    assert fields[: len(columns) - 1] == [c for c in columns if c != "seq"]
    assert fields[len(columns) - 1 :] == ["last", "best", "best_epoch"]


def test_get_run_is_a_typed_frozen_run_that_reads_like_its_dict(store):
    run_id = store.create_run(CONFIG, name="first", tags=["a"])
    run = store.get_run(run_id)
    assert isinstance(run, Run)
    assert (run.id, run.name, run.status, run.tags) == (run_id, "first", "queued", ["a"])
    assert run["config"] is run.config and run.get("finished") is None
    assert run.cancel_requested is False and run["cancel_requested"] is False
    # read alone, a run has no summary keys (as the dict had none)
    assert "last" not in run and run.get("last", {}) == {}
    with pytest.raises(KeyError):
        run["last"]
    with pytest.raises(KeyError):
        run["no such column"]
    as_dict = dict(run)
    assert run == as_dict and as_dict == run and run.to_dict() == as_dict
    assert len(run) == len(as_dict) == len(dataclasses.fields(Run)) - 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.status = "completed"
    with pytest.raises(TypeError):
        run["status"] = "completed"
    assert pickle.loads(pickle.dumps(run)) == run  # Streamlit caches and Ray ship it
    assert json.loads(json.dumps(run.to_dict()))["name"] == "first"


def test_list_runs_carries_last_best_and_best_epoch(store):
    run_id = run_in_state(store, "running")
    store.record_start(run_id, info())
    store.append_epochs(run_id, [epoch_record(1), epoch_record(2, loss=3.0)])
    (run,) = store.list_runs()
    assert isinstance(run, Run)
    assert run.last["loss"] == run["last"]["loss"] == 3.0
    assert run.best["loss"] == 1.0 and run.best_epoch["loss"] == 1
    assert {"last", "best", "best_epoch"} <= set(run)
    assert store.get_run(run_id) != run  # the summary keys tell them apart


def test_epoch_series_are_series_that_read_like_their_dict(store):
    run_id = run_in_state(store, "running")
    store.append_epochs(run_id, [epoch_record(1), epoch_record(2, loss=math.nan)])
    loss = store.epoch_series(run_id)[run_id]["loss"]
    assert isinstance(loss, Series)
    assert loss.epoch == loss["epoch"] == [1, 2]
    assert loss.value[0] == 1.0 and math.isnan(loss["value"][1])
    assert set(loss) == {"epoch", "value"} and len(loss) == 2
    assert store.epoch_series(run_id)[run_id]["val_loss"] == {"epoch": [1, 2], "value": [1.1, 0.55]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        loss.epoch = []


def test_update_series_are_updates_that_read_like_their_columns(store):
    run_id = run_in_state(store, "running")
    store.append_updates(run_id, update_columns(1, 3))
    ups = store.update_series(run_id)
    assert isinstance(ups, Updates)
    assert list(ups) == list(UPDATE_COLUMNS)
    assert ups.update == ups["update"] == [1, 2, 3]
    assert ups.loss == [1.0, 0.5, 1.0 / 3] and ups.get("lr") == [0.001] * 3
    assert pickle.loads(pickle.dumps(ups)) == ups.to_dict()  # st.cache_data keeps a copy
    with pytest.raises(dataclasses.FrozenInstanceError):
        ups.loss = []
