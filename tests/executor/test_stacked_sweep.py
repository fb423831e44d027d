"""A sweep of stackable configs is split between the workers and each share trains
as one stacked graph; every run still ends in the store as an ordinary run.
(Per-member equality with ``train()`` is proven in tests/engine/test_stacked.py.)"""

from __future__ import annotations

from executor_helpers import TINY, epochs_of, poll, tiny

from engine.executor import LocalExecutor

GRID = [
    tiny(optimizer=opt, learning_rate=lr)
    for opt in ("sgd", "adam", "rmsprop")
    for lr in (0.003, 0.01)
]


def test_a_sweep_trains_as_one_stack_per_worker(tmp_path):
    with LocalExecutor(tmp_path / "runs.db", 2) as ex:
        ids = ex.submit(GRID, sweep_id="grid")
        assert set(ex.wait(ids, timeout=240).values()) == {"completed"}
        runs = {r["id"]: r for r in ex.store.list_runs()}
        sizes = [runs[r]["info"]["stack_size"] for r in ids]
        assert sum(sizes) > len(ids)  # some runs shared a graph ...
        assert all(s <= len(ids) // 2 for s in sizes)  # ... and both workers got a share
        for rid in ids:
            assert epochs_of(ex.store, rid) == [1, 2, 3]
            assert runs[rid]["diagnosis"]["label"]
        assert ex.store.integrity_check() == "ok"


def test_runs_without_a_sweep_or_not_stackable_train_alone(tmp_path):
    with LocalExecutor(tmp_path / "runs.db", 1) as ex:
        lone = ex.submit([TINY, tiny(seed=3)])  # no sweep id: two separate runs
        lstm = ex.submit(
            [{"task": "sequence", "epochs": 1, "data": {"n_train": 64}}] * 2, sweep_id="seq"
        )
        assert set(ex.wait(lone + lstm, timeout=240).values()) == {"completed"}
        for rid in lone + lstm:
            assert "stack_size" not in ex.store.get_run(rid)["info"]


def test_cancel_one_member_of_a_stack(tmp_path):
    slow = tiny(epochs=1000, data={"n_train": 8000, "n_test": 20})
    with LocalExecutor(tmp_path / "runs.db", 1) as ex:
        ids = ex.submit(
            [{**slow, "learning_rate": lr} for lr in (0.001, 0.002, 0.003)], sweep_id="s"
        )
        poll(
            lambda: all(ex.store.get_run(r)["epochs_done"] >= 1 for r in ids),
            120,
            "every member to train an epoch",
        )
        ex.cancel(ids[1])
        poll(lambda: ex.store.get_run(ids[1])["status"] == "cancelled", 60, "the cancel")
        others = [ex.store.get_run(r) for r in (ids[0], ids[2])]
        # The cancelled member ended in the store while its stack mates train on.
        assert {r["status"] for r in others} == {"running"}
        ex.cancel(sweep_id="s")
        assert set(ex.wait(ids, timeout=60).values()) == {"cancelled"}
