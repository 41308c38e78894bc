"""The bound as n grows: the limits it approaches and where a logit cap stops it.

Purpose: docs/theorem.md#asymptotics. The schedule arithmetic (sides, L_{K-1}, T_K) lives
in ``reduction.schedule``; this module takes those sizes and returns the quantities of the
asymptotic table, each from the lemma that defines it.

Main statements.
- Geometric schedules: if the sides are round(n / rho^j), j = 0, 1, ..., then
  L_{K-1} / n^2 -> sum_{j>=1} rho^{-2j} = 1/(rho^2 - 1) (each term converges and the
  rounding errors sum to O(log n / n)), so the bound (1 - H2(delta)) d L_{K-1} divided by
  n^2 d tends to (1 - H2(delta)) / (rho^2 - 1).
- d_min(L, eps) = floor(2 ln(L(L-1)/2) / eps^2) + 1 with L ~ n^2/(rho^2-1), so
  d_min / ln n -> 8/eps^2 (slowly: the constant terms make it (8 - O(1/ln n))/eps^2).
- Low dimension: at d = c ln n the union bound guarantees L' ~ sqrt(2) n^{c eps^2 / 4}
  keys (Corollary C1), so bound/(n^2 d) = min(L', L)/n^2 goes from n^{c eps^2/4 - 2} -> 0
  (c < 8/eps^2) to 1/(rho^2 - 1) (c > 8/eps^2).

References: arXiv 2503.14881 (Omega(n^2 d) for d = Omega(log n)); arXiv 2502.15955
(Haris & Onak, Omega(d min{n, e^d}) in their setting).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from lowerbound.intervals import floor_of_interval, iv_ln, iv_of, to_fraction
from lowerbound.jl import d_min
from lowerbound.logit_cap import plan_under_cap
from lowerbound.softmax import c_min, gamma_is_below, gamma_target
from lowerbound.validation import RealLike, check_int_at_least, check_interval

__all__ = [
    "geometric_limit",
    "d_min_log_limit",
    "dimension_for",
    "scale_row",
    "low_dimension_point",
    "fits_at_eps",
    "largest_fitting_n",
]


def geometric_limit(ratio: RealLike) -> Fraction:
    """1/(rho^2 - 1): the limit of L_{K-1}/n^2 (and of bound/(n^2 d)) for geometric(n, rho).

    Notes: docs/theorem.md#asymptotics.

    >>> geometric_limit(2)
    Fraction(1, 3)
    """
    r = to_fraction(check_interval(ratio, "ratio", 1, math.inf))
    return 1 / (r * r - 1)


def d_min_log_limit(eps: RealLike) -> Fraction:
    """8/eps^2: the limit of d_min(L_{K-1}, eps)/ln n when L_{K-1} = Theta(n^2).

    Notes: Lemma L1 with docs/theorem.md#asymptotics.

    >>> d_min_log_limit(Fraction(3, 4))
    Fraction(128, 9)
    """
    e = to_fraction(check_interval(eps, "eps", 0, 1))
    return 8 / (e * e)


def dimension_for(c: RealLike, n: int) -> int:
    """ceil(c ln n), computed exactly (ln n is irrational for n >= 2).

    >>> dimension_for(8, 4096), dimension_for(1, 1)
    (67, 1)
    """
    n = check_int_at_least(n, "n", 1)
    cq = to_fraction(check_interval(c, "c", 0, math.inf))
    if n == 1:
        return 1
    return max(1, floor_of_interval(iv_of(cq) * iv_ln(n)) + 1)


def fits_at_eps(
    cached_tokens: int, last_tokens: int, eps: RealLike, eta: RealLike, logit_cap: RealLike
) -> bool:
    """Whether C_min(L, T_K, eps, eta) <= B, i.e. gamma(B) < (1-eta)/(1+eta) (exact).

    Notes: Lemma CAP (docs/theorem.md#cap) at a fixed eps, d = d_min(L, eps).

    >>> fits_at_eps(424, 256, Fraction(3, 4), Fraction(1, 4), 100)
    True
    """
    return gamma_is_below(cached_tokens, last_tokens, logit_cap, eps, gamma_target(eta))


def scale_row(
    n: int,
    cached_tokens: int,
    last_tokens: int,
    eps: RealLike,
    eta: RealLike,
    *,
    logit_cap: RealLike | None = None,
) -> dict[str, Any]:
    """One row of the asymptotic table for a schedule whose last map has side n.

    d = d_min(L, eps) (Lemma L1); bound/(n^2 d) = L/n^2 exactly (delta = 0; the theorem);
    C_min (Lemma L3). With a cap: whether C_min <= B, and L*(d_min, B) at this eps.

    >>> r = scale_row(16, 424, 256, Fraction(3, 4), Fraction(1, 4), logit_cap=100)
    >>> r["d_min"], r["bound_over_n2d"], r["fits_cap"], r["capped_carrying_tokens"]
    (41, '53/32', True, 424)
    """
    n = check_int_at_least(n, "n", 2)
    e = to_fraction(eps)
    dm = d_min(cached_tokens, e)
    row: dict[str, Any] = {
        "n": n,
        "cached_tokens": cached_tokens,
        "last_tokens": last_tokens,
        "d_min": dm,
        "d_min_over_ln_n": dm / math.log(n),
        "bound_over_n2d": str(Fraction(cached_tokens, n * n)),
        "bound_over_n2d_float": cached_tokens / (n * n),
        "c_min": c_min(cached_tokens, last_tokens, e, eta),
    }
    if logit_cap is not None:
        plan = plan_under_cap(cached_tokens, last_tokens, dm, eta, logit_cap, eps=e)
        row["fits_cap"] = fits_at_eps(cached_tokens, last_tokens, e, eta, logit_cap)
        row["capped_carrying_tokens"] = plan.carrying_tokens
        row["capped_bound_over_n2d_float"] = plan.carrying_tokens / (n * n)
    return row


def low_dimension_point(
    n: int,
    cached_tokens: int,
    last_tokens: int,
    c: RealLike,
    eps: RealLike,
    eta: RealLike,
    *,
    logit_cap: RealLike | None = None,
) -> dict[str, Any]:
    """bound/(n^2 d) at d = ceil(c ln n): L*(d, B)/n^2 at the fixed eps (C1; CAP if B).

    Notes: Corollary C1 and Lemma CAP (docs/theorem.md#c1, #cap, #asymptotics).

    >>> p = low_dimension_point(4096, 5592405, 16777216, 4, Fraction(3, 4), Fraction(1, 4))
    >>> p["d"], p["carrying_tokens"]
    (34, 169)
    """
    d = dimension_for(c, n)
    plan = plan_under_cap(cached_tokens, last_tokens, d, eta, logit_cap, eps=eps)
    return {
        "n": n,
        "c": str(to_fraction(c)),
        "d": d,
        "carrying_tokens": plan.carrying_tokens,
        "bound_over_n2d_float": plan.carrying_tokens / (n * n),
    }


def largest_fitting_n(
    fits: Callable[[int], bool], fails_from: Callable[[int], bool], start: int = 2
) -> int | None:
    """The largest n >= start with fits(n), given a certificate for large n.

    ``fails_from(n)`` must be *monotone* (True at n implies True at n+1) and True only when
    fits(m) is False for every m >= n. We find the least such n by doubling and
    bisection, then scan down from it exhaustively; None if fits(start) is already False
    and nothing between fits.

    >>> largest_fitting_n(lambda n: n * n < 50, lambda n: n * n >= 50)
    7
    """
    hi = max(start, 2)
    while not fails_from(hi):
        hi *= 2
    lo = start - 1  # fails_from(lo) False or lo < start
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails_from(mid):
            hi = mid
        else:
            lo = mid
    for n in range(hi - 1, start - 1, -1):
        if fits(n):
            return n
    return None
