"""AdaKV (caches/adakv.py): the heads of a layer share its budget, alpha safeguard."""

from __future__ import annotations

import numpy as np
import pytest

from caches._heads import joint_top
from caches.adakv import AdaKVCache
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_joint_top_by_hand() -> None:
    """Scores (1, 3) and (2, 3), keep 3: both 3s (tie: same position, lower head first),
    then the 2."""
    out = joint_top([np.array([1.0, 3.0]), np.array([2.0, 3.0])], [np.arange(2)] * 2, 3)
    assert [a.tolist() for a in out] == [[1], [0, 1]]


def _two_heads(alpha: float) -> AdaKVCache:
    """One layer, two heads, four tokens, budget 4 rows: head 0's keys are short (K-norm
    scores -0.1, high), head 1's long (-1, low)."""
    params = CacheParams(2, Schedule.parse("2,3"), {"budget": 4, "scorer": "knorm",
                                                   "alpha": alpha}, heads=2)
    cache = AdaKVCache(params, None)
    keys = np.stack([np.full((4, 2), 0.1 / np.sqrt(2)), np.full((4, 2), 1 / np.sqrt(2))])
    cache.process(np.zeros((1, 2, 4, 2)), keys[None], np.zeros((1, 2, 4, 2)))
    return cache


def test_low_scoring_heads_give_their_rows_to_high_scoring_ones() -> None:
    cache = _two_heads(alpha=0.0)
    assert [p.size for p in cache.positions] == [4, 0]


def test_the_safeguard_keeps_alpha_of_the_nominal_share() -> None:
    """Nominal share 4 // 2 = 2 per head; alpha = 1/2 protects int(2 * 1/2) = 1 token of
    head 1 (its newest, the scores tie)."""
    cache = _two_heads(alpha=0.5)
    assert [p.tolist() for p in cache.positions] == [[1, 2, 3], [3]]


def test_layers_do_not_share() -> None:
    params = CacheParams(2, Schedule.parse("2,3"), {"budget": 4, "scorer": "knorm",
                                                   "alpha": 0.0}, heads=1, layers=2)
    cache = AdaKVCache(params, None)
    keys = np.stack([np.full((4, 2), 0.1), np.full((4, 2), 1.0)])[:, None]
    cache.process(np.zeros((2, 1, 4, 2)), keys, np.zeros((2, 1, 4, 2)))
    assert [p.size for p in cache.positions] == [2, 2]


@pytest.mark.parametrize("options", [{"scorer": "tova"}, {"alpha": -0.1}, {"budget": "all"}])
def test_bad_options(options: dict) -> None:
    with pytest.raises(InvalidArgument):
        AdaKVCache(CacheParams(2, Schedule.parse("1,2"), options, heads=2), None)
