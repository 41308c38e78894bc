"""ThinK (caches/think.py): key channels pruned by query-key energy, only kept ones stored."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches.think import ThinKCache, channel_scores, pruned_channels
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import FRAME_OVERHEAD_BYTES
from reduction.schedule import Schedule
from tests.caches.multihead import run_heads
from tests.strategies import small_schedules


def test_channel_scores_by_hand() -> None:
    """mean_t q_c^2 = (1, 2), mean_i k_c^2 = (9, 1): scores (9, 2)."""
    q = np.array([[1.0, 2.0], [1.0, 0.0]])
    assert channel_scores(q, np.array([[3.0, 1.0]])).tolist() == [9.0, 2.0]
    assert pruned_channels(np.array([0.0, 5.0, 0.0, 1.0]), 2).tolist() == [True, False,
                                                                            True, False]


def _message_bytes(cache: ThinKCache) -> int:
    g = len(cache.keys)
    return (FRAME_OVERHEAD_BYTES + 2 + 4 + 4 + 4 * g + math.ceil(g * cache.d / 8)
            + 2 * sum(k.size for k in cache.keys) + 2 * cache.values.size)


def test_zero_queries_keep_the_last_channels_of_every_key() -> None:
    params = CacheParams(8, Schedule.parse("1,2,3"), {"key_channels": 0.25})
    cache = ThinKCache(params, None)
    rng = np.random.default_rng(0)
    for t in (1, 4):
        cache.process(np.zeros((t, 8)), rng.normal(size=(t, 8)), rng.normal(size=(t, 8)))
    assert [m.tolist() for m in cache.masks] == [[False] * 6 + [True] * 2] * 2
    assert len(cache.to_bytes()) == _message_bytes(cache)
    assert all(k.shape[1] == 2 for k in cache.keys)


def test_a_token_keeps_only_the_channels_kept_at_every_boundary_since() -> None:
    """Boundary 1 keeps channels {2, 3} (its queries weigh them), boundary 2 keeps {1, 3}:
    the first block ends with {3}, the second with {1, 3}."""
    params = CacheParams(4, Schedule.parse("1,2,3"), {"key_channels": 0.5})
    cache = ThinKCache(params, None)
    keys1 = np.ones((1, 4))
    cache.process(np.array([[0.0, 0.0, 1.0, 1.0]]), keys1, np.zeros((1, 4)))
    assert cache.masks[0].tolist() == [False, False, True, True]
    cache.process(np.array([[0.0, 1.0, 0.0, 1.0]] * 4), np.ones((4, 4)), np.zeros((4, 4)))
    assert [m.tolist() for m in cache.masks] == [[False, False, False, True],
                                                [False, True, False, True]]
    full = cache.full_keys()
    assert full[0].tolist() == [0, 0, 0, 1] and full[1].tolist() == [0, 1, 0, 1]


@settings(max_examples=20, deadline=None)
@given(schedule=small_schedules(), kept=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
       seed=st.integers(0, 2**16))
def test_outputs_and_bytes(schedule: Schedule, kept: float, seed: int) -> None:
    """Attention runs over the stored (pruned) keys and the new block, values intact; the
    message is exactly what the docstring lists and rebuilds the same state."""
    rng = np.random.default_rng(seed)
    params = CacheParams(8, schedule, {"key_channels": kept})
    cache = ThinKCache(params, None)
    for start, stop in schedule.block_bounds[:-1]:
        t = stop - start
        q, k, v = (rng.normal(size=(t, 8)) for _ in range(3))
        want_keys = np.concatenate([cache.full_keys(), k.astype(np.float16)])
        want_values = np.concatenate([cache.values, v.astype(np.float16)])
        assert np.allclose(cache.process(q, k, v), attend(q, want_keys, want_values))
    assert int(cache.masks[-1].sum()) == cache.kept_channels
    data = cache.to_bytes()
    assert len(data) == _message_bytes(cache)
    assert ThinKCache.from_bytes(data, params).to_bytes() == data


def test_retrieval_survives_down_to_a_third_of_the_channels() -> None:
    """var-256, d = 64, one layer of two heads: no bit lost at d' >= 32 kept channels,
    most lost at d' = 8 (Bob's own logit falls to C d'/d)."""
    errors = {kc: run_heads(ThinKCache, 1, 2, {"key_channels": kc}, seed=1).error_rate
              for kc in (0.125, 0.5, 1.0)}
    assert errors[1.0] == 0 and errors[0.5] == 0 and errors[0.125] > 0.3


def test_bad_options() -> None:
    for options in ({"key_channels": 0.0}, {"key_channels": 1.5}, {"window": 0}):
        with pytest.raises(InvalidArgument):
            ThinKCache(CacheParams(8, Schedule.parse("1,2"), options), None)


def test_rejects_inconsistent_masks() -> None:
    params = CacheParams(4, Schedule.parse("1,2,3"), {"key_channels": 0.5})
    cache = ThinKCache(params, None)
    cache.process(np.array([[0.0, 0.0, 1.0, 1.0]]), np.ones((1, 4)), np.zeros((1, 4)))
    cache.process(np.array([[0.0, 1.0, 0.0, 1.0]] * 4), np.ones((4, 4)), np.zeros((4, 4)))
    cache.masks[0] = np.array([True, False, False, True])  # not within the newer mask
    cache.keys[0] = np.ones((1, 2), dtype=np.float16)
    with pytest.raises(ValueError, match="older block"):
        ThinKCache.from_bytes(cache.to_bytes(), params)
