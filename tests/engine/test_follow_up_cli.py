"""Suggestions on the command line: ``run --json`` and ``diagnose --json`` carry them,
``follow-up`` queues one as the run's child, and a worker pool trains the child."""

from __future__ import annotations

import json

import pytest

from engine.config import validate
from engine.diagnosis import apply_change
from engine.diagnosis.followup import verdict
from engine.store import RunStore, StoreSink
from engine.training.train import train
from tests.proc_helpers import engine_cli

# Plain SGD at 1e-3 on the regression task (a suite case): healthy but still falling
# ~19 % a epoch at its tenth and last epoch.
UNFINISHED = {"task": "regression", "optimizer": "sgd", "learning_rate": 0.001}


def cli(*args, timeout=300):
    return engine_cli(*args, timeout=timeout)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store with one trained unfinished run and one queued run."""
    path = tmp_path_factory.mktemp("store") / "runs.db"
    store = RunStore(path)
    cfg = validate(UNFINISHED)
    (rid,) = store.create_runs([cfg], names=["slow sgd"], tags=["mine"])
    assert store.claim(rid, "test") is not None
    train(cfg, sink=StoreSink(store, rid))
    (queued,) = store.create_runs([cfg], names=["waiting"])
    return path, rid, queued


def test_run_json_carries_valid_suggestions(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(UNFINISHED))
    out = cli("run", str(cfg), "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)["diagnosis"]
    assert d["labels"] == ["healthy", "still_improving"], d["findings"]
    assert d["suggestions"] and d["suggestions"][0]["change"] == {"epochs": 20}
    for s in d["suggestions"]:
        assert set(s) == {"why", "change", "for"} and s["why"]
        validate(apply_change(validate(UNFINISHED), s["change"]))  # each keeps the contract


def test_diagnose_json_and_follow_up_queue_a_linked_child(stored):
    path, rid, _ = stored
    out = cli("diagnose", rid, "--store", str(path), "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert len(d["suggestions"]) >= 2 and d["clipping"] is not None
    text = cli("diagnose", rid, "--store", str(path))
    assert "1. Train longer (10 → 20 epochs)" in text.stdout and "follow-up" in text.stdout

    out = cli("follow-up", rid, "--store", str(path))
    assert out.returncode == 0, out.stderr
    child_id = out.stdout.strip()
    store = RunStore(path)
    child = store.get_run(child_id)
    assert child["parent_id"] == rid and child["status"] == "queued"
    assert child["config"] == validate({**UNFINISHED, "epochs": 20})
    assert child["name"] == "slow sgd → epochs 20" and child["tags"] == ["mine"]

    out = cli("follow-up", rid, "--suggestion", "2", "--store", str(path), "--json")
    assert out.returncode == 0, out.stderr
    second = json.loads(out.stdout)
    assert second["suggestion"] == d["suggestions"][1] and second["parent_id"] == rid
    assert second["config"]["learning_rate"] == 0.003
    assert {r["id"] for r in store.list_runs(parent_id=rid)} == {child_id, second["id"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "run_id: unknown run 'nope'"),
        (["{rid}", "--suggestion", "0"], "--suggestion: must be 1 or more, got 0"),
        (["{rid}", "--suggestion", "99"], "--suggestion: must be 1.."),
        (["{queued}"], "run_id: run {queued} has not started"),
    ],
)
def test_follow_up_refuses_bad_input_by_field(stored, args, message):
    path, rid, queued = stored
    before = len(RunStore(path).list_runs())
    args = [a.format(rid=rid, queued=queued) for a in args]
    out = cli("follow-up", *args, "--store", str(path))
    assert out.returncode == 2, out.stdout
    assert message.format(rid=rid, queued=queued) in out.stderr
    assert "Traceback" not in out.stderr
    assert len(RunStore(path).list_runs()) == before  # nothing queued


def test_a_healthy_run_has_nothing_to_follow_up(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    (rid,) = store.create_runs([validate({"task": "regression"})])
    store.claim(rid, "w")
    store.record_start(rid, {"baseline_loss": 10.0, "n_val": 200})
    for e, (t, v) in enumerate([(3.0, 2.0), (0.5, 0.4), (0.1, 0.1), (0.09, 0.1), (0.09, 0.1)], 1):
        store.append_epoch(rid, {"epoch": e, "values": {"loss": t, "val_loss": v}})
    store.finish(rid, {"status": "completed", "test": {}, "predictions": {}})
    out = cli("follow-up", rid, "--store", str(tmp_path / "runs.db"))
    assert out.returncode == 2 and "suggests no change" in out.stderr


def test_a_worker_trains_the_child_and_the_verdict_says_better(stored):
    path, rid, queued = stored
    store = RunStore(path)
    store.request_cancel(queued)  # only the follow-ups are left for the pool
    out = cli("worker", "--workers", "1", "--store", str(path), "--json", timeout=600)
    assert out.returncode == 0, out.stderr
    runs = {r["id"]: r for r in store.list_runs()}
    children = [r for r in runs.values() if r.get("parent_id") == rid]
    assert children and all(c["status"] == "completed" for c in children)
    for child in children:
        v = verdict(runs[rid], child)
        assert v.kind in ("better", "fixed"), v.text()
        assert v.change is not None and v.change <= -0.10
