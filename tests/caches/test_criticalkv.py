"""CriticalKV (caches/criticalkv.py): stage 1 by the base score, stage 2 by (s + eps)||v||_1."""

from __future__ import annotations

import numpy as np
import pytest

from caches.criticalkv import EPSILON, CriticalKVCache, critical_scores
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_two_stages_by_hand() -> None:
    """n_kept 4, ratio 1/2: the 2 best base scores are forced; the rest get
    (s + 1e-4) * ||v||_1 (W_o = I)."""
    base = np.array([5.0, 1.0, 4.0, 2.0, 0.5])
    v = np.array([[1.0, 1], [1, 1], [0, 0], [1, 0], [3, 0]])
    s = critical_scores(base, v, np.arange(5), 4)
    assert s[0] == np.inf and s[2] == np.inf
    assert np.allclose(s[[1, 3, 4]], [(1 + EPSILON) * 2, (2 + EPSILON) * 1,
                                      (0.5 + EPSILON) * 3])


def test_the_cache_by_hand_on_zero_queries() -> None:
    """Six tokens, budget 3, SnapKV base (window min(64, 3) = 3): zero queries give
    uniform votes 1/6; the prefix (tokens 0-2) pools to 3/6/5 = 0.1 each, the window
    (3-5) scores 1.1. Stage 1 forces int(3/2) = 1 token: the newest of the tied window,
    5. Stage 2 with weights (8, 1, 1, 0, 2, 5): 0.1001*8 = 0.80 (token 0) beats
    1.1001*0 (token 3) and 1.1001*2 = 2.20 (token 4) wins: tokens 0, 4, 5 kept."""
    params = CacheParams(8, Schedule.parse("3,4"), {"budget": 3})
    cache = CriticalKVCache(params, None)
    weights = [8, 1, 1, 0, 2, 5]
    v = np.array([[1.0] * w + [0.0] * (8 - w) for w in weights])
    cache.process(np.zeros((6, 8)), np.eye(6, 8), v)
    assert cache.positions.tolist() == [0, 4, 5]


@pytest.mark.parametrize("options", [{"scorer": "h2o"}, {"first_stage": 1.5}])
def test_bad_options(options: dict) -> None:
    with pytest.raises(InvalidArgument):
        CriticalKVCache(CacheParams(4, Schedule.parse("1,2"), options), None)
