"""How strongly a scaled query makes softmax concentrate on one cached token.

Purpose: Lemma L2 (docs/theorem.md#l2) (softmax concentration) and the least query scale C_min
of Lemma L3 at which Bob's decoding is guaranteed.

Main statement (L2): if score s_i* exceeds every other of m scores by at least Delta,
softmax puts weight >= 1 / (1 + (m-1) e^{-Delta}) on i*. In the reduction Bob's query
C*k_i scores C on its own key, at most C*eps on the other L-1 keys (Lemma L1) and 0 on
the T_K zero keys of the last scale, so w_i* >= 1 / (1 + gamma) with
gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C}.

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak), whose reduction
uses the same concentration step.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath

from lowerbound.intervals import ctx_fraction, decide_less, to_fraction
from lowerbound.validation import (
    InvalidArgument,
    RealLike,
    check_finite_positive,
    check_int_at_least,
    check_interval,
)

__all__ = [
    "concentration_weight",
    "gamma",
    "gamma_target",
    "c_min",
    "scale_for_gamma",
    "gamma_interval",
    "gamma_is_below",
]

_DPS = 50


def concentration_weight(m: int, gap: float) -> float:
    """Lower bound 1 / (1 + (m-1) e^{-gap}) on the softmax weight of a leading score.

    Notes: Lemma L2 (docs/theorem.md#l2) (generic form).

    >>> concentration_weight(1, 0.0)
    1.0
    >>> round(concentration_weight(2, 0.0), 3)
    0.5
    """
    m = check_int_at_least(m, "m", 1)
    return 1.0 / (1.0 + (m - 1) * math.exp(-float(gap)))


def gamma(
    n_keys: int, last_tokens: int, scale: float, eps: RealLike, *, extra_zero_keys: int = 0
) -> float:
    """gamma = (L-1) e^{-C(1-eps)} + (T_K + Z) e^{-C}: the mass outside Bob's target token.

    Bob's target token gets softmax weight >= 1/(1+gamma). ``n_keys`` counts the
    bit-carrying tokens (sign keys, pairwise <= eps); ``extra_zero_keys`` = Z counts cached
    tokens that carry no bits and were given zero keys and zero values: like the T_K zero
    keys of the last scale, each scores 0 and trails the target by C.

    Notes: Lemma L2 (docs/theorem.md#l2), specialised to the reduction; the Z term is
    Lemma UNUSED (docs/theorem.md#unused).

    >>> round(gamma(2, 0, 10.0, 0.5), 6) == round(math.exp(-5.0), 6)
    True
    >>> gamma(2, 3, 10.0, 0.5, extra_zero_keys=1) == gamma(2, 4, 10.0, 0.5)
    True
    """
    n = check_int_at_least(n_keys, "L", 1)
    t = check_int_at_least(last_tokens, "T_K", 0)
    z = check_int_at_least(extra_zero_keys, "extra_zero_keys", 0)
    c = check_finite_positive(scale, "C")
    e = float(check_interval(eps, "eps", 0, 1, closed_lower=True))
    return (n - 1) * math.exp(-c * (1.0 - e)) + (t + z) * math.exp(-c)


def gamma_target(eta: RealLike, *, additive: bool = False) -> Fraction:
    """Largest admissible gamma (exclusive) for decoding under error eta, exactly.

    Relative error eta in [0, 1): gamma < (1-eta)/(1+eta).
    Additive error eta in [0, 1/2): gamma < (1-2 eta)/(1+2 eta), from
    1/(1+gamma) - eta > gamma/(1+gamma) + eta.

    Notes: Lemma L3 (docs/theorem.md#l3).

    >>> gamma_target(0)
    Fraction(1, 1)
    >>> gamma_target(Fraction(1, 3))
    Fraction(1, 2)
    >>> gamma_target(Fraction(1, 4), additive=True)
    Fraction(1, 3)
    """
    if additive:
        e = to_fraction(check_interval(eta, "eta", 0, 0.5, closed_lower=True))
        return (1 - 2 * e) / (1 + 2 * e)
    e = to_fraction(check_interval(eta, "eta", 0, 1, closed_lower=True))
    return (1 - e) / (1 + e)


def gamma_interval(
    ctx: Any, n_keys: int, last_tokens: int, scale: Any, eps: Any, extra_zero_keys: int = 0
) -> Any:
    """gamma = (L-1) e^{-C(1-eps)} + (T_K + Z) e^{-C} in interval arithmetic.

    ``scale`` and ``eps`` are intervals of the mpmath interval context ``ctx`` (they may
    enclose irrational values); the result encloses gamma for every C and eps inside them.

    Notes: Lemma L2 (docs/theorem.md#l2) (with Lemma UNUSED's Z zero keys).
    """
    return (n_keys - 1) * ctx.exp(-scale * (1 - eps)) + (
        last_tokens + extra_zero_keys) * ctx.exp(-scale)


def gamma_is_below(
    n_keys: int,
    last_tokens: int,
    scale: RealLike,
    eps: RealLike,
    target: RealLike,
    *,
    extra_zero_keys: int = 0,
) -> bool:
    """Whether gamma(L, T_K, C, eps) < target, decided exactly (interval arithmetic).

    Every input is read as its exact rational value (a float as its binary value). For
    C > 0, gamma = a e^{-C(1-eps)} + b e^{-C} with integers a, b not both 0 is never a
    rational number (Lindemann-Weierstrass: e^u for distinct algebraic u are linearly
    independent over the algebraic numbers), so the interval refinement of
    :func:`lowerbound.intervals.decide_less` decides every case except gamma = 0 (L = 1, no
    zero keys) or C = 0, where it may raise ArithmeticError at equality.

    Notes: Lemmas L2 and L3 (docs/theorem.md#l2, #l3); with ``scale`` = the logit cap B this decides
    whether C_min <= B (Lemma CAP, docs/theorem.md#cap): gamma decreases strictly in C.

    >>> gamma_is_below(424, 256, 100, Fraction(3, 4), Fraction(3, 5))
    True
    >>> gamma_is_below(424, 256, 26, Fraction(3, 4), Fraction(3, 5))  # C_min = 26.233...
    False
    """
    n = check_int_at_least(n_keys, "L", 1)
    t = check_int_at_least(last_tokens, "T_K", 0)
    z = check_int_at_least(extra_zero_keys, "extra_zero_keys", 0)
    c = to_fraction(check_interval(scale, "C", 0, math.inf, closed_lower=True))
    e = to_fraction(check_interval(eps, "eps", 0, 1, closed_lower=True))
    bound = to_fraction(target)

    def evaluate(ctx: Any) -> Any:
        return gamma_interval(ctx, n, t, ctx_fraction(ctx, c), ctx_fraction(ctx, e), z)

    return decide_less(evaluate, bound)


def _gamma_mp(n: int, t: int, c: mpmath.mpf, e: Fraction) -> mpmath.mpf:
    one_minus = mpmath.mpf(1 - e.numerator / mpmath.mpf(e.denominator))
    return (n - 1) * mpmath.exp(-c * one_minus) + t * mpmath.exp(-c)


def scale_for_gamma(
    n_keys: int,
    last_tokens: int,
    eps: RealLike,
    target: RealLike,
    *,
    extra_zero_keys: int = 0,
) -> float:
    """Least float C with gamma(L, T_K, C, eps) < target (target > 0, exact rational).

    ``extra_zero_keys`` adds cached tokens with zero keys (Lemma UNUSED): they enter gamma
    exactly like the last scale's zero keys, so it is the same as raising T_K.

    gamma decreases strictly in C, so the admissible scales form a ray; we return the
    smallest double on it. Checked at 50 significant digits: gamma(C) < target holds and
    gamma at the preceding double does not.

    Notes: Lemma L2 (docs/theorem.md#l2) solved for C.

    >>> c = scale_for_gamma(424, 256, 0.75, Fraction(3, 5))
    >>> gamma(424, 256, c, 0.75) < 0.6 <= gamma(424, 256, math.nextafter(c, 0), 0.75)
    True
    """
    n = check_int_at_least(n_keys, "L", 1)
    t = check_int_at_least(last_tokens, "T_K", 0) + check_int_at_least(
        extra_zero_keys, "extra_zero_keys", 0)
    if n == 1 and t == 0:
        raise InvalidArgument("L=1 and T_K=0 leave no competing score, so gamma = 0 for every C; "
                         "C_min is defined for L >= 2 or T_K >= 1")
    e = to_fraction(check_interval(eps, "eps", 0, 1, closed_lower=True))
    target_q = to_fraction(target)
    if target_q <= 0:
        raise InvalidArgument(f"target={target} leaves no admissible gamma; it must be > 0")
    if (n - 1) + t <= target_q:
        # gamma(C) < gamma(0+) = (L-1) + T_K <= target for every C > 0: no least C.
        raise InvalidArgument(
            f"(L-1) + T_K = {(n - 1) + t} <= target={target}: every C > 0 meets "
            "gamma < target, so there is no least C; no scaling is needed"
        )
    with mpmath.workdps(_DPS):
        target_mp = mpmath.mpf(target_q.numerator) / target_q.denominator

        def too_big(c: mpmath.mpf) -> bool:
            return bool(_gamma_mp(n, t, c, e) >= target_mp)

        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        while too_big(hi):
            lo, hi = hi, hi * 2
        for _ in range(200):
            mid = (lo + hi) / 2
            if too_big(mid):
                lo = mid
            else:
                hi = mid
        c = float(hi)
        while too_big(mpmath.mpf(c)):
            c = math.nextafter(c, math.inf)
        while c > 0 and not too_big(mpmath.mpf(math.nextafter(c, 0.0))):
            c = math.nextafter(c, 0.0)
    return c


def c_min(
    n_keys: int,
    last_tokens: int,
    eps: RealLike,
    eta: RealLike,
    *,
    additive: bool = False,
    extra_zero_keys: int = 0,
) -> float:
    """Least float C with gamma(L, T_K, C, eps) < gamma_target(eta): Bob's query scale.

    ``extra_zero_keys`` counts cached tokens that carry no bits (zero keys and values,
    Lemma UNUSED, docs/theorem.md#unused); ``n_keys`` then counts the bit-carrying ones.

    Notes: Lemma L3 (docs/theorem.md#l3) (C_min(L, T_K, eps, eta)); the theorem runs the
    reduction with this C. Real VAR heads cap the logit scale at 100 (docs/theorem.md#var-head), so
    C_min <= 100 means the instance is realisable in a released head. At C = C_min the
    two decoding ranges of L3 touch in the limit, so a floating-point simulation runs at
    a slightly larger C (see reduction.protocol).

    >>> c = c_min(424, 256, 0.75, 0.25)
    >>> gamma(424, 256, c, 0.75) < 0.6 <= gamma(424, 256, math.nextafter(c, 0), 0.75)
    True
    >>> round(c_min(424, 256, 0.75, 0.25), 3)
    26.233
    """
    return scale_for_gamma(n_keys, last_tokens, eps, gamma_target(eta, additive=additive),
                           extra_zero_keys=extra_zero_keys)
