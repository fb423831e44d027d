"""Studies on the Ray backend: the same semantics and the same store as on the local
pool. A sampler's study runs to the end, and a pruned trial stops training at the
epoch its pruner named (the actor waits at each epoch boundary for the driver's
word), keeping exactly that many epochs of curves."""

from __future__ import annotations

import pytest

from engine.search import driver
from engine.search.report import report
from engine.search.space import parse_study
from engine.search.study import load
from engine.store import RunStore
from tests.proc_helpers import ray_turn
from tests.search import tiny_study
from tests.search.test_study import pruner_study, sampler_study

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_studies(tmp_path_factory):
    ray = pytest.importorskip("ray")
    path = tmp_path_factory.mktemp("ray-study") / "runs.db"
    store = RunStore(path)
    ids = {"median": "sw-raymedian", "tpe": "sw-raytpe"}
    driver.start(store, parse_study(pruner_study("median")), ids["median"], slots=1)
    driver.start(store, parse_study(sampler_study("tpe")), ids["tpe"], slots=1)
    with ray_turn():
        if ray.is_initialized():  # pragma: no cover - another module left it running
            ray.shutdown()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            tiny_study.train(path, *ids.values(), timeout=900, backend="ray")
        finally:
            ray.shutdown()
    return store, ids


def test_a_study_runs_to_the_end_on_ray(ray_studies):
    store, ids = ray_studies
    sid = ids["tpe"]
    runs = store.list_runs(sweep_id=sid)
    assert len(runs) == 3 and {r["status"] for r in runs} == {"completed"}
    assert all(r["worker_id"].startswith("ray:") for r in runs)
    rec = load(store, sid)
    assert sorted(t.number for t in rec.trials.values()) == [0, 1, 2]
    out = report(store, sid)
    assert out["best"]["value"] == min(r["best"]["val_loss"] for r in runs)


def test_a_pruned_ray_run_stops_at_the_epoch_it_was_pruned(ray_studies):
    store, ids = ray_studies
    sid = ids["median"]
    tiny_study.check_pruned_study(store, sid, "median")
