"""Key repair (Lemma L1, docs/theorem.md#l1) below d_min, where the first sample fails.

At L = 424, eps = 3/4, d = 24 (below the Hoeffding d_min 41 and the exact-binomial 29)
a random family has ~1.6 pairs with <sigma_i, sigma_j> > eps d in expectation
(L(L-1)/2 * P(Bin(24, 1/2) > 21)), so the first sample usually fails: the rows of the
offending pairs are resampled, and the family returned is still certified.
"""

from __future__ import annotations

import numpy as np
import pytest

from lowerbound.jl import d_min, d_min_exact, exact_failure_bound
from reduction.keys import bad_rows, sample_keys

L, D, EPS = 424, 24, 0.75


def _brute_max(signs: np.ndarray) -> int:
    g = signs.astype(np.int64) @ signs.T.astype(np.int64)
    np.fill_diagonal(g, -signs.shape[1] - 1)
    return int(g.max())


def test_the_regime_is_below_d_min_and_a_bad_pair_is_expected() -> None:
    assert D < d_min_exact(L, EPS) < d_min(L, EPS)
    assert exact_failure_bound(L, EPS, D) > 1  # expected bad pairs of one sample


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_repair_runs_more_than_one_round_and_certifies_the_family(seed: int) -> None:
    family = sample_keys(L, D, EPS, np.random.default_rng(seed), require_d_min=False)
    assert family.rounds > 1  # the first sample had a pair above eps d
    assert family.max_inner_product <= EPS
    assert _brute_max(family.signs) <= EPS * D  # checked again, independently
    assert bad_rows(family.signs, EPS).size == 0
    assert family.signs.shape == (L, D) and set(np.unique(family.signs)) == {-1, 1}


def test_below_d_min_is_refused_in_the_theorems_regime() -> None:
    with pytest.raises(ValueError, match="need d >= 41"):
        sample_keys(L, D, EPS, 1)
