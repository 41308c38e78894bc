"""Private helpers: rigorous enclosures of Binomial(n, 1/2) tails, fast for large n.

Purpose: the exact-binomial d_min of Lemma L1 (docs/theorem.md#l1) compares
M P(Bin(d, 1/2) >= k) with 1 for d up to ~10^9, where the exact rational has ~d bits. We
enclose ln P(Bin(n, 1/2) >= k) instead, rigorously:

* T_k = C(n, k) 2^-n from Robbins' bounds on ln n! (200-bit interval arithmetic):
  ln n! = ln sqrt(2 pi) + (n + 1/2) ln n - n + t with 1/(12n + 1) < t < 1/(12n);
* the tail is T_k S with S = sum_{j >= 0} prod_{i < j} r_i, r_i = (n-k-i)/(k+i+1), which
  decrease in i; the first J products are summed in float64 (each product has relative
  error <= 2 J u, the sum another <= J u, u = 2^-53; we allow 4 J u + 2^-40) and the rest
  is at most P_J / (1 - r_J) (a geometric series, as r_i <= r_J beyond J).

When the enclosure cannot decide M P(...) < 1 (it straddles 1: a relative gap below
~1e-10), :func:`union_below_one` falls back to exact integer arithmetic.

References: H. Robbins, "A remark on Stirling's formula", Amer. Math. Monthly 62 (1955);
N. J. Higham, *Accuracy and Stability of Numerical Algorithms* (2002), ch. 3-4 (the
float error bounds).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from mpmath import libmp

from lowerbound.intervals import IV as _IV
from lowerbound.intervals import iv_fraction as _iv_q
from lowerbound.validation import InvalidArgument

__all__ = ["tail_log_enclosure", "tail_bounds", "union_below_one", "exact_tail", "MAX_TERMS"]

_U = 2.0**-53
MAX_TERMS = 1 << 26  # float terms summed at most (about 0.5 GB of float64 work)


def _ln_factorial(n: int) -> Any:
    """An interval containing ln n! (Robbins' bounds; exact for n <= 1)."""
    if n <= 1:
        return _IV.mpf(0)
    x = _IV.mpf(n)
    base = _IV.log(2 * _IV.pi) / 2 + (x + _IV.mpf(1) / 2) * _IV.log(x) - x
    return base + _IV.mpf([_iv_q(Fraction(1, 12 * n + 1)).a, _iv_q(Fraction(1, 12 * n)).b])


def exact_tail(n: int, k: int) -> Fraction:
    """P(Bin(n, 1/2) >= k) as an exact fraction (slow for large n).

    >>> exact_tail(4, 3)
    Fraction(5, 16)
    """
    if k <= 0:
        return Fraction(1)
    if k > n:
        return Fraction(0)
    term = math.comb(n, k)
    total = 0
    for a in range(k, n + 1):
        total += term
        term = term * (n - a) // (a + 1)
    return Fraction(total, 2**n)


def tail_log_enclosure(n: int, k: int) -> Any:
    """An interval containing ln P(Bin(n, 1/2) >= k), for n/2 < k <= n.

    >>> iv = tail_log_enclosure(4, 3)
    >>> bool(iv.a <= math.log(5 / 16) <= iv.b)
    True
    """
    if not (0 < n < 2 * k <= 2 * n):
        raise InvalidArgument(f"tail_log_enclosure needs n/2 < k <= n, got n={n}, k={k}")
    ln_t = _ln_factorial(n) - _ln_factorial(k) - _ln_factorial(n - k) - n * _IV.log(2)
    all_terms = n - k + 1  # j = 0 .. n-k
    r0 = (n - k) / (k + 1)
    count = all_terms if r0 == 0.0 else min(all_terms, math.ceil(52.0 / -math.log(r0)) + 16)
    if count > MAX_TERMS:
        raise InvalidArgument(f"P(Bin({n}, 1/2) >= {k}) needs {count} terms; at most "
                         f"{MAX_TERMS} are summed")
    # products[j] = prod_{i<j} r_i, j < count; n, k < 2^53 so each r_i rounds once
    i = np.arange(count - 1, dtype=np.float64)
    products = np.concatenate([[1.0], np.cumprod((n - k - i) / (k + i + 1))])
    slack = 8 * count * _U  # >= the relative error of the float sum (see module doc)
    s = _IV.mpf(float(products.sum())) * _IV.mpf([1 - slack, 1 + slack])
    if count < all_terms:  # sum_{j >= count} P_j <= P_{count-1} r_{count-1} / (1 - r_count)
        last = _IV.mpf(float(products[-1])) * (1 + slack)
        r_prev = Fraction(n - k - count + 1, k + count)
        r_next = Fraction(n - k - count, k + count + 1)
        bound = last * _iv_q(r_prev) / _iv_q(1 - r_next)
        s = _IV.mpf([s.a, (s + bound).b])
    return ln_t + _IV.log(s)


def tail_bounds(n: int, k: int) -> tuple[Fraction, Fraction]:
    """Rational (lo, hi) with lo <= P(Bin(n, 1/2) >= k) <= hi, for n/2 < k <= n.

    >>> lo, hi = tail_bounds(4, 3)
    >>> lo <= Fraction(5, 16) <= hi
    True
    """
    ends = _IV.exp(tail_log_enclosure(n, k))._mpi_
    lo, hi = (Fraction(*libmp.to_rational(x)) for x in ends)
    return lo, hi


def union_below_one(pairs: int, n: int, k: int, *, exact_fallback: bool = True) -> bool | None:
    """Whether pairs * P(Bin(n, 1/2) >= k) < 1, decided rigorously.

    Returns None when the enclosure straddles 1 and ``exact_fallback`` is off.

    >>> union_below_one(3, 4, 4), union_below_one(4, 4, 3)
    (True, False)
    """
    if k <= 0:
        return pairs < 1
    if k > n:
        return True
    if 2 * k <= n:  # P >= 1/2 (median of Bin(n, 1/2) is n/2)
        if pairs >= 2:
            return False
        return exact_tail(n, k) * pairs < 1 if exact_fallback else None
    ln_tail = tail_log_enclosure(n, k)
    ln_union = _IV.log(_IV.mpf(pairs)) + ln_tail
    if ln_union.b < 0:
        return True
    if ln_union.a >= 0:
        return False
    if not exact_fallback:
        return None
    return pairs * exact_tail(n, k) < 1
