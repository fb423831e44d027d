import csv
import io
import itertools
import json
import math
import sqlite3

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

from engine.store import (
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    RunStore,
    higher_is_better,
)
from engine.store import db as store_db

NAN, INF = float("nan"), float("inf")


# ------------------------------------------------------------------ creation


def test_create_runs_queues_all_in_one_go(store):
    configs = [dict(CONFIG, learning_rate=lr) for lr in (0.1, 0.01, 0.001)]
    ids = store.create_runs(configs, names=["a", "b", "c"], sweep_id="sw1", tags=["cmp", "lr"])
    assert len(set(ids)) == 3
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)
    for run_id, cfg, name in zip(ids, configs, "abc", strict=True):
        run = store.get_run(run_id)
        assert run["status"] == "queued"
        assert run["config"] == cfg
        assert run["name"] == name
        assert run["tags"] == ["cmp", "lr"]
        assert run["sweep_id"] == "sw1"
        assert run["task"] == "binary-20"
        assert run["cancel_requested"] is False
        assert run["started"] is None and run["finished"] is None
        assert run["info"] is None and run["diagnosis"] is None


def test_default_names_are_readable_and_distinct(store):
    ids = store.create_runs([CONFIG, CONFIG])
    names = [store.get_run(i)["name"] for i in ids]
    assert names[0] != names[1]
    assert all(n.startswith("binary-20 adam lr=0.001") for n in names)
    (bare,) = store.create_runs([{}])
    assert store.get_run(bare)["name"] == f"run {bare}"


def test_config_round_trips_exactly(store):
    cfg = {
        "task": "multiclass-10",
        "optimizer": {"name": "adamw", "weight_decay": 1e-4},
        "schedule": {"name": "cosine_decay", "decay_steps": 2000, "alpha": 1e-5},
        "clipping": None,
        "metrics": ["accuracy", "top_k_categorical_accuracy"],
        "callbacks": {"early_stopping": {"patience": 5, "restore_best_weights": True}},
        "seed": 42,
    }
    (run_id,) = store.create_runs([cfg])
    assert store.get_run(run_id)["config"] == cfg
    assert store.claim_next("w") == (run_id, cfg)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"names": ["only one"]}, "names"),
        ({"names": ["ok", "x" * 201]}, "names[1]"),
        ({"names": ["ok", "two\nlines"]}, "names[1]"),
        ({"names": ["ok", "   "]}, "names[1]"),
        ({"tags": ["t"] * 0 + [f"t{i}" for i in range(51)]}, "tags"),
        ({"tags": ["x" * 51]}, "tags[0]"),
        ({"tags": "not-a-list"}, "tags"),
        ({"sweep_id": ""}, "sweep_id"),
    ],
)
def test_create_runs_validates_and_writes_nothing(store, kwargs, field):
    with pytest.raises(ValueError) as info_:
        store.create_runs([CONFIG, CONFIG], **kwargs)
    assert str(info_.value).startswith(field)
    assert store.list_runs() == []


def test_unserialisable_config_writes_nothing(store):
    with pytest.raises(ValueError, match=r"configs\[1\]"):
        store.create_runs([CONFIG, {"task": object()}])
    with pytest.raises(ValueError, match=r"configs\[0\]"):
        store.create_runs(["not a dict"])
    assert store.list_runs() == []
    assert store.create_runs([]) == []


# ------------------------------------------------------------------ status machine


ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition(store, src, dst):
    run_id = run_in_state(store, src)
    before = store.get_run(run_id)
    assert before["status"] == src
    legal = (src, dst) in {
        ("queued", "running"),
        ("queued", "cancelled"),
        *(("running", t) for t in TERMINAL),
    }
    assert legal == (dst in TRANSITIONS[src])
    if legal:
        store.set_status(run_id, dst, error="boom" if dst == "failed" else None)
        after = store.get_run(run_id)
        assert after["status"] == dst
        if dst == "running":
            assert after["started"] is not None
        else:
            assert after["finished"] is not None
        if dst == "failed":
            assert after["error"] == "boom"
    else:
        with pytest.raises(IllegalTransition) as e:
            store.set_status(run_id, dst, error="nope")
        assert run_id in str(e.value) and src in str(e.value)
        assert store.get_run(run_id) == before  # nothing written


def test_terminal_states_accept_no_data(store):
    for status in TERMINAL:
        run_id = run_in_state(store, status)
        with pytest.raises(IllegalTransition):
            store.append_epoch(run_id, epoch_record(1))
        with pytest.raises(IllegalTransition):
            store.append_updates(run_id, update_columns(1, 3))
        with pytest.raises(IllegalTransition):
            store.record_start(run_id, info())
        with pytest.raises(IllegalTransition):
            store.finish(run_id, result())
        assert table_counts(store.path, run_id) == {
            "runs": 1,
            "epoch_values": 0,
            "run_summary": 0,
            "updates": 0,
            "test_metrics": 0,
            "predictions": 0,
        }


def test_queued_run_cannot_take_data_or_finish(store):
    run_id = run_in_state(store, "queued")
    with pytest.raises(IllegalTransition, match="queued"):
        store.append_epoch(run_id, epoch_record(1))
    with pytest.raises(IllegalTransition, match="queued"):
        store.finish(run_id, result())
    assert store.get_run(run_id)["status"] == "queued"


def test_unknown_status_and_unknown_run(store):
    run_id = run_in_state(store, "queued")
    with pytest.raises(ValueError, match="status"):
        store.set_status(run_id, "paused")
    for call in (
        lambda: store.set_status("nosuchrun", "running"),
        lambda: store.get_run("nosuchrun"),
        lambda: store.claim("nosuchrun", "w"),
        lambda: store.cancel_requested("nosuchrun"),
        lambda: store.request_cancel("nosuchrun"),
        lambda: store.heartbeat("nosuchrun"),
        lambda: store.append_epoch("nosuchrun", epoch_record(1)),
        lambda: store.finish("nosuchrun", result()),
        lambda: store.rename("nosuchrun", "x"),
        lambda: store.epoch_series([run_id, "nosuchrun"]),
        lambda: store.update_series("nosuchrun"),
        lambda: store.test_metrics("nosuchrun"),
        lambda: store.predictions("nosuchrun"),
        lambda: store.export_csv(["nosuchrun"]),
        lambda: store.delete_runs([run_id, "nosuchrun"]),
    ):
        with pytest.raises(KeyError, match="nosuchrun"):
            call()
    assert store.get_run(run_id)["status"] == "queued"  # the failed delete removed nothing


def test_finish_requires_terminal_status(store):
    run_id = run_in_state(store, "running")
    for bad in ("running", "queued", None, "done"):
        with pytest.raises(ValueError, match=r"result\.status"):
            store.finish(run_id, result(status=bad))
    assert store.get_run(run_id)["status"] == "running"


# ------------------------------------------------------------------ claiming


def test_claim_next_is_fifo_and_records_the_worker(store):
    first = store.create_runs([dict(CONFIG, seed=1), dict(CONFIG, seed=2)])
    second = store.create_runs([dict(CONFIG, seed=3)])
    order = [*first, *second]
    got = []
    while (claimed := store.claim_next(f"w{len(got)}")) is not None:
        got.append(claimed)
    assert [g[0] for g in got] == order
    assert [g[1]["seed"] for g in got] == [1, 2, 3]
    for i, (run_id, _) in enumerate(got):
        run = store.get_run(run_id)
        assert run["status"] == "running" and run["worker_id"] == f"w{i}"
        assert run["heartbeat"] is not None
    assert store.claim_next("w") is None


def test_claim_next_skips_cancelled_and_specific_claim(store):
    a, b, c = store.create_runs([CONFIG] * 3)
    store.request_cancel(a)
    assert store.claim(c, "ray-1") == CONFIG
    assert store.claim(c, "ray-2") is None  # already taken: never two owners
    assert store.get_run(c)["worker_id"] == "ray-1"
    assert store.claim(a, "ray-3") is None  # cancelled
    assert store.claim_next("w")[0] == b
    assert store.claim_next("w") is None
    with pytest.raises(ValueError, match="worker_id"):
        store.claim_next("")


# ------------------------------------------------------------------ cancel / recover


def test_cancel_queued_vs_running(store):
    queued = run_in_state(store, "queued")
    running = run_in_state(store, "running")
    assert store.request_cancel(queued) == 1
    q = store.get_run(queued)
    assert q["status"] == "cancelled" and q["finished"] is not None
    assert store.request_cancel(running) == 1
    r = store.get_run(running)
    assert r["status"] == "running" and r["cancel_requested"] is True
    assert store.cancel_requested(running) is True
    assert store.request_cancel(running) == 0  # already flagged
    assert store.request_cancel(queued) == 0  # already cancelled
    # the worker notices, stops and reports; partial curves stay
    store.append_epoch(running, epoch_record(1))
    store.finish(running, result(status="cancelled", test={}, predictions=None))
    assert store.get_run(running)["status"] == "cancelled"
    assert store.epoch_series(running)[running]["loss"]["value"] == [1.0]


def test_cancel_by_sweep_and_all(store):
    sweep = store.create_runs([CONFIG] * 3, sweep_id="s1")
    other = store.create_runs([CONFIG] * 2, sweep_id="s2")
    store.claim(sweep[0], "w")
    done = run_in_state(store, "completed")
    assert store.request_cancel(sweep_id="s1") == 3
    assert [store.get_run(i)["status"] for i in sweep] == ["running", "cancelled", "cancelled"]
    assert all(store.get_run(i)["status"] == "queued" for i in other)
    assert store.request_cancel(all=True) == 2
    assert all(store.get_run(i)["status"] == "cancelled" for i in other)
    assert store.get_run(done)["status"] == "completed"
    assert store.get_run(done)["cancel_requested"] is False
    for bad in ({}, {"run_id": sweep[0], "all": True}, {"sweep_id": "s1", "all": True}):
        with pytest.raises(ValueError, match="exactly one"):
            store.request_cancel(**bad)


def test_recover_interrupted(store):
    running = [run_in_state(store, "running") for _ in range(2)]
    queued = run_in_state(store, "queued")
    done = run_in_state(store, "completed")
    assert sorted(store.recover_interrupted()) == sorted(running)
    for r in running:
        run = store.get_run(r)
        assert run["status"] == "interrupted"
        assert "interrupted" in run["error"] and run["finished"] is not None
    assert store.get_run(queued)["status"] == "queued"
    assert store.get_run(done)["status"] == "completed"
    assert store.recover_interrupted() == []
    assert store.claim_next("new-pool")[0] == queued  # queued work resumes


def test_recover_interrupted_only_stale(store):
    fresh = run_in_state(store, "running")
    stale = run_in_state(store, "running")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET heartbeat = heartbeat - 3600 WHERE id = ?", (stale,))
    assert store.recover_interrupted(stale_after=600) == [stale]
    assert store.get_run(fresh)["status"] == "running"
    store.heartbeat(fresh)
    assert store.get_run(fresh)["heartbeat"] >= store.get_run(fresh)["started"]
    with pytest.raises(IllegalTransition, match="interrupted"):
        store.heartbeat(stale)  # the zombie worker learns it should stop


def test_fail_run(store):
    run_id = run_in_state(store, "running")
    store.fail_run(run_id, "worker process exited with code -9 (out of memory?)")
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "-9" in run["error"]
    with pytest.raises(IllegalTransition):
        store.fail_run(run_id, "again")


# ------------------------------------------------------------------ series


def test_non_finite_values_round_trip_everywhere(store):
    run_id = run_in_state(store, "running")
    store.record_start(run_id, info())
    store.append_epoch(run_id, epoch_record(1, loss=2.0, val_loss=INF, acc=-INF))
    store.append_epoch(run_id, epoch_record(2, loss=NAN, val_loss=NAN, acc=0.5, extra=None))
    store.append_updates(
        run_id, update_columns(1, 4, loss=[1.0, INF, -INF, NAN]) | {"grad_norm": [NAN] * 4}
    )
    store.finish(
        run_id,
        result(status="diverged", diverged_at=2, test={"loss": NAN, "mae": INF, "acc": 0.25}),
    )
    s = store.epoch_series(run_id)[run_id]
    assert s["loss"]["value"][0] == 2.0 and math.isnan(s["loss"]["value"][1])
    assert s["val_loss"]["value"][0] == INF and math.isnan(s["val_loss"]["value"][1])
    assert s["accuracy"]["value"] == [-INF, 0.5]
    assert s["extra"] == {"epoch": [2], "value": [None]}
    u = store.update_series(run_id)
    assert u["loss"][:3] == [1.0, INF, -INF] and math.isnan(u["loss"][3])
    assert all(math.isnan(g) for g in u["grad_norm"])
    t = store.test_metrics(run_id)
    assert math.isnan(t["loss"]) and t["mae"] == INF and t["acc"] == 0.25
    (row,) = store.list_runs()
    assert math.isnan(row["last"]["loss"])
    assert row["best"]["loss"] == 2.0  # best ignores NaN
    assert row["best"]["accuracy"] == 0.5  # and -inf
    assert row["status"] == "diverged" and row["result"]["diverged_at"] == 2
    assert store.integrity_check() == "ok"


def test_update_downsampling_keeps_ends_and_non_finite(store):
    run_id = run_in_state(store, "running")
    n = 10_000
    bad = {1, 2, 777, 5003, 9999}
    for start in range(1, n + 1, 500):
        cols = update_columns(start, 500)
        for i, u in enumerate(cols["update"]):
            if u == 777:
                cols["loss"][i] = NAN
            elif u == 5003:
                cols["grad_norm"][i] = INF
            elif u in (2, 9999):
                cols["lr"][i] = NAN
        store.append_updates(run_id, cols)
    full = store.update_series(run_id, max_points=None)
    assert full["update"] == list(range(1, n + 1))
    thin = store.update_series(run_id, max_points=200)
    ups = thin["update"]
    assert ups[0] == 1 and ups[-1] == n
    assert bad <= set(ups)
    assert ups == sorted(ups)
    assert 195 <= len(ups) <= 200 + len(bad)
    regular = [u for u in ups if u not in bad]
    gaps = {b - a for a, b in itertools.pairwise(regular)}
    assert max(gaps) <= math.ceil((n - 1) / 199)  # evenly strided, no hole
    i = ups.index(777)
    assert math.isnan(thin["loss"][i]) and thin["epoch"][i] == 1
    assert thin["grad_norm"][ups.index(5003)] == INF
    assert len(store.update_series(run_id, max_points=n)["update"]) == n
    with pytest.raises(ValueError, match="max_points"):
        store.update_series(run_id, max_points=1)


def test_epoch_series_filter_and_downsample(store):
    run_id = run_in_state(store, "running")
    for e in range(1, 101):
        store.append_epoch(run_id, epoch_record(e, val_loss=NAN if e == 50 else None))
    other = run_in_state(store, "queued")
    s = store.epoch_series([run_id, other], keys=["loss", "val_loss"], max_points=10)
    assert set(s) == {run_id, other} and s[other] == {}
    assert set(s[run_id]) == {"loss", "val_loss"}
    ep = s[run_id]["val_loss"]["epoch"]
    assert ep[0] == 1 and ep[-1] == 100 and 50 in ep and len(ep) <= 12
    full = store.epoch_series(run_id, max_points=None)[run_id]
    assert set(full) == set(METRIC_KEYS) | set(EXTRAS)
    assert full["loss"]["epoch"] == list(range(1, 101))
    assert full["updates"]["value"][-1] == 2500
    assert store.get_run(run_id)["epochs_done"] == 100


def test_best_and_last_per_key(store):
    run_id = run_in_state(store, "running")
    losses = [0.9, 0.4, 0.6]
    accs = [0.7, 0.95, 0.8]
    for e, (lo, ac) in enumerate(zip(losses, accs, strict=True), 1):
        store.append_epoch(run_id, epoch_record(e, loss=lo, acc=ac, val_auc=0.5 + e / 10))
    (row,) = store.list_runs()
    assert row["last"]["loss"] == 0.6 and row["best"]["loss"] == 0.4
    assert row["best_epoch"]["loss"] == 2
    assert row["last"]["accuracy"] == 0.8 and row["best"]["accuracy"] == 0.95
    assert row["best"]["val_auc"] == pytest.approx(0.8) and row["best_epoch"]["val_auc"] == 3
    assert row["last"]["lr"] == pytest.approx(0.001 / 3)
    assert "lr" not in row["best"] and "wall_time" not in row["best"]
    assert row["epochs_done"] == 3
    # a re-sent epoch replaces the old value and the summary follows
    store.append_epoch(run_id, epoch_record(2, loss=0.95, acc=0.1))
    (row,) = store.list_runs()
    assert row["best"]["loss"] == 0.6 and row["best_epoch"]["loss"] == 3
    assert row["best"]["accuracy"] == 0.8
    assert store.epoch_series(run_id, keys="loss")[run_id]["loss"]["value"] == [0.9, 0.95, 0.6]


@pytest.mark.parametrize(
    ("key", "up"),
    [
        ("loss", False),
        ("val_loss", False),
        ("mae", False),
        ("val_mse", False),
        ("price_mae", False),
        ("accuracy", True),
        ("val_accuracy", True),
        ("category_accuracy", True),
        ("auc", True),
        ("val_precision", True),
        ("recall", True),
        ("f1_score", True),
        ("top_k_categorical_accuracy", True),
        ("top3", True),
        ("focal_loss", False),
    ],
)
def test_metric_direction(key, up):
    assert higher_is_better(key) is up


def test_bad_records_are_rejected_before_writing(store):
    run_id = run_in_state(store, "running")
    with pytest.raises(ValueError, match="epoch"):
        store.append_epoch(run_id, {"values": {"loss": 1.0}})
    with pytest.raises(ValueError, match=r"values\.loss"):
        store.append_epoch(run_id, {"epoch": 1, "values": {"loss": "high"}})
    cols = update_columns(1, 3)
    with pytest.raises(ValueError, match=r"columns\.lr"):
        store.append_updates(run_id, cols | {"lr": [0.1]})
    with pytest.raises(ValueError, match="update"):
        store.append_updates(run_id, {"loss": [1.0]})
    with pytest.raises(ValueError, match="unknown"):
        store.append_updates(run_id, cols | {"momentum": [0.9] * 3})
    assert table_counts(store.path, run_id)["epoch_values"] == 0
    assert table_counts(store.path, run_id)["updates"] == 0


def test_partial_update_columns(store):
    run_id = run_in_state(store, "running")
    store.append_updates(run_id, {"update": [1, 2], "loss": [0.5, 0.25]})
    u = store.update_series(run_id)
    assert u == {
        "update": [1, 2],
        "epoch": [None, None],
        "loss": [0.5, 0.25],
        "lr": [None, None],
        "grad_norm": [None, None],
        "clipped": [None, None],
    }


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
