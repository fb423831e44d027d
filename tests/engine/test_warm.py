"""A warm (already traced) model gives exactly the curves of a fresh one.

Each case trains a *different* run first so the cached model carries trained
weights, advanced optimizer slots, a cut plateau factor or NaNs; the run under test
must then match, value for value, the same config trained from scratch.
"""

import math

import pytest
from engine_helpers import tiny

from engine.config import validate
from engine.training.train import train
from engine.training.warm import WarmCache, graph_key


def _curves(result: dict) -> dict:
    h = {k: v for k, v in result["history"].items() if k != "epoch_time"}
    h.pop("examples_per_sec", None)
    steps = {k: result["steps"][k] for k in ("loss", "lr", "grad_norm", "clipped")}
    return {"history": h, "steps": steps, "test": result["test"], "status": result["status"]}


def _same(a, b):
    """Equal, with NaN equal to NaN (a diverged curve is compared too)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert a == b


CASES = {
    "adam, new lr and seed": (
        tiny(epochs=3, learning_rate=0.01, seed=1),
        tiny(epochs=2, learning_rate=0.003, seed=7),
    ),
    "sgd nesterov, dropout seed state": (
        tiny(
            "binary-20",
            optimizer={"name": "sgd", "momentum": 0.9, "nesterov": True},
            model={"dropout": 0.3},
            seed=3,
        ),
        tiny(
            "binary-20",
            optimizer={"name": "sgd", "momentum": 0.9, "nesterov": True},
            model={"dropout": 0.3},
            seed=4,
            learning_rate=0.05,
        ),
    ),
    "mixed float16 loss scale": (
        tiny(precision="mixed_float16", seed=2),
        tiny(precision="mixed_float16", seed=5, epochs=3),
    ),
    "accumulation": (
        tiny(grad_accum_steps=2, seed=1, optimizer="rmsprop"),
        tiny(grad_accum_steps=2, seed=9, optimizer="rmsprop", learning_rate=0.003),
    ),
    "plateau factor cut before": (
        tiny(
            epochs=6,
            learning_rate=0.5,
            optimizer="sgd",
            validation_split=0.2,
            callbacks={"reduce_lr_on_plateau": {"patience": 1, "factor": 0.1}},
        ),
        tiny(epochs=3, optimizer="sgd", learning_rate=0.01, validation_split=0.2),
    ),
    "after a diverged run": (
        tiny(learning_rate=10.0, optimizer="sgd", epochs=3),
        tiny(learning_rate=0.01, optimizer="sgd", epochs=3),
    ),
    "adagrad non-zero accumulators": (
        tiny(optimizer="adagrad", seed=1, learning_rate=0.5),
        tiny(optimizer="adagrad", seed=2, learning_rate=0.05),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_warm_run_equals_fresh_run(case):
    first, second = CASES[case]
    assert graph_key(validate(first)) == graph_key(validate(second))
    cache = WarmCache()
    first_result = train(first, warm=cache)
    if case == "after a diverged run":
        assert first_result["status"] == "diverged"
    compiled = next(iter(cache._items.values()))
    fn = compiled.model.train_function
    warm_result = train(second, warm=cache)
    assert cache.hits == 1 and compiled.runs == 2
    assert compiled.model.train_function is fn  # the traced function was reused
    fresh_result = train(second)
    _same(_curves(warm_result), _curves(fresh_result))


def test_a_different_graph_is_a_different_key():
    base = validate(tiny())
    for change in (
        {"batch_size": 16},
        {"optimizer": "sgd"},
        {"optimizer": {"name": "adam", "beta_1": 0.8}},
        {"clipping": {"global_clipnorm": 1.0}},
        {"precision": "mixed_float16"},
        {"model": {"width": 2.0}},
        {"data": {"n_train": 256, "n_test": 32}},
        {"schedule": "cosine_decay"},
        {"loss": "huber"},
    ):
        assert graph_key(validate({**tiny(), **change})) != graph_key(base), change
    # A schedule bakes its rate into the graph; only the constant one reads a variable.
    sched = {"schedule": "cosine_decay"}
    assert graph_key(validate(tiny(**sched, learning_rate=0.1))) != graph_key(
        validate(tiny(**sched, learning_rate=0.2))
    )


def test_cache_keeps_the_most_recent_and_evicts_failed_runs():
    cache = WarmCache(capacity=2)
    for i, opt in enumerate(("sgd", "adam", "rmsprop")):
        train(tiny(optimizer=opt, epochs=1, seed=i), warm=cache)
    assert len(cache) == 2
    assert cache.get(graph_key(validate(tiny(optimizer="sgd", epochs=1)))) is None
    key = graph_key(validate(tiny(optimizer="adam", epochs=1)))
    assert cache.get(key) is not None
    cache.evict(key)
    assert cache.get(key) is None
