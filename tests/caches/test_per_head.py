"""The per-head wrapper (caches/per_head.py): the uniform baseline on D * H heads.

Checked: the budget is split evenly over the heads as whole rows (hypothesis over shapes
and budgets), every head gets the uniform law's share of errors, its bytes round-trip
and every corruption of the frame is refused, a share below one row is refused, and the
class is the one the protocol picks for a one-head cache.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches.exact import ExactCache
from caches.per_head import PerHeadCache, head_params, per_head_class
from caches.snapkv import SnapKVCache
from caches.streaming_llm import StreamingLLMCache
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams, budget_rows
from reduction.cachespec import cache_class
from reduction.message import CorruptMessageError
from reduction.protocol import run_verification
from reduction.schedule import Schedule

VAR256 = Schedule.parse("var-256")
SMALL = Schedule.parse("1,2,3,4")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.floats(0.05, 1.0))
def test_budget_split_evenly(heads: int, layers: int, f: float) -> None:
    params = CacheParams(8, VAR256, {"budget": f}, heads=heads, layers=layers)
    shares = [p.option("budget") for p in head_params(SnapKVCache, params)]
    assert sum(shares) == budget_rows(f, params)
    assert max(shares) - min(shares) <= 1 and all(isinstance(s, int) for s in shares)
    assert all(p.heads == p.layers == 1 for p in head_params(SnapKVCache, params))


def test_options_without_budget_reach_every_head_unchanged() -> None:
    params = CacheParams(8, VAR256, {"dtype": "float32"}, heads=2, layers=2)
    assert all(p.options == {"dtype": "float32"} for p in head_params(ExactCache, params))


def test_a_share_below_one_row_is_refused() -> None:
    params = CacheParams(8, SMALL, {"budget": 3}, heads=2, layers=2)
    with pytest.raises(InvalidArgument, match="fewer than one per head"):
        per_head_class(SnapKVCache)(params)


def test_the_protocol_wraps_one_head_classes_only() -> None:
    many = CacheParams(8, SMALL, heads=2)
    assert cache_class(SnapKVCache, many) is per_head_class(SnapKVCache)
    assert cache_class(ExactCache, many) is ExactCache  # handles many heads itself
    assert cache_class(SnapKVCache, CacheParams(8, SMALL)) is SnapKVCache
    with pytest.raises(InvalidArgument, match="itself"):
        per_head_class(ExactCache)


def _filled(heads: int = 2, layers: int = 2, budget: float = 0.5) -> PerHeadCache:
    params = CacheParams(24, SMALL, {"budget": budget}, heads=heads, layers=layers)
    cache = per_head_class(StreamingLLMCache)(params, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for start, stop in SMALL.block_bounds[:-1]:
        shape = (layers, heads, stop - start, 24)
        cache.process(np.zeros(shape), rng.normal(size=shape), rng.integers(0, 2, shape))
    return cache


def test_bytes_round_trip() -> None:
    cache = _filled()
    data = cache.to_bytes()
    back = type(cache).from_bytes(data, cache.params)
    assert back.to_bytes() == data
    q = np.random.default_rng(2).normal(size=(2, 2, 16, 24))
    zero = np.zeros_like(q)
    assert np.array_equal(back.process(q, zero, zero), cache.process(q, zero, zero))


def test_corrupt_frames_are_refused() -> None:
    cache = _filled()
    data = cache.to_bytes()
    cls, params = type(cache), cache.params
    for bad in (data[:-5], data[:20] + b"x" + data[21:], b"PHD1" + data[4:10]):
        with pytest.raises(CorruptMessageError):
            cls.from_bytes(bad, params)
    other = CacheParams(24, SMALL, {"budget": 0.5}, heads=4, layers=1)
    with pytest.raises(CorruptMessageError, match="layers"):
        cls.from_bytes(data, other)


def test_uniform_baseline_per_head_law() -> None:
    """Each head keeps its equal share b_j of L and loses (1 - b_j / L) / 2 of its bits
    (6 sd of Bin((L - b_j) d, 1/2) per head); the total is (1 - f)/2."""
    r = run_verification(VAR256, 64, 0.75, 0.25, [1], cache="streaming-llm",
                         options={"budget": 0.3}, isolation="inline", heads=3, layers=2)
    n, d = VAR256.cached_tokens, 64
    shares = [p.option("budget") for p in head_params(
        StreamingLLMCache, CacheParams(d, VAR256, {"budget": 0.3}, heads=3, layers=2))]
    errors = r.runs[0].head_symbol_errors
    assert errors is not None
    for e, b in zip(errors, shares, strict=True):
        assert e is not None
        tol = 6 * math.sqrt((n - b) * d) / 2
        assert abs(e - (n - b) * d / 2) <= tol
    assert abs(r.error_rate - (1 - 0.3) / 2) <= 0.01


def test_a_registered_wrapper_runs_on_one_head_too() -> None:
    """An entry may name per_head_class(cls): at D = H = 1 it decodes like cls itself."""
    params = CacheParams(64, VAR256, {"budget": 0.5})
    wrapped = per_head_class(StreamingLLMCache)
    assert cache_class(wrapped, params) is wrapped
    from caches.entry import CacheEntry
    from caches.registry import _LOCAL, local_spec

    spec = local_spec(wrapped)
    _LOCAL[spec] = CacheEntry(wrapped, {}, "test", budgeted=True)
    one = run_verification(VAR256, 64, 0.75, 0.25, [0], cache=spec, options={"budget": 0.5},
                           isolation="inline")
    plain = run_verification(VAR256, 64, 0.75, 0.25, [0], cache="streaming-llm",
                             options={"budget": 0.5}, isolation="inline")
    assert one.bit_errors == plain.bit_errors
    # the PHD1 frame: tag, layers and heads (u16 each), one length (u32), CRC-32
    assert one.message_bits == plain.message_bits + 8 * (4 + 2 + 2 + 4 + 4)
    assert wrapped.OPTIONS == StreamingLLMCache.OPTIONS
