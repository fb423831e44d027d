"""engine/store/reads.py, export.py and edits.py through the RunStore facade: listing,
exporting, edits, deletion and the integrity check after a busy life."""

import csv
import io
import json
import math

import pytest
from store_helpers import (
    CONFIG,
    EXTRAS,
    METRIC_KEYS,
    epoch_record,
    info,
    result,
    run_in_state,
    table_counts,
    update_columns,
)

from engine.store import IllegalTransition, RunStore
from engine.store import db as store_db

NAN, INF = float("nan"), float("inf")


# ------------------------------------------------------------------ list / export


def test_list_runs_filters(store):
    a = store.create_runs([CONFIG], sweep_id="s", tags=["baseline"])[0]
    b = store.create_runs([dict(CONFIG, task="regression")], tags=["x", "baseline"])[0]
    c = run_in_state(store, "running")
    assert [r["id"] for r in store.list_runs()] == [a, b, c]
    assert [r["id"] for r in store.list_runs(status="running")] == [c]
    assert [r["id"] for r in store.list_runs(status=["queued", "running"])] == [a, b, c]
    assert [r["id"] for r in store.list_runs(sweep_id="s")] == [a]
    assert [r["id"] for r in store.list_runs(task="regression")] == [b]
    assert [r["id"] for r in store.list_runs(tag="baseline")] == [a, b]
    assert [r["id"] for r in store.list_runs(tag="x", task="regression")] == [b]
    assert store.list_runs(tag="base") == []
    with pytest.raises(ValueError, match="status"):
        store.list_runs(status="paused")


def test_list_runs_query_count_does_not_grow_with_runs(tmp_path, monkeypatch):
    statements: list[str] = []
    real_connect = store_db._connect

    def traced(path, **kw):
        conn = real_connect(path, **kw)
        conn.set_trace_callback(statements.append)
        return conn

    store = RunStore(tmp_path / "runs.db")

    def fill(n_runs, n_epochs):
        ids = store.create_runs([CONFIG] * n_runs)
        for run_id in ids:
            store.claim(run_id, "w")
            store.append_epochs(run_id, [epoch_record(e) for e in range(1, n_epochs + 1)])
        return ids

    def count_list():
        monkeypatch.setattr(store_db, "_connect", traced)
        fresh = RunStore(store.path)  # its first call opens a (traced) connection
        statements.clear()
        rows = fresh.list_runs()
        monkeypatch.setattr(store_db, "_connect", real_connect)
        return len(rows), len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    fill(2, 30)
    n_small, selects_small = count_list()
    fill(198, 30)
    n_big, selects_big = count_list()
    assert (n_small, n_big) == (2, 200)
    assert selects_big == selects_small <= 2
    rows = store.list_runs()
    assert all(r["epochs_done"] == 30 and r["best"]["loss"] == 1 / 30 for r in rows)


def test_export_csv(store):
    run_id = run_in_state(store, "running")
    store.rename(run_id, "adam, fast")  # a comma must survive quoting
    store.append_epoch(run_id, epoch_record(1, loss=NAN))
    store.append_epoch(run_id, epoch_record(2))
    store.append_updates(run_id, update_columns(1, 3, loss=[0.5, INF, 0.25]))
    other = run_in_state(store, "running")
    store.append_epoch(other, epoch_record(1))
    text = store.export_csv([run_id, other])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == ["run_id", "run_name", "series", "x_kind", "x", "value"]
    assert "config.task" in rows[0]  # then the config's dotted paths
    rows = [r[:6] for r in rows]
    body = rows[1:]
    mine = [r for r in body if r[0] == run_id]
    n_keys = len(METRIC_KEYS) + len(EXTRAS)
    assert len(mine) == 2 * n_keys + 3 * 4
    assert len(body) == len(mine) + n_keys
    assert {r[1] for r in mine} == {"adam, fast"}
    assert [run_id, "adam, fast", "loss", "epoch", "1", "nan"] in mine
    assert [run_id, "adam, fast", "loss", "epoch", "2", "0.5"] in mine
    assert [run_id, "adam, fast", "loss", "update", "2", "inf"] in mine
    assert [run_id, "adam, fast", "lr", "update", "3", "0.001"] in mine
    assert [run_id, "adam, fast", "clipped", "update", "1", "0"] in mine
    assert {r[3] for r in body} == {"epoch", "update"}
    assert {r[2] for r in mine if r[3] == "update"} == {"loss", "lr", "grad_norm", "clipped"}
    for r in body:
        float(r[5])  # every value parses as a float (nan/inf included)


def test_export_json(store):
    run_id = run_in_state(store, "running")
    store.record_start(run_id, info())
    store.append_epoch(run_id, epoch_record(1, val_loss=NAN))
    store.append_updates(run_id, update_columns(1, 5))
    store.finish(run_id, result())
    data = store.export_json([run_id])
    assert data["format"] == "hplab-runs"
    (run,) = data["runs"]
    assert run["id"] == run_id and run["config"] == CONFIG and run["info"] == info()
    assert math.isnan(run["epochs"]["val_loss"]["value"][0])
    assert run["updates"]["update"] == [1, 2, 3, 4, 5]
    assert run["test"] == {"accuracy": 0.9, "loss": 0.3}
    assert run["predictions"] == result()["predictions"]
    back = json.loads(json.dumps(data))
    assert back["runs"][0]["config"] == CONFIG


# ------------------------------------------------------------------ edits / delete


def test_edits_and_their_validation(store):
    run_id = run_in_state(store, "completed")
    store.rename(run_id, "  best so far  ")
    store.set_tags(run_id, ["a", "b", "a", " c "])
    store.set_notes(run_id, "line one\nline two\twith tab")
    store.set_diagnosis(run_id, {"label": "overfitting", "from_epoch": 7, "score": NAN})
    run = store.get_run(run_id)
    assert run["name"] == "best so far"
    assert run["tags"] == ["a", "b", "c"]
    assert run["notes"] == "line one\nline two\twith tab"
    assert run["diagnosis"]["label"] == "overfitting"
    assert math.isnan(run["diagnosis"]["score"])
    for call, field in (
        (lambda: store.rename(run_id, "x" * 201), "name"),
        (lambda: store.rename(run_id, ""), "name"),
        (lambda: store.rename(run_id, 42), "name"),
        (lambda: store.set_notes(run_id, "n" * 10_001), "notes"),
        (lambda: store.set_notes(run_id, "bell\x07"), "notes"),
        (lambda: store.set_tags(run_id, [f"t{i}" for i in range(51)]), "tags"),
        (lambda: store.set_tags(run_id, ["ok", ""]), "tags[1]"),
        (lambda: store.set_tags(run_id, ["y" * 51]), "tags[0]"),
        (lambda: store.set_diagnosis(run_id, ["not", "a", "dict"]), "diagnosis"),
        (lambda: store.set_diagnosis(run_id, {"f": object()}), "diagnosis"),
    ):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value).startswith(field)
    assert store.get_run(run_id) == run
    store.set_diagnosis(run_id, None)
    assert store.get_run(run_id)["diagnosis"] is None


def test_delete_cascades_and_refuses_running(store):
    done = run_in_state(store, "running")
    store.record_start(done, info())
    store.append_epoch(done, epoch_record(1))
    store.append_updates(done, update_columns(1, 10))
    store.finish(done, result())
    keep = run_in_state(store, "running")
    store.append_epoch(keep, epoch_record(1))
    queued = run_in_state(store, "queued")
    before = table_counts(store.path, done)
    assert all(before[t] > 0 for t in before)

    with pytest.raises(IllegalTransition, match=f"{keep}.*cancel"):
        store.delete_runs([done, keep])
    assert table_counts(store.path, done) == before  # all or nothing

    assert store.delete_runs([done, queued]) == 2
    assert set(table_counts(store.path, done).values()) == {0}
    assert [r["id"] for r in store.list_runs()] == [keep]
    with pytest.raises(KeyError, match=done):
        store.get_run(done)
    assert store.delete_runs([]) == 0

    store.request_cancel(keep)
    with pytest.raises(IllegalTransition):
        store.delete_runs(keep)  # flagged but its worker has not stopped yet
    store.finish(keep, result(status="cancelled"))
    assert store.delete_runs(keep) == 1
    assert set(table_counts(store.path).values()) == {0}
    assert store.integrity_check() == "ok"


def test_integrity_check_after_a_busy_life(store):
    ids = store.create_runs([CONFIG] * 6, sweep_id="s")
    for i, run_id in enumerate(ids[:4]):
        store.claim(run_id, "w")
        store.record_start(run_id, info())
        for e in range(1, 4):
            store.append_updates(run_id, update_columns((e - 1) * 25 + 1, 25, epoch=e))
            store.append_epoch(run_id, epoch_record(e, loss=NAN if i == 1 and e == 3 else None))
        status = ["completed", "diverged", "failed", "cancelled"][i]
        store.finish(run_id, result(status=status, error="x" if status == "failed" else None))
    store.request_cancel(ids[4])
    store.claim(ids[5], "w")
    store.recover_interrupted()
    store.delete_runs(ids[:2])
    assert store.integrity_check() == "ok"
    assert [r["status"] for r in store.list_runs()] == [
        "failed",
        "cancelled",
        "cancelled",
        "interrupted",
    ]
