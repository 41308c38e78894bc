"""Individual checks of the proofs package: the exhaustive L4, certificates, section 5."""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction

import pytest

from lowerbound.entropy import binary_entropy_inverse
from lowerbound.jl import d_min, d_min_exact
from proofs.certificates import PARAMETER_TABLE, certify_bound, certify_c_min, certify_d_min
from proofs.exhaustive import (
    brute_force_errors,
    cached_exhaustive_table,
    dp_errors,
    exhaustive_table,
    index_optimum,
)
from proofs.s5_sparsity import rank_support, unrank_support
from proofs.s5_tightness import tight_cache_bits
from reduction.schedule import PRESETS, Schedule


def test_issue_example_l2240() -> None:
    """L1 (issue 3): L = 2240, eps = 3/4 -> d_min = 53 (Hoeffding), exact-binomial beside it."""
    cert = certify_d_min(2240, Fraction(3, 4))
    assert cert.holds
    assert cert.d_min == d_min(2240, Fraction(3, 4)) == 53
    assert cert.d_min_exact == d_min_exact(2240, Fraction(3, 4)) < 53
    assert 52 < cert.threshold.lo <= cert.threshold.hi < 53  # floor(2 ln M/eps^2) + 1 = 53
    assert cert.union_at_d_min.hi < 1 <= cert.union_below.lo


def test_exhaustive_index_check_is_fast_and_holds() -> None:
    """L4: every protocol with N <= 4, m <= N: average error >= H2^{-1}(1 - m/N), in < 30 s."""
    start = time.perf_counter()
    rows = exhaustive_table()
    assert time.perf_counter() - start < 30
    assert {(r.n, r.m) for r in rows} == {(n, m) for n in range(1, 5) for m in range(n + 1)}
    for r in rows:
        assert r.holds
        assert float(r.average_error) >= binary_entropy_inverse(1 - r.m / r.n) - 1e-12


def test_exhaustive_hand_cases() -> None:
    """L4 by hand: m = 0 -> 1/2; N=2, m=1 -> 1/4 (send x_1); N=3, m=1 -> 1/4 (majority)."""
    assert index_optimum(3, 0).average_error == Fraction(1, 2)
    assert index_optimum(2, 1).average_error == Fraction(1, 4)
    assert index_optimum(3, 1).average_error == Fraction(1, 4)
    table = {(r.n, r.m): r for r in cached_exhaustive_table()}
    assert table[4, 3].average_error == Fraction(1, 8)  # a perfect covering code


def test_dp_matches_enumeration() -> None:
    """L4: subset DP = literal enumeration of all (2^m)^(2^N) functions, N <= 3."""
    for n in range(1, 4):
        for m in range(n):
            assert dp_errors(n, m) == brute_force_errors(n, m)


def test_index_optimum_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="N=5"):
        index_optimum(5, 1)
    with pytest.raises(ValueError, match="m=4"):
        index_optimum(3, 4)


@pytest.mark.parametrize("row", PARAMETER_TABLE, ids=lambda p: p.name)
def test_certificates_hold_on_table(row: object) -> None:
    """L1-L3 and the theorem: every constant of every table row is certified."""
    from proofs.certificates import Parameters

    assert isinstance(row, Parameters)
    assert certify_d_min(row.cached_tokens, row.eps).holds
    cert = certify_c_min(row.cached_tokens, row.last_tokens, row.eps, row.eta)
    assert cert.holds and cert.gamma.hi < cert.target
    assert certify_bound(row.cached_tokens * row.d, row.delta).holds


def test_certificate_detects_a_wrong_constant() -> None:
    """A certificate must be able to fail: perturbing C_min below itself breaks it."""
    from proofs import certificates

    cert = certificates.certify_c_min(424, 256, Fraction(3, 4), Fraction(1, 4))
    smaller = certificates._gamma_iv(424, 256, cert.c - 1, Fraction(3, 4))
    assert certificates.enclose(smaller).lo >= cert.target


def test_tightness_ratio_on_presets() -> None:
    """TIGHT: values plus trie are N + (L-1) ceil(log2 d) + 2L - 1 bits, <= 1 + (6+2)/64."""
    for name in PRESETS:
        s = Schedule.preset(name)
        n, d = s.cached_tokens, 64
        assert tight_cache_bits(n, d) == n * d + (n - 1) * 6 + 2 * n - 1
        assert Fraction(tight_cache_bits(n, d), n * d) <= 1 + Fraction(8, d)


def test_trie_routes_every_key_and_rejects_repeats() -> None:
    """TIGHT: the compacted trie of distinct sign rows sends each row to itself."""
    import numpy as np

    from proofs.s5_tightness import build_trie, trie_routing_bits

    rng = np.random.default_rng(5)
    signs = np.unique(rng.choice([-1, 1], size=(300, 12)), axis=0)
    trie = build_trie(signs)
    assert [trie.route(row) for row in signs] == list(range(len(signs)))
    assert trie.encoded_bits(12) == trie_routing_bits(len(signs), 12)
    with pytest.raises(ValueError, match="distinct"):
        build_trie(np.vstack([signs[:2], signs[:1]]))


def test_feasible_side_on_every_tiny_protocol() -> None:
    """FEASIBLE: each optimal tiny protocol has m >= N (1 - H2(p)) (enclosed)."""
    for r in exhaustive_table(3):
        assert r.information_bits.hi <= r.m


def test_s1_top1_within_gamma() -> None:
    from proofs.s5_sparsity import check_top1_matches_dense

    assert check_top1_matches_dense().status == "passed"


def test_s2_support_rank_roundtrip() -> None:
    """S2: colex ranks of s-subsets of range(8) are exactly 0..C(8, s)-1, and invert."""
    for s in range(0, 5):
        subsets = list(itertools.combinations(range(8), s))
        assert sorted(rank_support(c) for c in subsets) == list(range(math.comb(8, s)))
        assert all(unrank_support(rank_support(c), s) == c for c in subsets)


def test_s3_window_keeps_quadratic_tokens() -> None:
    """S3: for VAR presets the last cached scale alone holds >= T_K / 2 tokens."""
    for name in ("var-256", "var-512"):
        s = Schedule.preset(name)
        assert 2 * s.tokens[-2] >= s.last_scale_tokens


def test_s4_low_rank_bound_monotone() -> None:
    from proofs.s5_sparsity import check_low_rank_keys

    assert check_low_rank_keys().status == "passed"
