"""Binary entropy and the information a decoder with bit error rate p has recovered.

Purpose: the quantities of Lemma L4 (Fano on each bit plus the chain rule) and of the
"every compressor is on the feasible side" check of docs/theorem.md#feasible.

Main statement (L4): a one-way message from which every one of N uniform bits is decoded
with error at most delta < 1/2 has at least (1 - H2(delta)) * N bits.

References: Kremer, Nisan & Ron (1999) for the Omega(N) Index bound; Cover & Thomas,
*Elements of Information Theory*, section 2.10 (Fano's inequality).
"""

from __future__ import annotations

import math

from lowerbound._beta import beta_regularized_inverse
from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval

__all__ = [
    "binary_entropy",
    "binary_entropy_inverse",
    "information_bits",
    "error_rate_lower_confidence",
    "error_rate_upper_confidence",
]


def binary_entropy(p: float) -> float:
    """Binary entropy H2(p) = -p log2 p - (1-p) log2(1-p), in bits.

    Notes: Lemma L4 (docs/theorem.md#l4); H2(0) = H2(1) = 0 by continuity.

    >>> binary_entropy(0.5)
    1.0
    >>> binary_entropy(0.0)
    0.0
    >>> round(binary_entropy(0.11), 4)
    0.4999
    """
    check_interval(p, "p", 0, 1, closed_lower=True, closed_upper=True)
    p = float(p)
    if p in (0.0, 1.0):
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


def binary_entropy_inverse(y: float, *, tol: float = 1e-15) -> float:
    """The p in [0, 1/2] with H2(p) = y, for y in [0, 1] (bisection; H2 increases there).

    Notes: used for the exhaustive check of Lemma L4, whose error floor is
    H2^{-1}(1 - m/N) for an m-bit message about N bits.

    >>> binary_entropy_inverse(1.0)
    0.5
    >>> round(binary_entropy_inverse(0.5), 4)
    0.11
    """
    check_interval(y, "y", 0, 1, closed_lower=True, closed_upper=True)
    lo, hi = 0.0, 0.5
    if y >= 1.0:
        return 0.5
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if binary_entropy(mid) < y:
            lo = mid
        else:
            hi = mid
    return hi


def information_bits(n_bits: int, error_rate: float) -> float:
    """Bits a decoder with average bit error rate p has learned: N * (1 - H2(p)), any p.

    Notes: Lemma L4 read backwards (docs/theorem.md#feasible, #fano): by Fano per bit,
    the chain rule and concavity of H2, a message from which N uniform bits are decoded
    with average error rate p carries at least N * (1 - H2(p)) bits. This holds for
    EVERY p in [0, 1]: a decoder wrong on every bit knows every bit (flip its answers),
    and the formula credits it with N bits. p is never clamped to 1/2.

    >>> information_bits(1000, 0.0)
    1000.0
    >>> information_bits(1000, 0.5)
    0.0
    >>> information_bits(1000, 1.0)
    1000.0
    """
    n = check_int_at_least(n_bits, "n_bits", 0)
    p = float(check_interval(error_rate, "error_rate", 0, 1, closed_lower=True,
                             closed_upper=True))
    return n * (1.0 - binary_entropy(p))


def _check_counts(errors: int, n_bits: int, alpha: float) -> tuple[int, int]:
    n = check_int_at_least(n_bits, "n_bits", 1)
    k = check_int_at_least(errors, "errors", 0)
    if k > n:
        raise InvalidArgument(f"errors={k} cannot exceed n_bits={n}")
    check_interval(alpha, "alpha", 0, 1)
    return k, n


def error_rate_upper_confidence(errors: int, n_bits: int, alpha: float = 1e-6) -> float:
    """One-sided Clopper-Pearson upper confidence bound on a bit error rate.

    With ``errors`` wrong bits out of ``n_bits``, returns p_hi with
    P(Binomial(n, p_hi) <= errors) = alpha (p_hi = 1 when errors = n): the
    (1 - alpha) quantile of Beta(k + 1, n - k), computed by lowerbound._beta (a continued
    fraction and bisection in the standard library: no scipy at start-up).

    Notes: the errors of different bits are treated as independent trials; this is the
    sampling-noise allowance of docs/theorem.md#fano, not part of the theorem.

    >>> round(error_rate_upper_confidence(0, 1000, 0.05), 5)
    0.00299
    """
    k, n = _check_counts(errors, n_bits, alpha)
    if k == n:
        return 1.0
    return beta_regularized_inverse(k + 1, n - k, 1.0 - alpha)


def error_rate_lower_confidence(errors: int, n_bits: int, alpha: float = 1e-6) -> float:
    """One-sided Clopper-Pearson lower confidence bound on a bit error rate.

    Returns p_lo with P(Binomial(n, p_lo) >= errors) = alpha (p_lo = 0 when errors = 0):
    the alpha quantile of Beta(k, n - k + 1).

    >>> error_rate_lower_confidence(0, 1000)
    0.0
    >>> round(error_rate_lower_confidence(1000, 1000, 0.05), 5)
    0.99701
    """
    k, n = _check_counts(errors, n_bits, alpha)
    if k == 0:
        return 0.0
    return beta_regularized_inverse(k, n - k + 1, alpha)
