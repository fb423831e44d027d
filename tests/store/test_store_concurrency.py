"""Several processes and threads on one store file, as the dashboard and the pool use it.

Synchronisation is by events, barriers and queues with deadlines, never by sleeping.
"""

import multiprocessing
import threading

import pytest
import store_helpers
from store_helpers import CONFIG, METRIC_KEYS, epoch_record, run_in_state, update_columns

from engine.store import RunStore

CTX = multiprocessing.get_context("spawn")
DEADLINE = 120


def _collect(q, n):
    out = []
    for _ in range(n):
        out.append(q.get(timeout=DEADLINE))
    return out


def _join_all(procs):
    for p in procs:
        p.join(timeout=DEADLINE)
        if p.is_alive():
            p.kill()
            pytest.fail(f"{p.name} did not finish in {DEADLINE} s")
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_processes_claiming_at_once_never_share_a_run(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    ids = store.create_runs([dict(CONFIG, seed=i) for i in range(80)])
    n = 4
    barrier, q = CTX.Barrier(n), CTX.Queue()
    procs = [
        # half get the path, half the pickled RunStore (as a Ray task would)
        CTX.Process(
            target=store_helpers.claim_worker,
            args=(store if i % 2 else str(store.path), f"w{i}", barrier, q),
        )
        for i in range(n)
    ]
    for p in procs:
        p.start()
    results = _collect(q, n)
    _join_all(procs)
    assert [err for _, _, err in results] == [None] * n
    claimed = [run_id for _, got, _ in results for run_id in got]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert set(claimed) == set(ids)
    for worker, got, _ in results:
        assert got == sorted(got, key=ids.index)  # each worker saw FIFO order
        for run_id in got:
            run = store.get_run(run_id)
            assert run["status"] == "running" and run["worker_id"] == worker
    assert store.claim_next("late") is None
    assert store.integrity_check() == "ok"


def test_processes_opening_a_fresh_file_at_once(tmp_path):
    path = tmp_path / "sub" / "fresh.db"
    n = 4
    barrier, q = CTX.Barrier(n), CTX.Queue()
    procs = [
        CTX.Process(target=store_helpers.open_and_create_worker, args=(str(path), barrier, q, 5))
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    results = _collect(q, n)
    _join_all(procs)
    assert [err for _, err in results] == [None] * n
    store = RunStore(path)
    assert len(store.list_runs()) == 5 * n
    assert store.integrity_check() == "ok"


def test_readers_never_see_errors_or_half_writes_while_a_process_writes(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    (run_id,) = store.create_runs([CONFIG])
    n_epochs, batch = 40, 50
    go, halfway, resume = CTX.Event(), CTX.Event(), CTX.Event()
    writer = CTX.Process(
        target=store_helpers.writer_worker,
        args=(str(store.path), run_id, n_epochs, batch, go, halfway, resume),
    )
    writer.start()

    errors: list[BaseException] = []
    stop = threading.Event()
    saw_partial = threading.Event()
    reads = [0]
    n_keys = len(METRIC_KEYS) + 5

    def reader(kind):
        try:
            while not stop.is_set():
                if kind == "table":
                    rows = store.list_runs()
                    epochs = rows[0]["epochs_done"] if rows else 0
                    if rows and rows[0]["last"]:
                        assert len(rows[0]["last"]) == n_keys
                elif kind == "series":
                    series = store.epoch_series(run_id, max_points=None)[run_id]
                    lengths = {len(v["epoch"]) for v in series.values()}
                    assert len(lengths) <= 1, f"half-written epoch: {lengths}"
                    epochs = lengths.pop() if lengths else 0
                    assert not series or len(series) == n_keys
                else:
                    ups = store.update_series(run_id, max_points=None)["update"]
                    assert len(ups) % batch == 0, f"half-written update batch: {len(ups)}"
                    assert ups == list(range(1, len(ups) + 1))
                    epochs = len(ups) // batch
                    store.get_run(run_id)
                if 0 < epochs < n_epochs:
                    saw_partial.set()
                reads[0] += 1
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=reader, args=(k,), daemon=True)
        for k in ("table", "series", "updates", "series", "updates")
    ]
    for t in threads:
        t.start()
    go.set()
    try:
        assert halfway.wait(timeout=DEADLINE), "writer never reached half way"
        assert saw_partial.wait(timeout=DEADLINE) or errors, "readers never saw the writer's work"
    finally:
        resume.set()
        writer.join(timeout=DEADLINE)
        stop.set()
        for t in threads:
            t.join(timeout=DEADLINE)
    if writer.is_alive():
        writer.kill()
    assert not errors, errors
    assert writer.exitcode == 0
    assert reads[0] > len(threads)

    run = store.get_run(run_id)
    assert run["status"] == "completed"
    assert run["epochs_done"] == n_epochs and run["updates_done"] == n_epochs * batch
    counts = store_helpers.table_counts(store.path, run_id)
    assert counts["epoch_values"] == n_epochs * n_keys
    assert counts["updates"] == n_epochs * batch
    assert counts["run_summary"] == n_keys
    assert counts["test_metrics"] == 2 and counts["predictions"] == 1
    assert store.integrity_check() == "ok"


def test_threads_writing_different_runs_at_once(store):
    ids = [run_in_state(store, "running") for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ids))

    def work(run_id):
        try:
            barrier.wait(timeout=DEADLINE)
            for e in range(1, 21):
                store.append_updates(run_id, update_columns((e - 1) * 10 + 1, 10, epoch=e))
                store.append_epoch(run_id, epoch_record(e))
                store.cancel_requested(run_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(r,)) for r in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE)
    assert not errors, errors
    rows = store.list_runs()
    assert [r["epochs_done"] for r in rows] == [20] * len(ids)
    assert [r["updates_done"] for r in rows] == [200] * len(ids)
    assert store.integrity_check() == "ok"
