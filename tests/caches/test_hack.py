"""HACK and HACK++ (caches/var/hack.py, hackpp.py): head classes, asymmetric budgets."""

from __future__ import annotations

import numpy as np
import pytest

from caches.var.hack import HACKCache, class_budgets, lattice_priority, structural_mask
from caches.var.hackpp import HACKPlusCache, top_attention
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.schedule import Schedule

SMALL = Schedule.parse("1,2,4,8")  # cached 1 + 4 + 16 = 21 tokens


def test_classes_and_budgets_by_hand() -> None:
    """Five heads, alpha 1/2: the first ceil(2.5) = 3 are structural. 300 rows over one
    structural and two contextual heads at ratio 2: B_c = 300/4 = 75, B_s = 150."""
    assert structural_mask(5, 0.5).tolist() == [True, True, True, False, False]
    assert class_budgets(300, np.array([True, False, False]), 2.0, 424).tolist() == [150, 75,
                                                                                       75]
    assert class_budgets(20, np.array([True, False]), 2.0, 21).tolist() == [13, 7]
    two_s = np.array([True, True, False])
    assert class_budgets(1001, two_s, 3.0, 1000).tolist() == [429, 429, 143]  # 3003/7
    assert class_budgets(1001, two_s, 3.0, 424).tolist() == [424, 424, 153]  # capped at L


def test_lattice_priority_by_hand() -> None:
    """A 2 x 2 scale after a 1 x 1: the newer scale first; inside it (0, 0) is on every
    lattice (level 30), the others on none (level 0)."""
    assert lattice_priority(Schedule.parse("1,2,3")).tolist()[:5] == [30, 94, 64, 64, 64]


def _run(cls: type, options: dict) -> HACKCache:
    """One layer of two heads (head 0 structural), scales 1x1, 2x2, 4x4, zero queries."""
    params = CacheParams(2, SMALL, {"budget": 20, **options}, heads=2)
    cache = cls(params, None)
    rng = np.random.default_rng(0)
    for start, stop in SMALL.block_bounds[:-1]:
        shape = (1, 2, stop - start, 2)
        cache.process(np.zeros(shape), rng.normal(size=shape), rng.normal(size=shape))
    return cache


def test_structural_and_contextual_heads_keep_what_their_rules_say() -> None:
    """Budgets 13 and 7 (ratio 2). The structural head keeps the newest scale (4 x 4,
    positions 5-20) but 3 tokens: its coarse lattice points (rows and columns even) first,
    then the most recent odd ones, dropping the three oldest odd ones (6, 8, 9). The
    contextual head's grid votes tie: it keeps the grid's 7 newest tokens, 14-20."""
    cache = _run(HACKCache, {})
    assert cache.positions[0].tolist() == [5, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    assert cache.positions[1].tolist() == list(range(14, 21))


def test_hackpp_caches_what_hack_caches_but_attends_to_fewer_keys() -> None:
    hack, plus = _run(HACKCache, {}), _run(HACKPlusCache, {"attention": 0.3})
    assert [p.tolist() for p in plus.positions] == [p.tolist() for p in hack.positions]
    assert plus.to_bytes()[4:-4] == hack.to_bytes()[4:-4]  # the same state, another tag
    assert HACKPlusCache(CacheParams(2, SMALL, {}, heads=2), None).rows == 5  # 10% of 42


def test_top_attention_by_hand() -> None:
    """Logits 2, 1, 0; half of three keys rounds up to two: softmax over (2, 1) only."""
    q = np.array([[1.0, 0.0]])
    k = np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    v = np.array([[1.0], [0.0], [5.0]])
    assert np.allclose(top_attention(q, k, v, 0.5), [[np.e / (np.e + 1)]])
    assert np.allclose(top_attention(q, k, v, 1.0), attend(q, k, v))


@pytest.mark.parametrize("options", [{"ratio": 0.5}, {"structural": 1.5}, {"kernel": 2},
                                     {"attention": 0.0}])
def test_bad_options(options: dict) -> None:
    with pytest.raises(InvalidArgument):
        HACKPlusCache(CacheParams(2, SMALL, options, heads=2), None)
