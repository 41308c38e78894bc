"""Lemma PREC and Fano for every p: lowerbound.precision and lowerbound.fano."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvbound.cli import main
from lowerbound.entropy import binary_entropy
from lowerbound.fano import (
    clopper_pearson,
    fano_information_bits,
    fano_information_lower_confidence,
)
from lowerbound.precision import (
    bits_per_value_auto,
    eta_limit,
    level_gamma_target,
    level_ranges,
    level_thresholds,
    levels_separate,
    max_bits_for_dtype,
    multilevel_bound_bits,
)
from lowerbound.softmax import gamma_is_below, gamma_target, scale_for_gamma


def _pairs_disjoint(b: int, g: Fraction, eta: Fraction, additive: bool = False) -> bool:
    r = level_ranges(b, g, eta, additive=additive)
    return all(r[m][1] < r[m + 1][0] for m in range(len(r) - 1))


@given(st.fractions(0, Fraction(1, 2), max_denominator=10**4),
       st.fractions(0, Fraction(1, 20), max_denominator=10**5))
def test_b_plus_one_levels_fail_exactly(eta: Fraction, g: Fraction) -> None:
    """PREC: the auto b separates every pair of levels, b + 1 does not (exact arithmetic),
    unless b is already the 11 bits fp16 holds."""
    b = bits_per_value_auto(eta, gamma=g, dtype="float16")
    if b >= 1:
        assert _pairs_disjoint(b, g, eta) and levels_separate(b, g, eta)
    if b < 11:
        assert not _pairs_disjoint(b + 1, g, eta) and not levels_separate(b + 1, g, eta)


def test_eta_one_percent_gives_five_bits() -> None:
    """PREC must-show: eta = 0.01 gives b = 5 (eta < 1/61, not < 1/125), with the run's C."""
    assert bits_per_value_auto(0.01) == 5
    assert eta_limit(6) < Fraction(1, 100) < eta_limit(5)
    target = level_gamma_target(5, Fraction(1, 100))
    c = scale_for_gamma(424, 256, Fraction(3, 4), target / 2)  # the simulation's scale
    assert gamma_is_below(424, 256, c, Fraction(3, 4), target)
    assert bits_per_value_auto(0.01, logit_cap=100, cached_tokens=424, last_tokens=256,
                               d=64) == 5


def test_top_pair_binds() -> None:
    """PREC: below the top pair's gamma every pair separates; just above, the top pair fails."""
    for b in range(1, 7):
        eta = Fraction(1, 2 ** (b + 3))
        target = level_gamma_target(b, eta)
        assert _pairs_disjoint(b, target * (1 - Fraction(1, 10**9)), eta)
        r = level_ranges(b, target, eta)
        top = len(r) - 2
        assert r[top][1] == r[top + 1][0]  # they touch exactly at the target
        assert all(r[m][1] < r[m + 1][0] for m in range(top))


def test_b1_with_half_values_is_lemma_l3() -> None:
    """PREC at b = 1 with values {0, 1/2} and V = 1/2 is L3: target (1-eta)/(1+eta)."""
    for k in range(10):
        eta = Fraction(k, 10)
        assert level_gamma_target(1, eta, value_bound=Fraction(1, 2)) == gamma_target(eta)


def test_additive_form() -> None:
    """PREC (additive): gamma (V + 2 eta) < 2^-b - 2 eta, the same for every pair."""
    eta = Fraction(1, 100)
    t = level_gamma_target(3, eta, additive=True)
    assert t == (Fraction(1, 8) - Fraction(2, 100)) / (1 + Fraction(2, 100))
    assert _pairs_disjoint(3, t * Fraction(999, 1000), eta, additive=True)
    assert not _pairs_disjoint(3, t, eta, additive=True)


def test_thresholds_decode_every_level() -> None:
    """PREC: the 2^b - 1 midpoints decode every level at the extremes of its range."""
    b, g, eta = 4, Fraction(1, 1000), Fraction(1, 100)
    t = level_thresholds(b, g, eta)
    assert len(t) == 2**b - 1
    for m, (lo, hi) in enumerate(level_ranges(b, g, eta)):
        assert sum(x < lo for x in t) == m and sum(x < hi for x in t) == m
    with pytest.raises(ValueError, match="do not separate"):
        level_thresholds(b, Fraction(1, 10), eta)


def test_value_dtypes() -> None:
    """PREC: fp16 holds every multiple of 2^-11 in [0, 1) and not every one of 2^-12."""
    assert (max_bits_for_dtype("float16"), max_bits_for_dtype("float32")) == (11, 24)
    m = np.arange(2**11) / 2**11
    assert np.array_equal(m.astype(np.float16).astype(np.float64), m)
    m12 = np.arange(2**12) / 2**12
    assert not np.array_equal(m12.astype(np.float16).astype(np.float64), m12)
    assert bits_per_value_auto(0) == 11 and bits_per_value_auto(0, dtype="bfloat16") == 8
    with pytest.raises(ValueError, match="float8"):
        max_bits_for_dtype("float8")


def test_multilevel_bound() -> None:
    """PREC: L d (b - H2(delta) - delta log2(2^b - 1)); 11 bits at var-256, d = 64."""
    assert multilevel_bound_bits(424 * 64, 11) == 298496 >= 298000
    assert multilevel_bound_bits(10, 1, 0.11) == pytest.approx(10 * (1 - binary_entropy(0.11)))
    with pytest.raises(ValueError, match="delta"):
        multilevel_bound_bits(10, 2, 0.8)  # beyond (2^b - 1)/2^b = 3/4


@given(st.floats(0, 1), st.integers(1, 11))
def test_fano_information_every_rate(p: float, b: int) -> None:
    """FANO: defined on all of [0, 1], never negative, no clamping (b = 1: 1 - H2(p))."""
    info = fano_information_bits(1000, p, b)
    assert 0 <= info <= 1000 * b
    if b == 1:
        assert info == pytest.approx(1000 * (1 - binary_entropy(p)), abs=1e-9)
    expected = 1000 * (b - binary_entropy(p) - p * math.log2(2**b - 1))
    assert info == pytest.approx(max(expected, 0.0), abs=1e-9)


def test_always_wrong_decoder_is_credited() -> None:
    """FANO: wrong on every bit knows every bit; for b > 1, b - log2(2^b - 1) > 0 at p = 1."""
    assert fano_information_bits(100, 1.0) == 100.0
    assert fano_information_bits(100, 1.0, 3) == pytest.approx(100 * (3 - math.log2(7)))


@given(st.integers(1, 400), st.data(), st.integers(1, 4))
def test_confidence_is_min_over_the_interval(n: int, data: st.DataObject, b: int) -> None:
    """FANO: the confidence version is the minimum over [p_lo, p_hi], not an endpoint."""
    k = data.draw(st.integers(0, n))
    lo, hi = clopper_pearson(k, n, 1e-3)
    grid = np.linspace(lo, hi, 2001)
    brute = min(fano_information_bits(n, float(p), b) for p in grid)
    got = fano_information_lower_confidence(k, n, b, 1e-3)
    assert got <= brute + 1e-9 and got >= brute - n * b * 1e-3
    assert got <= fano_information_bits(n, k / n, b) + 1e-9


def test_clopper_pearson_matches_beta_quantiles() -> None:
    """The scipy.special interval agrees with scipy.stats' beta quantiles."""
    from scipy.stats import beta

    for k, n in ((0, 50), (3, 50), (25, 50), (50, 50)):
        lo, hi = clopper_pearson(k, n, 0.01)
        assert lo == (0.0 if k == 0 else pytest.approx(beta.ppf(0.005, k, n - k + 1)))
        assert hi == (1.0 if k == n else pytest.approx(beta.ppf(0.995, k + 1, n - k)))


def test_cli_bits_per_value(capsys: pytest.CaptureFixture[str]) -> None:
    """constants --bits-per-value auto --eta 0.01: b = 5, bound 5 N; 11 at eta = 0 (fp16)."""
    assert main(["constants", "--bits-per-value", "auto", "--eta", "0.01", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["bits_per_value"] == 5 and r["precision"]["auto"] and r["certified"]
    assert r["bound_bits"] == 5 * 424 * 64
    assert main(["constants", "--bits-per-value", "auto", "--eta", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits_per_value"] == 11
    assert main(["constants", "--bits-per-value", "12"]) == 2
    assert "[1, 11]" in capsys.readouterr().err


def test_cli_precision_table(capsys: pytest.CaptureFixture[str]) -> None:
    """--precision-table: b grows like log2(1/eta), the bound with it; fp16 stays above."""
    assert main(["constants", "--precision-table", "--schedule", "var-256", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["eta"] for r in rows][0] == "1/4" and rows[-1]["eta"] == "1/4096"
    bits = [r["bits_per_value"] for r in rows]
    assert bits == sorted(bits) and bits[0] == 1 and bits[-1] == 11
    for r in rows:
        assert r["fp16_cache_bits_per_head"] > r["bound_bits_per_head"]
        assert r["bound_bits_per_head"] == r["bits_per_value"] * r["carrying_tokens"] * 64
