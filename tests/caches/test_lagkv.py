"""LagKV (caches/lagkv.py): each partition scored against the min/max of the next one."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from caches.lagkv import LagKVCache, lagkv_scores, partition_scores
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_partition_scores_by_hand() -> None:
    """Partition rows (0, 2), (1, 1) against the reference rows (0, 0), (2, 2): per
    channel min 0, max 2, so the normalised rows are (0, 1) and (1/2, 1/2), their
    unbiased stds 1/sqrt 2 and 0, and the softmax of those two."""
    x = np.array([[[0.0, 2.0], [1.0, 1.0]], [[0.0, 0.0], [2.0, 2.0]]])
    e = np.exp(1 / np.sqrt(2))
    assert np.allclose(partition_scores(x), [[e / (e + 1), 1 / (e + 1)]])


def test_a_flat_reference_channel_counts_zero() -> None:
    """kvpress divides by max - min = 0 (NaN); here that channel contributes 0: rows
    (0, 2), (5, 1) against a reference with channel 0 flat (3, 3) and channel 1 in [0, 2]
    normalise to (0, 1), (0, 1/2), stds 1/sqrt 2 and 1/(2 sqrt 2)."""
    x = np.array([[[0.0, 2.0], [5.0, 1.0]], [[3.0, 0.0], [3.0, 2.0]]])
    a, b = np.exp(1 / np.sqrt(2)), np.exp(1 / (2 * np.sqrt(2)))
    assert np.allclose(partition_scores(x), [[a / (a + b), b / (a + b)]])


def test_scores_with_sinks_partitions_and_tail() -> None:
    """n = 7, one sink, lag 2: partitions [1, 3), [3, 5), [5, 7); the first two are scored
    (ranks 0 or 1/2 within each), the sink and the tail [5, 7) score 1."""
    k = np.array([[9, 9], [0, 1], [0, 0], [1, 0], [1, 1], [0, 0], [1, 1.0]])
    v = np.zeros((7, 2))
    s = lagkv_scores(k, v, n_sink=1, lag=2)
    assert s[0] == 1 and s[5] == 1 and s[6] == 1
    # partition [1, 3) against [3, 5) (min 0 / max 1 per channel): rows (0, 1) and (0, 0),
    # stds 1/sqrt 2 and 0: token 1 ranks above token 2; likewise token 3 above token 4
    # against [5, 7). Values are all zero: their score is uniform.
    assert s[1:5].tolist() == [0.5, 0.0, 0.5, 0.0]


def test_short_sequences_keep_sinks_then_the_newest() -> None:
    assert lagkv_scores(np.zeros((5, 2)), np.zeros((5, 2)), 1, 4).tolist() == [
        1.0, 0.0, 0.25, 0.5, 0.75]


def test_the_cache_keeps_sinks_and_tail_first() -> None:
    params = CacheParams(2, Schedule.parse("1,2,3"), {"budget": 3, "sinks": 1, "lag": 2})
    cache = LagKVCache(params, None)
    cache.process(np.zeros((1, 2)), np.array([[9.0, 9.0]]), np.zeros((1, 2)))
    cache.process(np.zeros((4, 2)), np.array([[0, 1], [0, 0], [1, 0], [1, 1.0]]),
                  np.zeros((4, 2)))
    # n = 5 < 1 + 2 * 2: no scoring; the sink and the two newest remain
    assert cache.positions.tolist() == [0, 3, 4]


@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 40), st.integers(0, 2**16))
def test_forced_rows_outrank_every_scored_row(n_sink: int, lag: int, extra: int,
                                              seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = n_sink + 2 * lag + extra
    s = lagkv_scores(rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), n_sink, lag)
    end = n_sink + ((n - n_sink) // lag) * lag
    forced = np.r_[np.arange(n_sink), np.arange(end - lag, n)]
    scored = np.setdiff1d(np.arange(n), forced)
    assert (s[forced] == 1).all() and (s[scored] < 1).all()
    for part in (s[scored] * lag).reshape(-1, lag):  # each partition: ranks 0 .. lag - 1
        assert sorted(np.round(part).astype(int).tolist()) == list(range(lag))
