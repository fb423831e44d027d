"""The service's answer cache is bounded by the bytes its answers hold, not their count."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from engine.executor.result_cache import ByteLRU, approx_bytes


def preview_like(n: int) -> dict:
    return {"step": list(range(1, n + 1)), "lr": [1e-3 * i for i in range(n)]}


def test_sizes_count_what_python_holds():
    small, big = approx_bytes(preview_like(100)), approx_bytes(preview_like(100_000))
    # ~2 × 32 bytes a point (a list slot and a number object): 1.9M points ≈ 120 MB,
    # far above the 26.8 MB the same preview pickles to.
    assert 6_000_000 < big < 7_500_000 and 900 < big / small < 1000
    assert approx_bytes(np.zeros(1000)) >= 8000
    assert approx_bytes("x" * 1000) == sys.getsizeof("x" * 1000)


def test_least_recently_used_out_first_once_the_budget_is_full():
    one = approx_bytes(preview_like(1000)) + approx_bytes("k0")
    cache = ByteLRU(capacity=int(3.5 * one))
    for i in range(3):
        assert cache.put(f"k{i}", preview_like(1000))
    assert cache.get("k0") is not None  # k0 is now the most recently used
    cache.put("k3", preview_like(1000))
    assert "k1" not in cache and all(k in cache for k in ("k0", "k2", "k3"))
    assert cache.nbytes <= cache.capacity and len(cache) == 3
    # replacing a key does not count it twice
    cache.put("k3", preview_like(1000))
    assert len(cache) == 3 and cache.nbytes <= cache.capacity


def test_a_value_larger_than_the_budget_is_not_kept():
    cache = ByteLRU(capacity=10_000)
    cache.put("a", preview_like(10))
    assert cache.put("huge", preview_like(10_000)) is False
    assert "huge" not in cache and cache.get("a") is not None
    with pytest.raises(ValueError, match="capacity"):
        ByteLRU(0)
