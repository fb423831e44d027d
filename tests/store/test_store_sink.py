import math

import pytest
from store_helpers import CONFIG, epoch_record, info, result, run_in_state, update_columns

from engine.records import MemorySink, MultiSink, RunSink
from engine.store import IllegalTransition, StoreSink


def _drive(sink: RunSink, *, epochs=3, per_epoch=25, diverge_at=None):
    """What engine.train does: start, updates in batches, one record per epoch, finish."""
    sink.on_start(info(total_updates=epochs * per_epoch))
    for e in range(1, epochs + 1):
        cols = update_columns((e - 1) * per_epoch + 1, per_epoch, epoch=e)
        if diverge_at is not None:
            cols["loss"] = [
                math.nan if u >= diverge_at else v
                for u, v in zip(cols["update"], cols["loss"], strict=True)
            ]
        for start in range(0, per_epoch, 10):  # batches of up to 10 updates
            sink.on_updates({k: v[start : start + 10] for k, v in cols.items()})
        rec = epoch_record(e, updates_per_epoch=per_epoch)
        if diverge_at is not None and e * per_epoch >= diverge_at:
            rec["values"]["loss"] = math.nan
            rec["values"]["val_loss"] = math.nan
            sink.on_epoch(rec)
            sink.on_finish(
                result(status="diverged", diverged_at=diverge_at, epochs_run=e, best_epoch=1)
            )
            return
        sink.on_epoch(rec)
    sink.on_finish(result(epochs_run=epochs))


def _same_list(a, b):
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) if isinstance(x, float) and math.isnan(x) else x == y
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("diverge_at", [None, 40])
def test_store_sink_matches_memory_sink(store, diverge_at):
    run_id = run_in_state(store, "running")
    memory = MemorySink()
    sink = StoreSink(store, run_id)
    _drive(MultiSink(memory, sink), diverge_at=diverge_at)

    run = store.get_run(run_id)
    assert run["info"] == memory.info
    assert run["status"] == memory.result["status"]
    assert run["finished"] >= run["started"] >= run["created"]
    assert run["result"]["epochs_run"] == memory.result["epochs_run"]
    assert run["result"]["diverged_at"] == diverge_at
    assert run["epochs_done"] == len(memory.epochs)
    assert run["updates_done"] == memory.updates["update"][-1]

    series = store.epoch_series(run_id, max_points=None)[run_id]
    for key, values in memory.history().items():
        assert _same_list(series[key]["value"], values), key
        assert series[key]["epoch"] == list(range(1, len(values) + 1))
    for extra in ("wall_time", "updates"):
        assert series[extra]["value"] == [r[extra] for r in memory.epochs]

    updates = store.update_series(run_id, max_points=None)
    for col, values in memory.updates.items():
        assert _same_list(updates[col], values), col

    assert store.test_metrics(run_id) == memory.result["test"]
    assert store.predictions(run_id) == memory.result["predictions"]
    (row,) = store.list_runs()
    if diverge_at is None:
        assert row["status"] == "completed"
        assert row["best"]["loss"] == pytest.approx(1 / 3)
    else:
        assert row["status"] == "diverged"
        assert math.isnan(row["last"]["loss"])
        assert row["best"]["loss"] == 1.0
        assert any(math.isnan(v) for v in store.update_series(run_id, max_points=5)["loss"])
    assert store.integrity_check() == "ok"


def test_failed_run_keeps_its_error(store):
    run_id = run_in_state(store, "running")
    sink = StoreSink(store, run_id)
    sink.on_start(info())
    sink.on_epoch(epoch_record(1))
    sink.on_finish(result(status="failed", error="ResourceExhaustedError: OOM", test={}))
    run = store.get_run(run_id)
    assert run["status"] == "failed" and run["error"] == "ResourceExhaustedError: OOM"
    assert store.test_metrics(run_id) == {}
    assert store.epoch_series(run_id)[run_id]["loss"]["value"] == [1.0]


def test_cancel_flows_through_the_sink(store):
    run_id = run_in_state(store, "running")
    sink = StoreSink(store, run_id)
    sink.on_start(info())
    sink.on_epoch(epoch_record(1))
    assert sink.cancel_requested() is False
    store.request_cancel(run_id)
    assert sink.cancel_requested() is True
    sink.on_finish(result(status="cancelled", test={}, predictions=None))
    assert store.get_run(run_id)["status"] == "cancelled"
    assert store.predictions(run_id) is None


def test_sink_refuses_a_run_it_does_not_own(store):
    (queued,) = store.create_runs([CONFIG])
    sink = StoreSink(store, queued)
    with pytest.raises(IllegalTransition):
        sink.on_start(info())
    done = run_in_state(store, "completed")
    with pytest.raises(IllegalTransition):
        StoreSink(store, done).on_finish(result())
    with pytest.raises(KeyError):
        StoreSink(store, "gone").on_epoch(epoch_record(1))
