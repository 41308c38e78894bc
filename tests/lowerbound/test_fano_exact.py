"""The information check is exact for every error rate (docs/theorem.md#fano).

N(1 - H2(p)) bounds what a decoder with bit error rate p knows, for every p in [0, 1]:
nothing is clamped at 1/2, and the confidence version is the least value over a two-sided
Clopper-Pearson interval, so it is symmetric under p -> 1 - p and never above the value
at the observed rate.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowerbound.entropy import (
    binary_entropy,
    error_rate_lower_confidence,
    error_rate_upper_confidence,
    information_bits,
)
from lowerbound.fano import information_bits_lower_confidence


@st.composite
def _counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 10**6))
    return draw(st.integers(0, n)), n


@given(_counts())
def test_information_is_symmetric_and_never_clamped(counts: tuple[int, int]) -> None:
    k, n = counts
    info = information_bits(n, k / n)
    assert math.isclose(info, n * (1 - binary_entropy(k / n)), rel_tol=0, abs_tol=1e-6 * n)
    assert math.isclose(info, information_bits(n, (n - k) / n), rel_tol=1e-9, abs_tol=1e-6)


@given(_counts())
def test_lower_confidence_is_below_the_observed_value(counts: tuple[int, int]) -> None:
    k, n = counts
    lcb = information_bits_lower_confidence(k, n)
    assert 0.0 <= lcb <= information_bits(n, k / n) + 1e-9 * n
    mirrored = information_bits_lower_confidence(n - k, n)
    assert math.isclose(lcb, mirrored, rel_tol=1e-7, abs_tol=1e-6)


@given(_counts())
def test_interval_contains_the_observed_rate(counts: tuple[int, int]) -> None:
    k, n = counts
    lo, hi = error_rate_lower_confidence(k, n), error_rate_upper_confidence(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_a_decoder_wrong_on_every_bit_is_credited_with_every_bit() -> None:
    assert information_bits(27136, 1.0) == 27136
    assert information_bits_lower_confidence(27136, 27136) > 0.99 * 27136
    assert information_bits_lower_confidence(13568, 27136) == 0.0


@given(st.integers(1, 400), st.data())
def test_one_bit_confidence_is_the_min_over_its_one_sided_ends(n: int,
                                                                data: st.DataObject) -> None:
    """information_bits_lower_confidence (which delegates to lowerbound.fano at b = 1) is
    the least N(1 - H2(p)) over [p_lo, p_hi], each end one-sided at level alpha: a brute
    force over the interval, with the ends from lowerbound.entropy."""
    k, alpha = data.draw(st.integers(0, n)), 1e-3
    lo = error_rate_lower_confidence(k, n, alpha)
    hi = error_rate_upper_confidence(k, n, alpha)
    rates = [*np.linspace(lo, hi, 2001), lo, hi] + ([0.5] if lo <= 0.5 <= hi else [])
    brute = min(information_bits(n, float(p)) for p in rates)
    got = information_bits_lower_confidence(k, n, alpha)
    assert math.isclose(got, brute, rel_tol=1e-9, abs_tol=1e-9 * n)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10**7), frac=st.floats(0.0, 1.0),
       alpha=st.sampled_from([5e-7, 1e-3, 0.05]))
def test_clopper_pearson_ends_match_scipy(n: int, frac: float, alpha: float) -> None:
    """The pure-Python inverse incomplete beta (lowerbound._beta) against scipy's, on the
    one-sided ends of the leak check, for counts up to 10^7 symbols."""
    from scipy.special import betaincinv

    k = min(n, int(frac * n))
    if k < n:
        want = float(betaincinv(k + 1, n - k, 1 - alpha))
        assert error_rate_upper_confidence(k, n, alpha) == pytest.approx(want, rel=1e-7)
    if k > 0:
        want = float(betaincinv(k, n - k + 1, alpha))
        assert error_rate_lower_confidence(k, n, alpha) == pytest.approx(want, rel=1e-7)


def test_the_leak_check_does_not_load_scipy() -> None:
    """Start-up: the verifier's imports and its leak check leave scipy unloaded."""
    code = ("import sys; import kvbound.commands.verify, reduction.protocol; "
            "from lowerbound.fano import fano_information_lower_confidence as f; "
            "f(3, 27136); f(0, 27136, 4); print(sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
