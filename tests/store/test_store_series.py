"""engine/store/series.py: epoch and per-update writes, the summary, downsampled reads."""

import itertools
import math

import pytest
from store_helpers import (
    EXTRAS,
    METRIC_KEYS,
    epoch_record,
    info,
    result,
    run_in_state,
    table_counts,
    update_columns,
)

from engine.store import higher_is_better

NAN, INF = float("nan"), float("inf")


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
