"""lowerbound.sparsity: the exact bounds of S1-S4 and Fano for every error rate."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowerbound.entropy import binary_entropy
from lowerbound.fano import fano_information_bits
from lowerbound.jl import max_keys
from lowerbound.sparsity import (
    attention_entropy_bound_bits,
    certified_fano_bits,
    low_rank_bound_bits,
    low_rank_keys,
    low_rank_switch,
    off_target_mass_bound,
    sparse_values_bound_bits,
    sparse_values_gain,
    support_rank_bits,
    support_symbol_bits,
    window_bound_bits,
    window_fraction,
    window_visible_scales,
    window_visible_tokens,
)
from tests.strategies import small_schedules

probabilities = st.fractions(0, 1, max_denominator=1000)


@given(d=st.integers(1, 200), data=st.data())
def test_support_bits_are_the_floor_and_ceiling_of_log2_binomial(d: int, data: st.DataObject
                                                                 ) -> None:
    s = data.draw(st.integers(1, d))
    c = math.comb(d, s)
    b, w = support_symbol_bits(d, s), support_rank_bits(d, s)
    assert 2**b <= c < 2 ** (b + 1)  # b satisfies the floor, b + 1 does not
    assert (w == 0 and c == 1) or 2 ** (w - 1) < c <= 2**w  # w - 1 bits would not do
    assert support_symbol_bits(d, s, signed=True) == b + s


@given(n=st.integers(0, 500), b=st.integers(1, 40), p=probabilities)
def test_fano_is_certified_below_the_float_formula_and_nonnegative(n: int, b: int,
                                                                   p: Fraction) -> None:
    """Consistency: the enclosure's lower end agrees with lowerbound.fano's float to 1e-9."""
    value = certified_fano_bits(n, p, b)
    pf = float(p)
    tail = pf * math.log2(2**b - 1) if b > 1 else 0.0
    approx = n * (b - binary_entropy(pf) - tail)
    assert float(value) == pytest.approx(fano_information_bits(n, p, b), rel=1e-9, abs=1e-9)
    assert value >= 0
    assert float(value) <= max(approx, 0.0) + 1e-9 * max(1.0, n * b)
    assert float(value) >= approx - 1e-9 * max(1.0, n * b)


def test_fano_has_no_clamping_and_vanishes_only_at_uniform_guessing() -> None:
    assert certified_fano_bits(100, 1) == 100  # always wrong: knows every bit
    assert float(certified_fano_bits(100, Fraction(3, 4))) == pytest.approx(
        100 * (1 - binary_entropy(0.75)))
    assert certified_fano_bits(100, Fraction(1, 2)) == 0
    for b in (2, 5):
        assert certified_fano_bits(7, 1 - Fraction(1, 2**b), b) == 0  # p = 1 - 1/M
        assert certified_fano_bits(7, 1, b) > 0  # always wrong among M > 2: still informative
    grid = [certified_fano_bits(10, Fraction(k, 40), 3) for k in range(36)]
    assert all(a > b for a, b in zip(grid, grid[1:]))  # decreasing up to p = 7/8


def test_sparse_values_bound_matches_its_definition() -> None:
    assert sparse_values_bound_bits(424, 64, 4) == 424 * 19
    assert sparse_values_bound_bits(424, 64, 4, signed=True) == 424 * 23
    delta = Fraction(1, 20)
    b = 19
    expected = 424 * (b - binary_entropy(0.05) - 0.05 * math.log2(2**b - 1))
    assert float(sparse_values_bound_bits(424, 64, 4, delta)) == pytest.approx(expected)
    assert sparse_values_gain(64, 4) == Fraction(64, 19)
    with pytest.raises(ValueError, match="s=9 must be <= d=8"):
        support_symbol_bits(8, 9)


@given(schedule=small_schedules(), w=st.integers(1, 8))
def test_window_counts_the_current_scale(schedule: object, w: int) -> None:
    from reduction.schedule import Schedule

    assert isinstance(schedule, Schedule)
    k = schedule.num_scales
    scales = list(window_visible_scales(k, w))
    assert scales == [j for j in range(1, k) if j >= k - w + 1]
    visible = sum(schedule.tokens[j - 1] for j in scales)
    assert window_visible_tokens(schedule.tokens, w) == visible
    assert window_bound_bits(schedule.tokens, 5, w) == 5 * visible
    assert window_fraction(schedule.tokens, w) == Fraction(visible, schedule.tokens[-1])
    assert (visible == 0) == (w == 1)


def test_low_rank_bound_is_c1_with_d_replaced_by_r_for_the_keys() -> None:
    n, eps = 424, Fraction(3, 4)
    star = low_rank_switch(n, eps)
    for r in range(1, 65):
        lp = low_rank_keys(r, eps, n)
        assert lp == max_keys(r, eps, cap=n)
        assert low_rank_bound_bits(r, 64, n, eps) == 64 * lp  # values stay d-dimensional
        assert (lp == n) == (r >= star)
    with pytest.raises(ValueError, match="rank r=65 must be <= d=64"):
        low_rank_bound_bits(65, 64, n, eps)


@given(weights=st.lists(st.floats(0, 1), min_size=2, max_size=40),
       gamma=st.fractions(0, 3, max_denominator=50))
def test_entropy_bound_holds_for_every_row_with_enough_top_weight(weights: list[float],
                                                                  gamma: Fraction) -> None:
    m = len(weights)
    w0 = 1 / (1 + gamma)
    if w0 * m < 1:
        with pytest.raises(ValueError):
            attention_entropy_bound_bits(gamma, m)
        return
    rest = np.asarray(weights[1:]) + 1e-12
    row = np.concatenate([[float(w0)], rest / rest.sum() * (1 - float(w0))])
    entropy = -float(np.sum(row[row > 0] * np.log2(row[row > 0])))
    assert entropy <= float(attention_entropy_bound_bits(gamma, m)) + 1e-9
    assert off_target_mass_bound(gamma) == 1 - w0
