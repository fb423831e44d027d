import pytest

from engine.executor import get_executor
from tests.proc_helpers import ray_turn


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    with ray_turn():
        if ray.is_initialized():  # pragma: no cover - another module left it running
            ray.shutdown()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray
        ray.shutdown()


# Module scope groups the tests by backend: every local test, then one Ray instance
# for every Ray test (not a Ray start per test, nor Ray idling beside local tests).
@pytest.fixture(scope="module", params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request):
    if request.param == "ray":
        request.getfixturevalue("ray_session")
    return request.param


@pytest.fixture
def make_executor(backend, tmp_path):
    """``make_executor(workers=2, start=True, **kw)``: an executor on a fresh store,
    stopped after the test."""
    made = []

    def make(workers: int = 2, start: bool = True, **kw):
        ex = get_executor(backend, store_path=tmp_path / "runs.db", workers=workers, **kw)
        made.append(ex)
        return ex.start() if start else ex

    yield make
    for ex in made:
        ex.stop(timeout=20)
