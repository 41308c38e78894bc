"""The multi-head eviction base (caches/_heads.py) under every policy built on it.

Properties, over random shapes (D, H in 1..3, small schedules, budgets as fractions or
row counts, random queries): outputs have the block's shape; each head's outputs are the
exact softmax attention of its queries over its rows kept before the block plus the block
(the attention-first convention; HACK++ restricts each query to its top keys and is
checked against that rule); the kept rows fit the policy's bound; the bytes rebuild the
same state; the message is header + bitmap + float16 rows + the policy's few extra bytes;
truncated or flipped bytes are refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches import CACHES
from caches._heads import HeadsEvictionCache
from caches.var.hackpp import top_attention
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import FRAME_OVERHEAD_BYTES
from reduction.schedule import Schedule
from tests.strategies import small_schedules

HEADS_CACHES = sorted(n for n, e in CACHES.items()
                      if isinstance(e.cls, type) and issubclass(e.cls, HeadsEvictionCache))
HEADER_BYTES = 2 + 2 + 2 + 4 + 4  # d, D, H, tokens seen, rows kept
D_SMALL = 8


def test_every_multi_head_policy_is_registered_and_budgeted() -> None:
    assert HEADS_CACHES == sorted(["adakv", "ams-kv", "duo-attention", "hack", "hackpp",
                                   "kvzip", "pyramidkv", "scalekv"])
    for name in HEADS_CACHES:
        assert CACHES[name].budgeted and CACHES[name].cls.MULTI_HEAD


def _blocks(params: CacheParams, rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
    prefix = (params.layers, params.heads)
    out = []
    for start, stop in params.schedule.block_bounds[:-1]:
        shape = (*prefix, stop - start, params.d)
        out.append((rng.normal(size=shape) * 2.0,
                    rng.choice([-1.0, 1.0], size=shape) / math.sqrt(params.d),
                    rng.integers(0, 2, size=shape).astype(np.float64)))
    return out


def _slot_state(cache: HeadsEvictionCache) -> list[tuple[np.ndarray, ...]]:
    return [(k.copy(), v.copy(), p.copy())
            for k, v, p in zip(cache.keys, cache.values, cache.positions)]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(HEADS_CACHES), layers=st.integers(1, 3), heads=st.integers(1, 3),
       schedule=small_schedules(max_scales=5, max_side=6),
       budget=st.sampled_from([0.1, 0.3, 0.5, 1.0, 3]), seed=st.integers(0, 2**16))
def test_stream_attend_keep_and_serialise(name: str, layers: int, heads: int,
                                          schedule: Schedule, budget: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = CacheParams(D_SMALL, schedule, {"budget": budget}, heads=heads, layers=layers)
    cache = CACHES[name].cls(params, None)
    for q, k, v in _blocks(params, rng):
        before = _slot_state(cache)
        out = cache.process(q, k, v)
        assert out.shape == q.shape
        for s, (kk, vv, _) in enumerate(before):
            qs = q.reshape(-1, *q.shape[2:])[s]
            ks = np.concatenate([kk, k.reshape(-1, *k.shape[2:])[s].astype(np.float16)])
            vs = np.concatenate([vv, v.reshape(-1, *v.shape[2:])[s].astype(np.float16)])
            want = (top_attention(qs, ks, vs, cache.attention) if name == "hackpp"
                    else attend(qs, ks, vs))
            assert np.allclose(out.reshape(-1, *out.shape[2:])[s], want, atol=1e-12)
        for p in cache.positions:
            assert np.all(np.diff(p) > 0) and (p.size == 0 or p[-1] < cache.n_seen)
    assert cache.n_kept <= cache._max_rows()
    data = cache.to_bytes()
    again = type(cache).from_bytes(data, params)
    assert again.to_bytes() == data
    base = (FRAME_OVERHEAD_BYTES + HEADER_BYTES + math.ceil(cache.n_slots * cache.n_seen / 8)
            + 4 * D_SMALL * cache.n_kept)
    assert 0 <= len(data) - base <= 1 + math.ceil(max(layers, cache.n_slots) / 8)


@pytest.mark.parametrize("name", HEADS_CACHES)
def test_one_head_takes_two_dimensional_blocks(name: str) -> None:
    schedule = Schedule.parse("var-256")
    params = CacheParams(16, schedule, {"budget": 0.3})
    cache = CACHES[name].cls(params, None)
    rng = np.random.default_rng(0)
    for q, k, v in _blocks(params, rng):
        assert cache.process(q, k, v).shape == q.shape  # (T, d) in, (T, d) out
    assert cache.n_kept <= cache._max_rows()


@pytest.mark.parametrize("name", HEADS_CACHES)
def test_refuses_blocks_of_the_wrong_shape(name: str) -> None:
    params = CacheParams(8, Schedule.parse("1,2,3"), {"budget": 0.5}, heads=2, layers=2)
    cache = CACHES[name].cls(params, None)
    with pytest.raises(ValueError, match="shape"):
        cache.process(np.zeros((1, 8)), np.zeros((1, 8)), np.zeros((1, 8)))
    with pytest.raises(ValueError, match="shape"):
        cache.process(np.zeros((2, 3, 1, 8)), np.zeros((2, 3, 1, 8)), np.zeros((2, 3, 1, 8)))


@pytest.mark.parametrize("name", HEADS_CACHES)
def test_refuses_truncated_and_flipped_bytes(name: str) -> None:
    params = CacheParams(8, Schedule.parse("1,2,3,4,5"), {"budget": 0.4}, heads=2, layers=2)
    cache = CACHES[name].cls(params, None)
    for q, k, v in _blocks(params, np.random.default_rng(1)):
        cache.process(q, k, v)
    data = cache.to_bytes()
    cls = CACHES[name].cls
    for cut in range(0, len(data), 7):
        with pytest.raises(ValueError):
            cls.from_bytes(data[:cut], params)
    for bit in np.random.default_rng(2).integers(0, 8 * len(data), size=24):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (int(bit) % 8)
        with pytest.raises(ValueError):
            cls.from_bytes(bytes(flipped), params)
    other = CacheParams(8, params.schedule, {"budget": 0.4}, heads=1, layers=4)
    with pytest.raises(ValueError, match="differ"):
        cls.from_bytes(data, other)


def test_the_last_scale_is_kept_whole() -> None:
    """No later scale reads the state after the last one: nothing is evicted there."""
    params = CacheParams(8, Schedule.parse("1,2,3"), {"budget": 0.2}, heads=2)
    cache = CACHES["kvzip"].cls(params, None)
    for q, k, v in _blocks(params, np.random.default_rng(3)):
        cache.process(q, k, v)
    kept = cache.n_kept
    z = np.zeros((1, 2, 9, 8))
    cache.process(z, z, z)
    assert cache.n_kept == kept + 2 * 9
