"""Properties of lowerbound/ read as the lemmas of docs/theorem.md (hypothesis + examples)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowerbound.bound import (
    index_lower_bound_bits,
    low_dimension_bound_bits,
    theorem_bound_bits,
)
from lowerbound.decoding import one_range, separates, tau, zero_range
from lowerbound.entropy import binary_entropy, information_bits
from lowerbound.jl import binomial_tail, d_min, d_min_exact, max_keys, pair_count
from lowerbound.softmax import c_min, gamma, gamma_target

EPSILONS = [Fraction(1, 4), Fraction(1, 2), Fraction(5, 8), Fraction(3, 4), Fraction(9, 10)]


@st.composite
def keys_and_eps(draw: Any, max_keys_: int = 5000) -> tuple[int, Fraction]:
    """(L, eps) with L >= 3 and eps among the exact fractions above."""
    return draw(st.integers(3, max_keys_)), draw(st.sampled_from(EPSILONS))


@st.composite
def regimes(draw: Any) -> tuple[int, int, Fraction, Fraction]:
    """(L, T_K, eps, eta): L >= 2 cached tokens, T_K >= 2 (as in every schedule), eta < 1."""
    n = draw(st.integers(2, 3000))
    t = draw(st.integers(2, 3000))
    eps = draw(st.sampled_from(EPSILONS))
    eta = Fraction(draw(st.integers(0, 9)), 10)
    return n, t, eps, eta


# -- L1 ----------------------------------------------------------------------------------
@given(keys_and_eps())
def test_d_min_is_least_satisfying_dimension(case: tuple[int, Fraction]) -> None:
    """L1: L(L-1)/2 exp(-eps^2 d/2) < 1 at d = d_min and not at d_min - 1 (exactly)."""
    n, eps = case
    d = d_min(n, eps)
    m = pair_count(n)
    with mpmath.workdps(60):
        ln_m = mpmath.log(m)
        assert ln_m < mpmath.mpf((eps * eps * d).numerator) / (eps * eps * d).denominator / 2
        below = eps * eps * (d - 1)
        assert ln_m >= mpmath.mpf(below.numerator) / below.denominator / 2


@given(keys_and_eps(max_keys_=800))
def test_d_min_exact_at_most_hoeffding(case: tuple[int, Fraction]) -> None:
    """L1: the exact-binomial d_min is <= the Hoeffding one and its union bound is < 1."""
    n, eps = case
    dx = d_min_exact(n, eps)
    assert dx <= d_min(n, eps)
    assert pair_count(n) * binomial_tail(dx, eps) < 1


@given(st.integers(1, 120), st.sampled_from(EPSILONS))
def test_binomial_tail_below_hoeffding(d: int, eps: Fraction) -> None:
    """L1: P(Bin(d, 1/2) > d(1+eps)/2) <= exp(-eps^2 d/2)."""
    assert binomial_tail(d, eps) <= math.exp(-float(eps * eps) * d / 2) * (1 + 1e-12)


def test_d_min_hand_example() -> None:
    """L1 by hand: L = 3, eps = 1/2: M = 3, d* = 8 ln 3 = 8.79, so d_min = 9."""
    assert d_min(3, Fraction(1, 2)) == 9


# -- L2 ----------------------------------------------------------------------------------
@given(regimes(), st.floats(0.5, 50.0))
def test_gamma_decreases_in_scale(case: tuple[int, int, Fraction, Fraction], c: float) -> None:
    """L2: gamma(C) > gamma(C') for C < C'."""
    n, t, eps, _ = case
    assert gamma(n, t, c, eps) > gamma(n, t, c * 1.01, eps)


@given(st.integers(2, 60), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_target_weight_at_least_bound(n: int, t: int, seed: int) -> None:
    """L2: with near-orthogonal keys, softmax weight of the target >= 1/(1+gamma)."""
    from reduction.attention import softmax_rows
    from reduction.keys import sample_keys

    eps, d = 0.75, max(d_min(n, 0.75), 8)
    keys = sample_keys(n, d, eps, rng=np.random.default_rng(seed)).keys
    c = 20.0
    w = softmax_rows(c * keys @ np.vstack([keys, np.zeros((t, d))]).T)
    assert np.diag(w[:, :n]).min() >= 1 / (1 + gamma(n, t, c, eps)) - 1e-12


# -- L3 ----------------------------------------------------------------------------------
@given(regimes())
def test_c_min_is_least_scale(case: tuple[int, int, Fraction, Fraction]) -> None:
    """L3: gamma(C_min) < (1-eta)/(1+eta) <= gamma(previous double)."""
    n, t, eps, eta = case
    c = c_min(n, t, eps, eta)
    target = float(gamma_target(eta))
    assert gamma(n, t, c, eps) < target * (1 + 1e-12)
    assert gamma(n, t, math.nextafter(c, 0), eps) >= target * (1 - 1e-12)


@given(st.floats(0, 5), st.sampled_from([Fraction(k, 10) for k in range(10)]))
def test_tau_separates_iff_gamma_below_target(g: float, eta: Fraction) -> None:
    """L3: separates(gamma, eta) iff gamma < (1-eta)/(1+eta); then tau lies between."""
    target = float(gamma_target(eta))
    if abs(g - target) < 1e-9:
        return
    assert separates(g, eta) == (g < target)
    if g < target:
        assert zero_range(g, float(eta)) < tau(g, eta) < one_range(g, float(eta))


# -- L4 / theorem / C1 -------------------------------------------------------------------
@given(st.integers(1, 10**6), st.fractions(0, Fraction(1, 2)), st.fractions(0, Fraction(1, 2)))
def test_index_bound_decreases_in_delta(n: int, a: Fraction, b: Fraction) -> None:
    """L4: (1 - H2(delta)) N decreases in delta on [0, 1/2]; N at 0, 0 at 1/2."""
    lo, hi = min(a, b), max(a, b)
    assert index_lower_bound_bits(n, lo) >= index_lower_bound_bits(n, hi) - 1e-9
    assert index_lower_bound_bits(n, 0) == n


@given(keys_and_eps(max_keys_=3000), st.integers(0, 64))
def test_theorem_bound_is_n_at_delta_zero(case: tuple[int, Fraction], extra: int) -> None:
    """THM: at delta = 0 the bound is exactly N = L_{K-1} d for every d >= d_min."""
    n, eps = case
    d = d_min(n, eps) + extra
    assert theorem_bound_bits(d, n, eps) == n * d


def test_theorem_rejects_d_below_d_min() -> None:
    """THM: d = d_min - 1 is refused with a message naming d_min (STYLE example 3)."""
    need = d_min(2240, Fraction(3, 4))
    with pytest.raises(ValueError, match=f"d >= {need}, got d={need - 1}"):
        theorem_bound_bits(need - 1, 2240, Fraction(3, 4))


@given(keys_and_eps(max_keys_=3000))
def test_max_keys_inverts_d_min(case: tuple[int, Fraction]) -> None:
    """C1: max_keys(d_min(L)) >= L and max_keys(d_min(L) - 1) < L."""
    n, eps = case
    d = d_min(n, eps)
    assert max_keys(d, eps) >= n
    if d > 1:
        assert max_keys(d - 1, eps) < n


@given(keys_and_eps(max_keys_=3000), st.integers(1, 200))
def test_low_dimension_bound_at_most_theorem(case: tuple[int, Fraction], d: int) -> None:
    """C1: (1-H2) d L' <= (1-H2) d L, with equality once d >= d_min."""
    n, eps = case
    low = low_dimension_bound_bits(d, n, eps)
    assert low <= n * d
    if d >= d_min(n, eps):
        assert low == theorem_bound_bits(d, n, eps)


# -- section 5: feasible side ---------------------------------------------------------
@given(st.integers(1, 4096), st.data())
def test_information_bits_at_most_message(n: int, data: Any) -> None:
    """FEASIBLE: sending m raw bits (error (N-m)/(2N)) never beats N (1 - H2(p)) <= m."""
    m = data.draw(st.integers(0, n))
    p = (n - m) / (2 * n)
    assert information_bits(n, p) <= m + 1e-6
    assert binary_entropy(p) <= 1.0
