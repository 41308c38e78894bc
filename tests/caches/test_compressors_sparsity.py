"""The matching caches of the sparsity variants: support, window, cluster, topk-attention."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from caches._bitstream import leb128
from caches._mph import build_mph, fingerprints
from caches.combinadic import (
    rank_rows,
    rank_subset,
    rank_width,
    unrank_rows,
    unrank_subset,
)
from caches.matching.cluster import ClusterCache
from caches.matching.packer import PackerCache
from caches.matching.support import SupportCache, support_message_bits
from caches.matching.topk_attention import TopKAttentionCache, topk_attend
from caches.matching.window import WindowCache
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.schedule import Schedule
from tests.corruption import assert_rejects_corruption

SCHED = Schedule.parse("1,2,3,4,5")  # 30 cached tokens, last scale 25
D = 24


def _keys(rng: np.random.Generator, t: int, d: int = D) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=(t, d)) / math.sqrt(d)


def _stream(cache: object, keys: np.ndarray, values: np.ndarray) -> None:
    for start, stop in SCHED.block_bounds[:-1]:
        cache.process(np.zeros((stop - start, D)), keys[start:stop],  # type: ignore[attr-defined]
                      values[start:stop])


def _bob(cls: type, message: bytes, params: CacheParams, queries: np.ndarray) -> np.ndarray:
    """Bob's rows for ``queries``, T_K per pass, each pass from the bytes alone."""
    t = SCHED.last_scale_tokens
    out = []
    for start in range(0, queries.shape[0], t):
        batch = queries[start : start + t]
        q = np.zeros((t, D))
        q[: batch.shape[0]] = batch
        cache = cls.from_bytes(message, params)  # type: ignore[attr-defined]
        z = np.asarray(cache.process(q, np.zeros((t, D)), np.zeros((t, D))))
        out.append(z[: batch.shape[0]])
    return np.concatenate(out)


# -- the combinatorial number system -------------------------------------------------------
@given(d=st.integers(1, 130), data=st.data())
def test_colex_rank_round_trips_with_big_integers(d: int, data: st.DataObject) -> None:
    s = data.draw(st.integers(0, d))
    support = tuple(sorted(data.draw(st.sets(st.integers(0, d - 1), min_size=s, max_size=s))))
    rank = rank_subset(support)
    assert 0 <= rank < math.comb(d, s) and rank.bit_length() <= rank_width(d, s)
    assert unrank_subset(rank, s, d) == support


def test_rank_rows_is_a_bijection_on_every_weight() -> None:
    d = 7
    for s in range(d + 1):
        rows = np.zeros((math.comb(d, s), d), dtype=np.uint8)
        for j, c in enumerate(itertools.combinations(range(d), s)):
            rows[j, list(c)] = 1
        ranks = rank_rows(rows)
        assert sorted(ranks) == list(range(math.comb(d, s)))
        assert np.array_equal(unrank_rows(ranks, [s] * len(ranks), d), rows)


# -- support -------------------------------------------------------------------------------
@pytest.mark.parametrize(("s", "signed"), [(None, False), (3, False), (3, True), (None, True)])
def test_support_cache_round_trips_and_routes(s: int | None, signed: bool) -> None:
    rng = np.random.default_rng(4)
    n = SCHED.cached_tokens
    keys = _keys(rng, n)
    values = np.zeros((n, D))
    for i in range(n):
        weight = s if s is not None else int(rng.integers(0, D + 1))
        support = rng.choice(D, size=weight, replace=False)
        values[i, support] = rng.choice([-1.0, 1.0], size=weight) if signed else 1.0
    options = {"signed": signed} | ({"s": s} if s is not None else {})
    params = CacheParams(D, SCHED, options)
    cache = SupportCache(params)
    _stream(cache, keys, values)
    message = cache.to_bytes()
    np.testing.assert_array_equal(_bob(SupportCache, message, params, 7.0 * keys), values)
    assert_rejects_corruption(SupportCache, message, params, step=7)
    if s is not None:  # the message is exactly framing + lengths + hash + packed ranks
        mph, _ = build_mph(fingerprints(keys < 0))
        assert 8 * len(message) == support_message_bits(n, D, s, 8 * len(mph), signed)


def test_support_cache_refuses_what_it_cannot_code() -> None:
    params = CacheParams(D, SCHED, {"s": 2})
    rng = np.random.default_rng(0)
    wrong_weight = np.zeros((1, D))
    wrong_weight[0, :3] = 1
    with pytest.raises(ValueError, match="exactly 2 non-zeros; a row has 3"):
        SupportCache(params).process(np.zeros((1, D)), _keys(rng, 1), wrong_weight)
    with pytest.raises(ValueError, match=r"values in \{0, 1\}, got -1"):
        SupportCache(CacheParams(D, SCHED)).process(np.zeros((1, D)), _keys(rng, 1),
                                                     -np.eye(1, D))
    for bad in ({"s": 0}, {"s": D + 1}, {"s": 1.5}, {"signed": "yes"}):
        with pytest.raises(ValueError):
            SupportCache(CacheParams(D, SCHED, bad))


# -- window -------------------------------------------------------------------------------
@pytest.mark.parametrize("w", [1, 2, 3, 9])
def test_window_cache_keeps_exactly_the_last_w_minus_1_scales(w: int) -> None:
    rng = np.random.default_rng(w)
    n = SCHED.cached_tokens
    keys, values = _keys(rng, n), rng.integers(0, 2, size=(n, D)).astype(float)
    params = CacheParams(D, SCHED, {"w": w})
    cache = WindowCache(params)
    _stream(cache, keys, values)
    first = n - sum(SCHED.tokens[max(0, SCHED.num_scales - w) : SCHED.num_scales - 1])
    assert cache.stored_tokens == n - first
    message = cache.to_bytes()
    if n - first:
        np.testing.assert_array_equal(_bob(WindowCache, message, params, 5.0 * keys[first:]),
                                      values[first:])
        assert_rejects_corruption(WindowCache, message, params, step=11)
    else:
        assert len(message) == 10  # framing, two zero lengths: nothing is ever visible again


def test_window_outputs_on_alices_side_see_only_the_window() -> None:
    rng = np.random.default_rng(1)
    params = CacheParams(D, SCHED, {"w": 2})
    cache = WindowCache(params)
    keys = _keys(rng, SCHED.cached_tokens)
    values = np.eye(SCHED.cached_tokens, D)  # token i has a 1 in coordinate i (i < D)
    out = []
    for start, stop in SCHED.block_bounds[:-1]:
        q = np.zeros((stop - start, D))
        q[0] = 9.0 * keys[0]  # every block asks for token 0, of scale 1
        out.append(cache.process(q, keys[start:stop], values[start:stop])[0])
    assert out[0][0] == 1 and out[1][0] == 1  # scales 1-2: token 0 still in the window
    assert out[2][0] == 0 and out[3][0] == 0  # from scale 3 on it is gone


# -- cluster -------------------------------------------------------------------------------
def test_cluster_merges_repeated_keys_and_samples_uniformly() -> None:
    """Tokens with one key form one cluster; each member is the sample w.p. 1/size."""
    members = 5
    key = _keys(np.random.default_rng(0), 1)
    keys = np.repeat(key, members, axis=0)
    values = np.eye(members, D)
    sched = Schedule.parse("1,2,3")
    params = CacheParams(D, sched)
    counts = np.zeros(members, dtype=int)
    trials = 2000
    for seed in range(trials):
        cache = ClusterCache(params, np.random.default_rng(seed))
        cache.process(np.zeros((1, D)), keys[:1], values[:1])
        cache.process(np.zeros((4, D)), keys[1:], values[1:])
        assert cache.stored_tokens == 1
        counts[int(np.argmax(cache._values[0]))] += 1
    # Binomial(2000, 1/5): sd = sqrt(2000 * 0.16) ~ 17.9; 5 sd = 90
    assert np.all(np.abs(counts - trials / members) < 90), counts


def test_cluster_equals_the_packer_on_distinct_keys() -> None:
    rng = np.random.default_rng(2)
    n = SCHED.cached_tokens
    keys, values = _keys(rng, n), rng.integers(0, 2, size=(n, D)).astype(float)
    params = CacheParams(D, SCHED)
    cluster, packer = ClusterCache(params, rng), PackerCache(params)
    _stream(cluster, keys, values)
    _stream(packer, keys, values)
    message = cluster.to_bytes()
    np.testing.assert_array_equal(_bob(ClusterCache, message, params, 3.0 * keys), values)
    mph, _ = build_mph(fingerprints(keys < 0))  # one hash over all keys: the final state
    assert len(message) == (8 + len(leb128(n)) + len(leb128(len(mph))) + len(mph)
                            + (n * D + 7) // 8)
    np.testing.assert_array_equal(_bob(PackerCache, packer.to_bytes(), params, 3.0 * keys),
                                  values)  # the packer (complete at every boundary) agrees
    assert_rejects_corruption(ClusterCache, message, params, step=11)


# -- topk-attention -------------------------------------------------------------------------
@given(k=st.integers(1, 12), seed=st.integers(0, 50))
def test_topk_attention_is_dense_attention_on_its_top_k(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    q, keys, values = rng.normal(size=(4, 6)), rng.normal(size=(9, 6)), rng.normal(size=(9, 3))
    out = topk_attend(q, keys, values, k)
    for i in range(4):
        top = np.argsort(-(q[i] @ keys.T), kind="stable")[: min(k, 9)]
        np.testing.assert_allclose(out[i], attend(q[i : i + 1], keys[top], values[top])[0],
                                   rtol=1e-10, atol=1e-12)


def test_topk_cache_stores_everything_and_decodes() -> None:
    rng = np.random.default_rng(3)
    n = SCHED.cached_tokens
    keys, values = _keys(rng, n), rng.integers(0, 2, size=(n, D)).astype(float)
    params = CacheParams(D, SCHED, {"k": 1, "dtype": "float16"})
    cache = TopKAttentionCache(params)
    _stream(cache, keys, values)
    message = cache.to_bytes()
    assert 8 * len(message) >= 2 * n * D * 16  # every key and value at float16
    np.testing.assert_array_equal(_bob(TopKAttentionCache, message, params, 30.0 * keys),
                                  values)
    with pytest.raises(ValueError, match="k=0 must be an integer >= 1"):
        TopKAttentionCache(CacheParams(D, SCHED, {"k": 0}))
