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

import mpmath
import numpy as np

from lowerbound._binomial import tail_bounds, union_below_one
from lowerbound.intervals import (
    floor_of_interval,
    iv_exp,
    iv_ln,
    iv_of,
    iv_precision,
    to_fraction,
)
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "pair_count",
    "jl_failure_bound",
    "binomial_tail",
    "exact_failure_bound",
    "exact_failure_enclosure",
    "d_min",
    "d_min_exact",
    "exact_runs",
    "exact_candidates",
    "d_min_exact_note",
    "max_keys",
    "EXACT_D_LIMIT",
]

#: The exact-binomial d_min is computed when the Hoeffding d_min is at most this.
EXACT_D_LIMIT = 10**8
#: max_keys without a cap refuses an L' of more than about half this many digits.
MAX_KEYS_DIGITS = 200_000
_BLOCK = 1 << 16


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
    for dps in (60, 120, 240, 480):  # 2 ln M / eps^2 is irrational: precision decides it
        with iv_precision(dps):
            x = 2 * iv_ln(m) / iv_of(e * e)
            try:
                return floor_of_interval(x) + 1
            except ArithmeticError:
                continue
    raise ArithmeticError(f"2 ln M / eps^2 for L={n_keys}, eps={e} not resolved at 480 digits")


def _first_agreeing(d: np.ndarray, e: Fraction) -> np.ndarray:
    """k(d) = floor(d (1 + eps)/2) + 1 for an int64 array d: the least agreement count A
    with 2A - d > eps d. Floats first; entries near an integer are redone exactly."""
    x = d.astype(np.float64) * float((1 + e) / 2)
    k = np.floor(x).astype(np.int64) + 1
    near = np.flatnonzero(np.abs(x - np.rint(x)) < 1e-12 * np.maximum(1.0, x))
    for i in near:
        k[i] = math.floor(int(d[i]) * (1 + e) / 2) + 1
    return k


def exact_candidates(eps: RealLike, top: int, bottom: int = 1) -> np.ndarray:
    """Dimensions c in [bottom, top], descending, such that every d in [bottom, top] has
    f(d) <= f(c) for some candidate c >= d, where f(d) = P(Bin(d, 1/2) >= k(d)).

    Why (exact-binomial form of Lemma L1, docs/theorem.md#l1): k(d) steps by 0 or 1, so
    the d's form runs of constant k, of length 1 or 2 (eps > 0). Within a run f grows (one
    more trial, same threshold), so each run's last d (its peak) dominates it. From one
    peak p to the next, p + 2 (a run of length 2), f grows too when 2 k(p) > p + 1:
    f(p+2) - f(p) = (P(X_p = k-1) - P(X_p = k))/4 > 0. So only peaks followed by a run of
    length 1, peaks where 2 k(p) <= p + 1, the last peak and ``top`` itself are needed.
    """
    e = to_fraction(eps)
    if top < bottom:
        return np.zeros(0, dtype=np.int64)
    d = np.arange(bottom, top + 3, dtype=np.int64)
    k = _first_agreeing(d, e)
    step = np.diff(k)  # step[i] = k(d_i + 1) - k(d_i)
    body = slice(0, d.size - 2)
    peak = step[body] == 1
    next_short = (k[2:] - k[:-2]) == 2  # the run after this peak has length 1
    weak = 2 * k[body] <= d[body] + 1
    keep = peak & (next_short | weak)
    peaks = np.flatnonzero(peak)
    if peaks.size:
        keep[peaks[-1]] = True  # the last peak: its successor lies beyond top
    keep[d.size - 3] = True  # top itself
    return d[body][keep][::-1].copy()


def exact_runs(n_keys: int, eps: RealLike) -> tuple[int, int]:
    """(d_min_exact, candidates checked): the largest d < d_min with
    M P(Bin(d, 1/2) > d (1 + eps)/2) >= 1, plus one (or 1 if there is none).

    Only the candidates of :func:`exact_candidates` are evaluated, largest first; each is
    decided rigorously (an interval enclosure of the tail, exact integers if that
    straddles 1), so the result is the exact-binomial d_min by its definition.

    >>> exact_runs(424, Fraction(3, 4))[0]
    29
    """
    upper = d_min(n_keys, eps)
    e = to_fraction(eps)
    if upper > EXACT_D_LIMIT:
        raise InvalidArgument(
            f"L={n_keys} and eps={float(e):g} give d_min = {upper} (Hoeffding); the "
            f"exact-binomial d_min is computed only when d_min <= {EXACT_D_LIMIT}: raise eps"
        )
    m = pair_count(n_keys)
    checked = 0
    top = upper - 1
    while top >= 1:
        bottom = max(1, top - _BLOCK + 1)
        cands = exact_candidates(e, top, bottom)
        ks = _first_agreeing(cands, e)
        for c, k in zip(cands.tolist(), ks.tolist()):
            checked += 1
            if not union_below_one(m, c, k):
                return c + 1, checked
        top = bottom - 1
    return 1, checked


def d_min_exact(n_keys: int, eps: RealLike) -> int:
    """Smallest d0 such that the exact-tail union bound is < 1 for every d in [d0, d_min].

    Uses P(Bin(d, 1/2) > d(1+eps)/2) in place of Hoeffding's exp(-eps^2 d/2). The exact
    tail is not monotone in d (parity of d(1+eps)/2), so we return the start of the run
    of good dimensions that ends at the Hoeffding d_min (beyond which Hoeffding covers
    every d). Always <= d_min(L, eps). Computed from a few candidate dimensions
    (:func:`exact_runs`), in well under a second at eps = 0.01; refused (ValueError) when
    d_min exceeds :data:`EXACT_D_LIMIT`.

    Notes: Lemma L1 (exact form; docs/theorem.md#l1).

    >>> d_min_exact(2240, Fraction(3, 4)) <= d_min(2240, Fraction(3, 4))
    True
    """
    return exact_runs(n_keys, eps)[0]


def exact_failure_enclosure(n_keys: int, eps: RealLike, d: int) -> tuple[Fraction, Fraction]:
    """Rational (lo, hi) around L(L-1)/2 P(Bin(d, 1/2) > d(1+eps)/2): exact (lo = hi) for
    d <= 4096, a rigorous enclosure above (see :mod:`lowerbound._binomial`).

    >>> exact_failure_enclosure(3, Fraction(1, 2), 4)
    (Fraction(3, 16), Fraction(3, 16))
    """
    d = check_int_at_least(d, "d", 1)
    if d <= 4096:
        exact = exact_failure_bound(n_keys, eps, d)
        return exact, exact
    m = pair_count(n_keys)
    k = int(_first_agreeing(np.array([d]), to_fraction(eps))[0])
    if k > d:
        return Fraction(0), Fraction(0)
    lo, hi = tail_bounds(d, k)
    return m * lo, m * hi


def d_min_exact_note(n_keys: int, eps: RealLike) -> str:
    """``"exact-binomial d_min = N"`` for error messages, or why it is not computed.

    >>> d_min_exact_note(424, 0.75)
    'exact-binomial d_min = 29'
    """
    if d_min(n_keys, eps) > EXACT_D_LIMIT:
        return f"exact-binomial d_min not computed (d_min > {EXACT_D_LIMIT})"
    return f"exact-binomial d_min = {d_min_exact(n_keys, eps)}"


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
    exponent = e * e * d / 2  # need L'(L'-1)/2 < e^exponent
    # ln(cap(cap-1)/2) < 2 ln cap <= exponent - 1 settles the capped case without e^exponent
    if cap is not None and 2 * math.log(cap) < float(exponent) - 1:
        return cap
    digits = math.ceil(float(exponent) / math.log(10)) + 30  # L'^2 ~ e^exponent, exactly
    if digits > MAX_KEYS_DIGITS:
        raise InvalidArgument(f"L' = max_keys(d={d}, eps={float(e):g}) has about {digits // 2} "
                         "digits; pass cap (e.g. the schedule's L)")
    with iv_precision(max(60, digits)):
        bound = iv_exp(iv_of(exponent))
        # Start from the real root of x(x-1)/2 = bound and adjust by exact comparisons.
        root = (1 + mpmath.iv.sqrt(1 + 8 * bound)) / 2
        guess = int(root.b) + 2  # int() of an mpf truncates exactly (root > 0)
        if cap is not None:
            guess = min(guess, cap)
        n = max(guess, 1)
        while n > 1 and not (pair_count(n) < bound.a):
            if pair_count(n) < bound.b:
                raise ArithmeticError("precision too low to compare L'(L'-1)/2 with the bound")
            n -= 1
    return n
