"""Witnessed key families (Lemma WITNESS, docs/theorem.md#witness): the greedy search's
result is a certificate, checked independently, and beats the union bound below d_min."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowerbound.jl import d_min, max_keys
from reduction.witnessed import (
    certify_family,
    inner_product_threshold,
    search_family,
    witnessed_family,
    witnessed_prefix,
)


def brute_force_max(signs: np.ndarray) -> int:
    """max_{i != j} <sigma_i, sigma_j> with the full integer Gram matrix."""
    s = signs.astype(np.int64)
    g = s @ s.T
    np.fill_diagonal(g, np.iinfo(np.int64).min)
    return int(g.max())


@given(n=st.integers(2, 300), d=st.integers(4, 24),
       eps=st.sampled_from([0.25, 0.5, 0.625, 0.75, 0.9]), seed=st.integers(0, 2**32))
@settings(max_examples=20)
def test_search_result_is_a_certificate(n: int, d: int, eps: float, seed: int) -> None:
    """WITNESS: every pairwise inner product of the family is <= floor(eps d) (brute force)."""
    fam = witnessed_family(n, d, eps, rng=seed)
    assert 1 <= fam.n_keys <= n
    if fam.n_keys > 1:
        assert brute_force_max(fam.signs) <= Fraction(eps) * d
        assert fam.max_inner_product == brute_force_max(fam.signs) / d
    assert len({row.tobytes() for row in fam.signs}) == fam.n_keys  # distinct keys


def test_search_is_deterministic_from_the_seed() -> None:
    a, ta = search_family(200, 12, 0.75, rng=7)
    b, tb = search_family(200, 12, 0.75, rng=7)
    np.testing.assert_array_equal(a, b)
    assert ta == tb
    c, _ = search_family(200, 12, 0.75, rng=8)
    assert not np.array_equal(a, c)


def test_beats_the_union_bound_below_d_min() -> None:
    """var-256 at d = 16, eps = 3/4: the union bound guarantees 13 keys, the search 424."""
    assert d_min(424, 0.75) == 41
    assert max_keys(16, 0.75, cap=424) == 13
    fam = witnessed_prefix(424, 16, 0.75, 0, 424)
    assert fam.n_keys == 424
    assert brute_force_max(fam.signs) <= 12


def test_search_fills_the_whole_cube_when_eps_only_asks_distinct_keys() -> None:
    """d = 8, eps = 3/4 (<= 6 means distinct): at most 2^8 keys exist and all are found."""
    fam = witnessed_family(424, 8, 0.75, rng=0)
    assert fam.n_keys == 256
    assert brute_force_max(fam.signs) == 6


def test_certify_rejects_a_bad_family() -> None:
    bad = np.array([[1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, 1, 1]], dtype=np.int8)
    assert brute_force_max(bad) == 2
    with pytest.raises(ValueError, match=r"inner product 2/4 = 0.5 > eps=0.25"):
        certify_family(bad, 0.25)
    assert certify_family(bad, 0.5) == 0.5


def test_threshold_reads_eps_exactly() -> None:
    """0.7 is below 7/10 in binary, so 0.7 * 10 = 7 in floats but floor is 6."""
    assert inner_product_threshold(10, 0.7) == 6
    assert inner_product_threshold(16, 0.75) == 12


def test_prefix_refuses_more_carriers_than_found() -> None:
    with pytest.raises(ValueError, match=r"found 256 keys, fewer than carriers=300"):
        witnessed_prefix(424, 8, 0.75, 0, 300)
    sub = witnessed_prefix(424, 16, 0.75, 0, 10)
    assert sub.n_keys == 10
    assert sub.max_inner_product == brute_force_max(sub.signs) / 16
