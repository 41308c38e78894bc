"""DuoAttention (caches/duo_attention.py): streaming heads keep sink + recent."""

from __future__ import annotations

import numpy as np

from caches.duo_attention import DuoAttentionCache, head_score, streaming_plan
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_plan_by_hand() -> None:
    """4 heads of 424 rows, half kept (848 rows): each streaming head saves at most
    424 - 68 = 356 rows, 848 must be saved: ceil(848 / 356) = 3 streaming heads, which
    share the 848 - 424 rows left: 141 each, 4 sinks + 137 recent. At 40 rows no split
    fits: all stream, 10 rows each, 4 sinks + 6 recent."""
    assert streaming_plan(848, 4, 424, 4, 64) == (3, 4, 137)
    assert streaming_plan(40, 4, 424, 4, 64) == (4, 4, 6)
    assert streaming_plan(4 * 424, 4, 424, 4, 64) == (0, 4, 64)


def test_head_score_by_hand() -> None:
    """Uniform attention over n keys: the cumulated curve i/n averages (n + 1)/(2n); all
    attention on the first key: 1."""
    assert head_score(np.zeros(2), np.ones((4, 2))) == 0.625
    assert np.isclose(head_score(np.array([50.0, 0.0]), np.array([[1.0, 0], [0, 0], [0, 0]])),
                      1.0)


def _cache(queries_head1: np.ndarray) -> DuoAttentionCache:
    """One layer of two heads on "1,2,3" (5 cached tokens), budget 7 rows: one streaming
    head keeping sink 1 + recent 1 (5 + 2 = 7)."""
    params = CacheParams(2, Schedule.parse("1,2,3"), {"budget": 7, "sink": 1, "recent": 1},
                         heads=2)
    cache = DuoAttentionCache(params, None)
    keys = np.array([[[[1.0, 0.0]]] * 2])
    cache.process(np.zeros((1, 2, 1, 2)), keys, np.ones((1, 2, 1, 2)))
    q = np.zeros((1, 2, 4, 2))
    q[0, 1] = queries_head1
    keys2 = np.zeros((1, 2, 4, 2))
    cache.process(q, keys2, np.ones((1, 2, 4, 2)))
    return cache


def test_ties_stream_the_lower_head() -> None:
    """Zero queries: both heads score (n + 1)/(2n); head 0 streams."""
    cache = _cache(np.zeros((4, 2)))
    assert cache.n_streaming == 1 and cache.streaming.tolist() == [True, False]
    assert [p.tolist() for p in cache.positions] == [[0, 4], [0, 1, 2, 3, 4]]


def test_a_head_looking_at_old_tokens_is_a_retrieval_head() -> None:
    """The head whose queries point at the first key (the oldest token) scores near 1,
    above the other head's uniform 0.6, so the other head streams, whichever it is; the
    split is stored in the message."""
    looks_back = np.tile([50.0, 0.0], (4, 1))
    assert _cache(looks_back).streaming.tolist() == [True, False]
    params = CacheParams(2, Schedule.parse("1,2,3"), {"budget": 7, "sink": 1, "recent": 1},
                         heads=2)
    cache = DuoAttentionCache(params, None)
    cache.process(np.zeros((1, 2, 1, 2)), np.array([[[[1.0, 0.0]]] * 2]), np.ones((1, 2, 1, 2)))
    q = np.zeros((1, 2, 4, 2))
    q[0, 0] = looks_back
    cache.process(q, np.zeros((1, 2, 4, 2)), np.ones((1, 2, 4, 2)))
    assert cache.streaming.tolist() == [False, True]
    rebuilt = DuoAttentionCache.from_bytes(cache.to_bytes(), params)
    assert rebuilt.streaming.tolist() == [False, True]
