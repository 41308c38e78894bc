"""S1-S4 -- sparsity priors (ours, docs/theorem.md#s1 to #s4).

Purpose: the registry entries and checks of the four sparsity claims of section 5. They
go beyond the papers and are *stated*; the checks are evidence.

Main statements:
- S1: attention sparsity does not help: the hard instance is one-hot up to gamma, so a
  top-1 attention already answers within gamma/(1+gamma) of the dense one.
- S2: s-sparse values: the bound becomes ~ L log2 C(d, s), matched by storing supports
  (ceil(log2 C(d, s)) bits per row by combinatorial ranking).
- S3: attending only to the last w scales: the bound counts those scales; for VAR it
  stays Theta(n^2 d) since T_{K-1} = Theta(n^2).
- S4: keys confined to r dimensions: the C1 regime, (1 - H2(delta)) d_v min{L, L'(r)}.

References: docs/theorem.md#s1, #s2, #s3, #s4 (ours).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from lowerbound.bound import low_dimension_bound_bits
from lowerbound.jl import d_min
from lowerbound.softmax import c_min, gamma
from proofs.registry import Check, CheckResult, Lemma
from reduction.schedule import PRESETS, Schedule

__all__ = ["LEMMAS", "rank_support", "unrank_support"]


def rank_support(support: tuple[int, ...]) -> int:
    """Colex rank of a sorted s-subset of range(d): sum_i C(c_i, i+1) (S2's encoder).

    >>> rank_support((0, 1, 2)), rank_support((0, 1, 3))
    (0, 1)
    """
    return sum(math.comb(c, i + 1) for i, c in enumerate(support))


def unrank_support(rank: int, s: int) -> tuple[int, ...]:
    """Inverse of :func:`rank_support` (greedy, largest element first).

    >>> unrank_support(1, 3)
    (0, 1, 3)
    """
    out = []
    for i in range(s, 0, -1):
        c = i - 1
        while math.comb(c + 1, i) <= rank:
            c += 1
        out.append(c)
        rank -= math.comb(c, i)
    return tuple(reversed(out))


def check_top1_matches_dense() -> CheckResult:
    """S1: |Z_dense - x_i| <= gamma/(1+gamma) entrywise at C_min (L=150, d=64, seed 3)."""
    from reduction.attention import attend
    from reduction.keys import sample_keys

    n, t, d, eps = 150, 64, 64, 0.75
    key_rng, bit_rng = np.random.default_rng(3).spawn(2)
    keys = sample_keys(n, d, eps, rng=key_rng).keys
    bits = bit_rng.integers(0, 2, size=(n, d)).astype(np.float64)
    c = c_min(n, t, eps, 0.25)
    z = attend(c * keys, np.vstack([keys, np.zeros((t, d))]), np.vstack([bits, np.zeros((t, d))]))
    g = gamma(n, t, c, eps)
    gap = float(np.abs(z - bits).max())  # top-1 attention outputs exactly the row x_i
    return CheckResult.of(gap <= g / (1 + g), f"max |Z - top1| = {gap:.3g} <= "
                          f"gamma/(1+gamma) = {g / (1 + g):.3g}")


def _ranking_is_bijective(rank: Callable[[tuple[int, ...]], int]) -> bool:
    ok = True
    for s in range(1, 5):
        ranks = [rank(c) for c in itertools.combinations(range(10), s)]
        ok &= sorted(ranks) == list(range(math.comb(10, s)))
        ok &= all(unrank_support(rank(c), s) == c
                  for c in itertools.combinations(range(10), s))
    return ok


def perturbed_support_ranking() -> CheckResult:
    """S2 (must fail): the same enumeration for the off-by-one ranking sum_i C(c_i, i)."""
    ok = _ranking_is_bijective(lambda c: sum(math.comb(x, i) for i, x in enumerate(c)))
    return CheckResult.of(ok, "off-by-one ranking " + ("bijective" if ok else "not bijective"))


def check_support_ranking() -> CheckResult:
    """S2: colex ranking is a bijection from s-subsets of [d] onto [0, C(d, s)), d=10, s<=4."""
    ok = _ranking_is_bijective(rank_support)
    overhead = [Fraction(math.ceil(math.log2(math.comb(64, s))), 1) for s in (4, 8, 16)]
    return CheckResult.of(ok, "bijective for d=10, s=1..4; ceil(log2 C(64, s)) for "
                          f"s=4, 8, 16: {[int(o) for o in overhead]} bits per row")


def check_window_quadratic() -> CheckResult:
    """S3: for every VAR preset the last cached scale alone has T_{K-1} >= T_K / 2 tokens."""
    ok, lines = True, []
    for name in PRESETS:
        s = Schedule.preset(name)
        t_prev = s.tokens[-2]
        ok &= 2 * t_prev >= s.last_scale_tokens
        lines.append(f"{name}: T_(K-1) = {t_prev}, T_K = {s.last_scale_tokens}")
    return CheckResult.of(ok, "; ".join(lines))


def check_low_rank_keys() -> CheckResult:
    """S4: (1 - H2(delta)) d min{L, L'(r)} grows with r and reaches L d at r = d_min(L, eps)."""
    n, d, eps = 424, 64, Fraction(3, 4)
    values = [low_dimension_bound_bits(r, n, eps) / r * d for r in range(1, d_min(n, eps) + 1)]
    ok = all(a <= b for a, b in zip(values, values[1:])) and values[-1] == n * d
    return CheckResult.of(ok, f"r = 1..{d_min(n, eps)}: bound from {values[0]:.0f} to "
                          f"{values[-1]:.0f} bits")


_REF = "ours, beyond the papers (docs/theorem.md)"
_TESTS = "tests/test_proofs_checks.py::"

LEMMAS = (
    Lemma(
        label="S1", title="Attention sparsity does not help (ours)", reference=_REF,
        statement=("The hard instance is already one-hot up to gamma: top-1 attention is "
                   "within gamma/(1+gamma) of the dense output, so sparsity priors cannot "
                   "lower the bound."),
        uses=("L2", "L3"), code=("reduction.attention.attend",),
        tests=(_TESTS + "test_s1_top1_within_gamma",),
        checks=(Check("top-1 within gamma/(1+gamma)", "sampled", check_top1_matches_dense),),
        origin="ours",
    ),
    Lemma(
        label="S2", title="s-sparse values: L log2 C(d, s) bits (ours)", reference=_REF,
        statement=("With s-sparse value rows the bound becomes about L log2 C(d, s) bits, "
                   "matched by storing each support's rank in ceil(log2 C(d, s)) bits."),
        uses=("L4",), code=("proofs.s5_sparsity.rank_support",),
        tests=(_TESTS + "test_s2_support_rank_roundtrip",),
        checks=(Check("support ranking is bijective", "exhaustive", check_support_ranking,
                      perturbed_support_ranking),),
        origin="ours",
    ),
    Lemma(
        label="S3", title="Windowed attention over the last w scales (ours)", reference=_REF,
        statement=("Attending only to the last w scales, the bound counts those scales' "
                   "tokens; for VAR T_{K-1} = Theta(n^2), so it stays Theta(n^2 d)."),
        uses=("THM",), code=("reduction.schedule.Schedule",),
        tests=(_TESTS + "test_s3_window_keeps_quadratic_tokens",),
        checks=(Check("T_(K-1) >= T_K/2 on presets", "bookkeeping", check_window_quadratic),),
        origin="ours",
    ),
    Lemma(
        label="S4", title="Keys confined to r dimensions (ours)", reference=_REF,
        statement=("Keys in an r-dimensional subspace are the C1 regime: "
                   "(1 - H2(delta)) d_v min{L, L'(r)} bits, where clustering/sampling "
                   "compressors can work."),
        uses=("C1",), code=("lowerbound.bound.low_dimension_bound_bits",),
        tests=(_TESTS + "test_s4_low_rank_bound_monotone",),
        checks=(Check("bound grows with r", "bookkeeping", check_low_rank_keys),),
        origin="ours",
    ),
)
