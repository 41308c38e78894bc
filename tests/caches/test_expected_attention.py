"""Expected attention (caches/expected_attention.py): exp-moments of the queries, times ||v||."""

from __future__ import annotations

import numpy as np
import pytest

from caches.expected_attention import (
    ExpectedAttentionCache,
    expected_attention_scores,
    query_statistics,
)
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_statistics_by_hand() -> None:
    mu, cov = query_statistics(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert mu.tolist() == [2.0, 2.0] and cov.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_scores_by_hand() -> None:
    """Queries (1, 0), (3, 0): mu = (2, 0), Sigma = diag(1, 0). Key e1: z = 2 + 1/2; key
    e2: z = 0. Values (3, 4) and (1, 0): norms 5 and 1."""
    q = np.array([[1.0, 0.0], [3.0, 0.0]])
    s = expected_attention_scores(q, np.eye(2), np.array([[3.0, 4.0], [1.0, 0.0]]),
                                  np.array([10, 11]), np.array([10, 11]), n_sink=4)
    p = np.exp(2.5) / (np.exp(2.5) + 1)
    assert np.allclose(s, [5 * p, 1 - p])


def test_sinks_are_forced_and_sink_queries_left_out() -> None:
    q = np.array([[100.0, 0.0], [1.0, 0.0], [3.0, 0.0]])  # the first is a sink position
    k = np.array([[5.0, 5.0], [1.0, 0.0], [0.0, 1.0]])
    v = np.array([[0.0, 1.0], [3.0, 4.0], [1.0, 0.0]])
    s = expected_attention_scores(q, k, v, np.arange(3), np.arange(3), n_sink=1)
    rest = expected_attention_scores(q[1:], k[1:], v[1:], np.arange(1, 3), np.arange(1, 3),
                                     n_sink=1)
    assert np.allclose(s[1:], rest)  # the sink query and the sink key change nothing
    assert s[0] == s[1:].max() + 1  # kvpress pads the sinks with max + 1


def test_zero_queries_rank_by_value_norm() -> None:
    """Alice's side: mu = Sigma = 0, softmax uniform: s_i = ||v_i|| / n."""
    v = np.array([[1.0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0]])
    s = expected_attention_scores(np.zeros((4, 3)), np.eye(4, 3), v, np.arange(4) + 4,
                                  np.arange(4) + 4)
    assert np.allclose(s, np.linalg.norm(v, axis=1) / 4)


def test_the_cache_keeps_the_heaviest_rows_on_zero_queries() -> None:
    params = CacheParams(4, Schedule.parse("1,2,3"), {"budget": 3, "sinks": 0})
    cache = ExpectedAttentionCache(params, None)
    cache.process(np.zeros((1, 4)), np.ones((1, 4)) / 2, np.ones((1, 4)))
    v = np.array([[0.0, 0, 0, 1], [1, 1, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]])
    cache.process(np.zeros((4, 4)), np.eye(4) / 2, v)
    assert cache.positions.tolist() == [0, 2, 4]  # weights 4, 3, 2 kept; 1 and 0 go


@pytest.mark.parametrize("options", [{"covariance": 1}, {"vnorm": "yes"}, {"epsilon": 2.0},
                                     {"sinks": -1}])
def test_bad_options(options: dict) -> None:
    with pytest.raises(InvalidArgument):
        ExpectedAttentionCache(CacheParams(4, Schedule.parse("1,2"), options), None)
