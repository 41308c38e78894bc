"""Hand-worked sanity cases: numbers computed on paper.

Schedule "1x2,2x2": scale 1 has 2 tokens (cached, L = 2), scale 2 has T_K = 4 tokens.
d = 2, keys k_1 = (1, 1)/sqrt 2 and k_2 = (1, -1)/sqrt 2 (orthogonal: <k_1, k_2> = 0),
Alice's bits X = [[1, 0], [0, 1]].

Bob's query q = C k_1 scores C on k_1, 0 on k_2 and 0 on each of the 4 zero keys, so
softmax puts e^C / (e^C + 5) on token 1 and 1 / (e^C + 5) on token 2:
Z = (e^C / (e^C + 5), 1 / (e^C + 5)). With C = ln 5: Z = (1/2, 1/10).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from caches.exact import ExactCache
from lowerbound.decoding import separates, tau
from lowerbound.jl import binomial_tail, d_min, pair_count
from lowerbound.softmax import c_min, gamma
from reduction.cache import CacheParams
from reduction.schedule import Schedule

SCHEDULE = Schedule.parse("1x2,2x2")
K = np.array([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2)
X = np.array([[1.0, 0.0], [0.0, 1.0]])


def _bob_rows(c: float, token: int) -> np.ndarray:
    params = CacheParams(2, SCHEDULE, {"dtype": "float64"})
    alice = ExactCache(params)
    alice.process(np.zeros((2, 2)), K, X)
    bob = ExactCache.from_bytes(alice.to_bytes(), params)
    q = np.zeros((4, 2))
    q[0] = c * K[token]
    return bob.process(q, np.zeros((4, 2)), np.zeros((4, 2)))[0]


def test_schedule_sizes_by_hand():
    assert SCHEDULE.tokens == (2, 4)
    assert SCHEDULE.cached_tokens == 2 and SCHEDULE.last_scale_tokens == 4


def test_scores_and_outputs_by_hand():
    z = _bob_rows(math.log(5), 0)
    np.testing.assert_allclose(z, [0.5, 0.1], rtol=0, atol=1e-15)
    z2 = _bob_rows(math.log(5), 1)
    np.testing.assert_allclose(z2, [0.1, 0.5], rtol=0, atol=1e-15)


def test_gamma_and_c_min_by_hand():
    """gamma = e^{-C/2} + 4 e^{-C} at eps = 1/2; gamma < 1 iff u = e^{-C/2} solves
    4u^2 + u - 1 < 0, i.e. u < (sqrt 17 - 1)/8, C > 2 ln(8 / (sqrt 17 - 1))."""
    c = math.log(5)
    assert math.isclose(gamma(2, 4, c, 0.5), 5 ** -0.5 + 4 / 5, rel_tol=1e-15)
    by_hand = 2 * math.log(8 / (math.sqrt(17) - 1))
    assert math.isclose(c_min(2, 4, 0.5, 0), by_hand, rel_tol=1e-14)


def test_threshold_by_hand():
    """eta = 1/3, gamma = 1/4: tau = (2/3 + (4/3)(1/4)) / (2 * 5/4) = 2/5."""
    assert math.isclose(tau(0.25, Fraction(1, 3)), 0.4, rel_tol=1e-15)
    assert separates(0.25, Fraction(1, 3))  # 1/4 < (1 - 1/3)/(1 + 1/3) = 1/2
    assert not separates(Fraction(1, 2), Fraction(1, 3))  # equality: the ranges touch


def test_l1_numbers_by_hand():
    """d = 4, eps = 1/2: inner product > 2 means all 4 signs agree: P = 1/16.
    L = 3: 3 pairs; Hoeffding: 3 e^{-d/8} < 1 iff d > 8 ln 3 = 8.79, so d_min = 9."""
    assert binomial_tail(4, Fraction(1, 2)) == Fraction(1, 16)
    assert pair_count(3) == 3
    assert d_min(3, Fraction(1, 2)) == 9


def test_decoding_by_hand():
    """With C = 3 ln 5 (gamma = 5^{-3/2} + 4/125 < 1 at eps = 1/2), both bits decode."""
    c = 3 * math.log(5)
    g = gamma(2, 4, c, 0.5)
    t = tau(g, 0)
    for token in (0, 1):
        z = _bob_rows(c, token)
        np.testing.assert_array_equal((z > t).astype(int), X[token].astype(int))
