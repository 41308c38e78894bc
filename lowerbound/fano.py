"""Fano's inequality for q-ary symbols at any error rate, and its confidence version.

Purpose: Lemma PREC's bound (docs/theorem.md#prec) and the leak check at any symbol
error rate (docs/theorem.md#fano, #feasible). b = 1 is the binary case of Lemma L4.

Main statement (Fano, q = 2^b symbols): if N symbols X_1..X_N, independent and uniform on
q values, are decoded from a message with average symbol error rate p, then the message
carries at least

    I(p) = N * (b - H2(p) - p * log2(q - 1))

bits, for every p in [0, 1] (Fano per symbol, H(X_i | Xhat_i) <= H2(p_i) + p_i log2(q-1),
then the chain rule and concavity of the right side in p). No clamping of p: a binary
decoder wrong on every bit knows every bit, and I(1) = N for b = 1. I(p) >= 0 for every
p, since H2(p) + p log2(q-1) is the entropy of (1-p, p/(q-1), ..., p/(q-1)), at most
log2 q = b; the minimum I = 0 is at p = (q-1)/q. Hence I is convex in p, decreasing on
[0, (q-1)/q] and increasing after: it is *not* monotone on [0, 1].

The confidence version takes the minimum of I over a two-sided Clopper-Pearson interval
[p_lo, p_hi] of the observed rate (errors treated as independent Bernoulli trials):
because I is not monotone, that minimum is I(p_hi) left of the minimiser, I(p_lo) right
of it, and 0 when the interval contains it.

References: Cover & Thomas, *Elements of Information Theory*, Thm 2.10.1 (Fano);
C. J. Clopper and E. S. Pearson, Biometrika 26 (1934).
"""

from __future__ import annotations

import math
from fractions import Fraction

from lowerbound.entropy import (
    binary_entropy,
    error_rate_lower_confidence,
    error_rate_upper_confidence,
)
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "information_bits_lower_confidence",
    "fano_loss",
    "fano_information_bits",
    "worst_error_rate",
    "clopper_pearson",
    "fano_information_lower_confidence",
]


def fano_loss(error_rate: RealLike, bits_per_symbol: int = 1) -> float:
    """H2(p) + p log2(2^b - 1): Fano's bound on the bits per symbol a decoder misses.

    Notes: docs/theorem.md#fano. At most b, with equality at p = (2^b - 1)/2^b.

    >>> fano_loss(0.5), fano_loss(1.0), fano_loss(0.0, 4)
    (1.0, 0.0, 0.0)
    >>> round(fano_loss(15 / 16, 4), 12)
    4.0
    """
    b = check_int_at_least(bits_per_symbol, "b", 1)
    p = float(check_interval(error_rate, "p", 0, 1, closed_lower=True, closed_upper=True))
    return binary_entropy(p) + (p * math.log2(2**b - 1) if p > 0 else 0.0)


def fano_information_bits(
    n_symbols: int, error_rate: RealLike, bits_per_symbol: int = 1
) -> float:
    """N (b - H2(p) - p log2(2^b - 1)): bits a decoder with symbol error rate p has learned.

    Valid for every p in [0, 1] with no clamping; never negative (the module docstring),
    so float rounding below 0 is returned as 0.

    Notes: docs/theorem.md#fano (the leak check) and #prec (multi-level bound).

    >>> fano_information_bits(1000, 0.0), fano_information_bits(1000, 0.5)
    (1000.0, 0.0)
    >>> fano_information_bits(1000, 1.0)  # wrong on every bit: knows every bit
    1000.0
    >>> round(fano_information_bits(1000, 1.0, 2), 3)  # 2 bits, always wrong: 2 - log2 3
    415.037
    """
    n = check_int_at_least(n_symbols, "n_symbols", 0)
    b = check_int_at_least(bits_per_symbol, "b", 1)
    return max(0.0, n * (b - fano_loss(error_rate, b)))


def worst_error_rate(bits_per_symbol: int = 1) -> Fraction:
    """(2^b - 1)/2^b: the error rate at which Fano's information is 0 (its minimum).

    >>> worst_error_rate(1), worst_error_rate(3)
    (Fraction(1, 2), Fraction(7, 8))
    """
    b = check_int_at_least(bits_per_symbol, "b", 1)
    return Fraction(2**b - 1, 2**b)


def clopper_pearson(errors: int, n_trials: int, alpha: float = 1e-6) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval [p_lo, p_hi] at confidence 1 - alpha.

    p_lo = I^{-1}_{alpha/2}(k, n-k+1) (0 if k = 0), p_hi = I^{-1}_{1-alpha/2}(k+1, n-k)
    (1 if k = n), with I^{-1} the inverse regularised incomplete beta function: the
    one-sided bounds of :mod:`lowerbound.entropy` at level alpha/2 each.

    Notes: the sampling allowance of the leak check (docs/theorem.md#feasible); the errors
    are treated as independent trials.

    >>> lo, hi = clopper_pearson(0, 1000, 0.1)
    >>> lo, round(hi, 5)
    (0.0, 0.00299)
    >>> clopper_pearson(5, 5, 0.1)[1]
    1.0
    """
    k, n = _counts(errors, n_trials)
    a = float(check_interval(alpha, "alpha", 0, 1))
    return (error_rate_lower_confidence(k, n, a / 2), error_rate_upper_confidence(k, n, a / 2))


def _counts(errors: int, n_trials: int) -> tuple[int, int]:
    n = check_int_at_least(n_trials, "n_trials", 1)
    k = check_int_at_least(errors, "errors", 0)
    if k > n:
        raise InvalidArgument(f"errors={k} cannot exceed n_trials={n}")
    return k, n


def fano_information_lower_confidence(
    errors: int, n_symbols: int, bits_per_symbol: int = 1, alpha: float = 1e-6
) -> float:
    """min of Fano's information over the Clopper-Pearson interval of the error rate.

    Fano's information is convex in p with its minimum 0 at p* = (2^b-1)/2^b, so the
    minimum over [p_lo, p_hi] is I(p_hi) if p_hi <= p*, I(p_lo) if p_lo >= p*, else 0.

    Notes: docs/theorem.md#fano and #feasible: a message shorter than this (at confidence
    1 - alpha) carries more than its bits allow, so the harness leaks.

    >>> fano_information_lower_confidence(0, 1000, 1, 0.05) < 1000
    True
    >>> fano_information_lower_confidence(500, 1000)  # p = 1/2 is inside: nothing learned
    0.0
    >>> fano_information_lower_confidence(1000, 1000, 1, 0.05) > 950  # always wrong
    True
    """
    b = check_int_at_least(bits_per_symbol, "b", 1)
    lo, hi = clopper_pearson(errors, n_symbols, alpha)
    p_star = float(worst_error_rate(b))
    if hi <= p_star:
        return fano_information_bits(n_symbols, hi, b)
    if lo >= p_star:
        return fano_information_bits(n_symbols, lo, b)
    return 0.0


def information_bits_lower_confidence(errors: int, n_bits: int, alpha: float = 1e-6) -> float:
    """Lower confidence bound on N * (1 - H2(p)) from ``errors`` wrong bits out of N.

    The information N(1 - H2(p)) falls as p moves towards 1/2 from either side, so its
    least value over the confidence interval [p_lo, p_hi] (each end one-sided at level
    alpha) is 0 when the interval contains 1/2, else its value at the end nearer 1/2.
    A decoder wrong on almost every bit is credited with almost N bits (Fano for every
    p, docs/theorem.md#fano): nothing is clamped.

    This is the one-bit case of :func:`lowerbound.fano.fano_information_lower_confidence`
    (b = 1, two-sided level 2 alpha), which it calls: one implementation of the minimum.

    Notes: the check of docs/theorem.md#feasible; a message shorter than this value (at
    confidence 1 - 2 alpha) carries more information than its bits allow: a leak.

    >>> information_bits_lower_confidence(0, 1000, 0.05) < 1000
    True
    >>> information_bits_lower_confidence(1000, 1000, 0.05) > 900
    True
    >>> information_bits_lower_confidence(500, 1000, 0.05)
    0.0
    """
    check_interval(alpha, "alpha", 0, 0.5)
    return fano_information_lower_confidence(errors, n_bits, 1, 2 * alpha)
