"""Low-rank (truncated SVD) and JL-sketch caches: codecs, the hard instance, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from caches.lowrank import LowRankCache, truncated_svd
from caches.sketch import SketchCache, projection
from reduction.cache import CacheParams
from reduction.protocol import run_verification
from reduction.schedule import Schedule
from tests.corruption import assert_rejects_corruption

EPS, ETA = 0.7, 0.1
VAR256 = Schedule.preset("var-256")
SMALL = Schedule.from_sides([1, 2, 3, 4, 6])


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 8)),
                  elements=st.floats(-10, 10, allow_nan=False)), st.integers(1, 8))
def test_truncated_svd_meets_eckart_young(x, rank):
    a, b = truncated_svd(x, rank)
    s = np.linalg.svd(x, compute_uv=False)
    r = min(rank, *x.shape)
    assert a.shape == (x.shape[0], r) and b.shape == (r, x.shape[1])
    err = np.linalg.norm(x - a @ b) ** 2
    assert err == pytest.approx(float(np.sum(s[r:] ** 2)), abs=1e-8 * (1 + np.sum(s**2)))


def test_full_rank_is_lossless_and_rank_four_is_not():
    full = run_verification(VAR256, 64, EPS, ETA, 1, cache="lowrank", options={"rank": 64},
                            isolation="inline")
    assert full.bit_errors == 0
    low = run_verification(VAR256, 64, EPS, ETA, 1, cache="lowrank", options={"rank": 4},
                           isolation="process")
    assert low.bit_errors > 0 and not low.leak


def test_sketch_loses_bits_at_rank_four():
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="sketch", options={"rank": 4},
                              isolation="inline")
    assert result.bit_errors > 0 and not result.leak


def test_sketch_projection_comes_from_the_seed_in_the_bytes():
    params = CacheParams(16, SMALL, {"rank": 8})
    a = SketchCache(params, np.random.default_rng(1))
    b = SketchCache(params, np.random.default_rng(2))
    assert a.seed != b.seed
    np.testing.assert_array_equal(projection(a.seed, 16, 8), a._proj)
    restored = SketchCache.from_bytes(a.to_bytes(), params)
    assert restored.seed == a.seed
    np.testing.assert_array_equal(restored._proj, a._proj)


def _stream(cache, d: int) -> None:
    rng = np.random.default_rng(0)
    for start, stop in cache.params.schedule.block_bounds[:-1]:
        t = stop - start
        cache.process(np.zeros((t, d)), rng.standard_normal((t, d)), rng.standard_normal((t, d)))


CASES = [(LowRankCache, {"rank": 3}), (LowRankCache, {"rank": 16}), (SketchCache, {"rank": 5})]


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_bytes_round_trip_gives_the_same_outputs(cls, options):
    params = CacheParams(16, SMALL, options)
    alice = cls(params, np.random.default_rng(0))
    _stream(alice, 16)
    message = alice.to_bytes()
    bob = cls.from_bytes(message, params)
    assert bob.to_bytes() == message
    q = np.random.default_rng(5).standard_normal((7, 16))
    zeros = np.zeros((7, 16))
    np.testing.assert_allclose(alice.process(q, zeros, zeros), bob.process(q, zeros, zeros),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_from_bytes_rejects_truncations_and_bit_flips(cls, options):
    params = CacheParams(16, SMALL, options)
    cache = cls(params, np.random.default_rng(0))
    _stream(cache, 16)
    message = cache.to_bytes()
    assert_rejects_corruption(cls, message, params, step=31, flips=20, seed=2)


@pytest.mark.parametrize(("cls", "rank"), [(LowRankCache, 0), (LowRankCache, 65),
                                           (LowRankCache, 2.5), (LowRankCache, True),
                                           (SketchCache, 0), (SketchCache, 1025),
                                           (SketchCache, 2.5)])
def test_bad_rank_names_the_value(cls, rank):
    with pytest.raises(ValueError, match=f"rank={rank!r}"):
        cls(CacheParams(64, VAR256, {"rank": rank}), np.random.default_rng(0))


def test_sketch_may_embed_in_more_than_d_dimensions():
    assert SketchCache(CacheParams(16, SMALL, {"rank": 32}), np.random.default_rng(0)).rank == 32
