"""The allocation variant (docs/theorem.md#alloc) and its matching cache, live-heads.

Proposition ALLOC: with U of the D H heads zero (a public, seeded set), a value-blind
allocation of the fraction f of all rows loses (1 - f)/2 of the carrying bits, an
allocation over the carrying heads only (1 - min(1, f/rho))/2, rho = (D H - U)/(D H).
Measured here against lowerbound.bound.allocation_error_rates: the per-head wrapper of
streaming-llm (value-blind, uniform) and live-heads (value-aware) at the same budget, the
gap between them, and live-heads at f = rho with no error at all. Tolerance: given the
kept rows an evicted bit is wrong with probability 1/2 independently, so we allow 6 sd of
Bin(evicted bits, 1/2) per rate (a false alarm < 2e-9 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from caches.matching.allocation import LiveHeadCache, live_head_shares
from lowerbound.bound import allocation_error_rates
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError
from reduction.protocol import run_verification
from reduction.schedule import Schedule

VAR256 = Schedule.parse("var-256")
D_HEAD = 64
SHAPE = {"heads": 2, "layers": 2, "unused_heads": 2}  # rho = 1/2


def _run(cache: str, f: float, seed: int = 0, **shape: int) -> tuple[float, int]:
    r = run_verification(VAR256, D_HEAD, 0.75, 0.25, [seed], cache=cache,
                         options={"budget": f}, isolation="inline", **(shape or SHAPE))
    assert not r.leak
    return r.error_rate, r.n_bits


def _tol(rate: float, n_bits: int) -> float:
    evicted = 2 * rate * n_bits  # evicted bits: each wrong with probability 1/2
    return 6 * math.sqrt(max(evicted, 1.0)) / 2 / n_bits


@given(st.integers(0, 5000), st.lists(st.booleans(), min_size=1, max_size=40),
       st.integers(0, 500))
def test_shares(total: int, live: list[bool], seen: int) -> None:
    shares = live_head_shares(total, np.array(live), seen)
    assert shares.sum() <= total and (shares <= seen).all()
    assert not shares[~np.array(live)].any()
    alive = shares[np.array(live)]
    if alive.size and alive.max() < seen:  # no cap reached: an even split of everything
        assert alive.sum() == total and alive.max() - alive.min() <= 1


@pytest.mark.parametrize("f", [0.25, 0.5])
def test_the_value_aware_allocator_keeps_what_the_blind_one_loses(f: float) -> None:
    blind_pred, aware_pred = allocation_error_rates(f, 4, 2)
    blind, n = _run("streaming-llm", f)
    aware, _ = _run("live-heads", f)
    assert abs(blind - blind_pred) <= _tol(blind_pred, n)
    assert abs(aware - aware_pred) <= _tol(aware_pred, n)
    gap = blind - aware
    assert abs(gap - (blind_pred - aware_pred)) <= _tol(blind_pred, n) + _tol(aware_pred, n)
    assert gap > 0.1  # (min(1, f / rho) - f) / 2 = 0.125 and 0.25 here


def test_at_rho_every_carrying_row_is_kept() -> None:
    aware, _ = _run("live-heads", 0.5)
    assert aware == 0.0


def test_no_unused_head_means_uniform_recency() -> None:
    """On the theorem's instance the allocator is the uniform one: (1 - f)/2."""
    rate, n = _run("live-heads", 0.25, heads=2, layers=2)
    assert abs(rate - 0.375) <= _tol(0.375, n)


def _filled(live_heads: tuple[int, ...] = (0, 2)) -> LiveHeadCache:
    params = CacheParams(8, Schedule.parse("1,2,3,4"), {"budget": 0.5}, heads=2, layers=2)
    cache = LiveHeadCache(params)
    rng = np.random.default_rng(0)
    for start, stop in params.schedule.block_bounds[:-1]:
        shape = (2, 2, stop - start, 8)
        k, v = rng.normal(size=shape), rng.integers(0, 2, shape).astype(float)
        for j in range(4):
            if j not in live_heads:
                k[divmod(j, 2)] = 0.0
                v[divmod(j, 2)] = 0.0
        cache.process(np.zeros(shape), k, v)
    return cache


def test_dead_heads_keep_nothing_and_bytes_round_trip() -> None:
    cache = _filled()
    assert [k.shape[0] for k in cache.keys] == [14, 0, 14, 0]  # 28 rows = half of 56
    data = cache.to_bytes()
    back = LiveHeadCache.from_bytes(data, cache.params)
    assert back.to_bytes() == data and back.live.tolist() == [True, False, True, False]
    for bad in (data[:-3], data[:12] + b"\xff" + data[13:]):
        with pytest.raises(CorruptMessageError):
            LiveHeadCache.from_bytes(bad, cache.params)
