"""How large d must be for L random sign keys to be pairwise near-orthogonal.

Purpose: Lemma L1 (docs/theorem.md#l1) (near-orthogonality; Hoeffding + union bound) and the
low-dimension regime C1 (after Haris & Onak, arXiv 2502.15955).

Main statement (L1): for independent uniform sign vectors sigma_i, sigma_j in {+-1}^d,
P(<sigma_i, sigma_j> > eps*d) <= exp(-eps^2 d / 2); over the L(L-1)/2 pairs the failure
probability is at most p_JL = L(L-1)/2 * exp(-eps^2 d / 2). When p_JL < 1 a family with
every off-diagonal inner product <= eps*d exists.

References: W. Hoeffding (1963); Johnson & Lindenstrauss (1984); arXiv 2503.14881 (the
VAR reduction that uses these keys). Compare scikit-learn's
``johnson_lindenstrauss_min_dim``, which bounds a different (two-sided, distortion) event.
"""

from __future__ import annotations

import math
from fractions import Fraction

from lowerbound._exact import floor_of_interval, iv_exp, iv_ln, iv_of, to_fraction
from lowerbound.validation import RealLike, check_int_at_least, check_interval

__all__ = [
    "pair_count",
    "jl_failure_bound",
    "binomial_tail",
    "exact_failure_bound",
    "d_min",
    "d_min_exact",
    "max_keys",
]


def pair_count(n_keys: int) -> int:
    """Number of unordered pairs L(L-1)/2 (exact integer).

    >>> pair_count(424)
    89676
    """
    n = check_int_at_least(n_keys, "L", 1)
    return n * (n - 1) // 2


def jl_failure_bound(n_keys: int, eps: RealLike, d: int) -> float:
    """Union bound p_JL = L(L-1)/2 * exp(-eps^2 d / 2) on a bad sign family (float).

    Notes: Lemma L1 (Hoeffding form; docs/theorem.md#l1).

    >>> jl_failure_bound(2, 0.5, 8) == math.exp(-1.0)
    True
    """
    check_interval(eps, "eps", 0, 1)
    d = check_int_at_least(d, "d", 1)
    return pair_count(n_keys) * math.exp(-float(eps) ** 2 * d / 2.0)


def binomial_tail(d: int, eps: RealLike) -> Fraction:
    """Exact P(<sigma, sigma'> > eps*d) = P(Bin(d, 1/2) > d(1+eps)/2), as a fraction.

    The inner product of two uniform sign vectors is 2A - d with A ~ Bin(d, 1/2)
    (A = number of agreeing coordinates).

    Notes: Lemma L1 (exact form; docs/theorem.md#l1).

    >>> binomial_tail(4, Fraction(1, 2))
    Fraction(1, 16)
    >>> binomial_tail(4, Fraction(1, 4))
    Fraction(5, 16)
    """
    d = check_int_at_least(d, "d", 1)
    e = to_fraction(check_interval(eps, "eps", 0, 1))
    threshold = math.floor(Fraction(d) * (1 + e) / 2)  # A must exceed this, A > d(1+eps)/2
    favourable = sum(math.comb(d, a) for a in range(threshold + 1, d + 1))
    return Fraction(favourable, 2**d)


def exact_failure_bound(n_keys: int, eps: RealLike, d: int) -> Fraction:
    """Union bound with the exact tail: L(L-1)/2 * P(Bin(d,1/2) > d(1+eps)/2) (exact).

    Notes: Lemma L1 (exact form; docs/theorem.md#l1).

    >>> exact_failure_bound(3, Fraction(1, 2), 4)
    Fraction(3, 16)
    """
    return pair_count(n_keys) * binomial_tail(d, eps)


def d_min(n_keys: int, eps: RealLike) -> int:
    """Smallest d with L(L-1)/2 * exp(-eps^2 d / 2) < 1 (Hoeffding form, exact integer).

    The returned d guarantees that L uniform sign vectors in {+-1}^d have every pairwise
    inner product <= eps*d with positive probability (union bound); d - 1 does not meet
    the inequality. Formula: d_min = floor(2 ln(L(L-1)/2) / eps^2) + 1 for L >= 3, and 1
    for L <= 2. The floor is taken on a rigorous mpmath interval, so the answer is exact
    (2 ln M / eps^2 is irrational for integer M >= 2).

    Notes: Lemma L1 (docs/theorem.md#l1) (Hoeffding + union bound), arXiv 2503.14881.
    A float ``eps`` is read as its exact binary value (0.75 is exactly 3/4).

    >>> d_min(2240, Fraction(3, 4))
    53
    >>> d_min(424, 0.75)
    41
    >>> d_min(2, 0.5)
    1

    References: W. Hoeffding, "Probability inequalities for sums of bounded random
    variables", JASA 58 (1963).
    """
    m = pair_count(n_keys)
    e = to_fraction(check_interval(eps, "eps", 0, 1))
    if m <= 1:
        return 1
    x = 2 * iv_ln(m) / iv_of(e * e)
    return floor_of_interval(x) + 1


def d_min_exact(n_keys: int, eps: RealLike) -> int:
    """Smallest d0 such that the exact-tail union bound is < 1 for every d in [d0, d_min].

    Uses P(Bin(d, 1/2) > d(1+eps)/2) in place of Hoeffding's exp(-eps^2 d/2). The exact
    tail is not monotone in d (parity of d(1+eps)/2), so we return the start of the run
    of good dimensions that ends at the Hoeffding d_min (beyond which Hoeffding covers
    every d). Always <= d_min(L, eps).

    Notes: Lemma L1 (exact form; docs/theorem.md#l1).

    >>> d_min_exact(2240, Fraction(3, 4)) <= d_min(2240, Fraction(3, 4))
    True
    """
    upper = d_min(n_keys, eps)
    d = upper
    while d > 1 and exact_failure_bound(n_keys, eps, d - 1) < 1:
        d -= 1
    return d


def max_keys(d: int, eps: RealLike, cap: int | None = None) -> int:
    """Largest L' (<= cap) with L'(L'-1)/2 * exp(-eps^2 d / 2) < 1 (exact integer).

    Notes: Corollary C1 (docs/theorem.md#c1) (low dimension, Haris & Onak arXiv 2502.15955):
    with d below d_min only L' near-orthogonal keys are guaranteed. L' grows like
    exp(eps^2 d / 4) * sqrt(2).

    >>> max_keys(8, 0.5)
    2
    >>> max_keys(53, Fraction(3, 4)) >= 2240
    True
    >>> max_keys(53, Fraction(3, 4), cap=100)
    100
    """
    d = check_int_at_least(d, "d", 1)
    e = to_fraction(check_interval(eps, "eps", 0, 1))
    if cap is not None:
        cap = check_int_at_least(cap, "cap", 1)
    bound = iv_exp(iv_of(e * e * d / 2))  # need L'(L'-1)/2 < bound
    # Start from the real root of x(x-1)/2 = bound and adjust by exact comparisons.
    guess = int((1 + math.sqrt(1 + 8 * float(bound.b))) / 2) + 2
    if cap is not None:
        guess = min(guess, cap)
    n = max(guess, 1)
    while n > 1 and not (pair_count(n) < bound.a):
        if pair_count(n) < bound.b:
            raise ArithmeticError("precision too low to compare L'(L'-1)/2 with the bound")
        n -= 1
    return n
