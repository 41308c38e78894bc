"""Values on 2^b levels: b bits per coordinate, and the accuracy eta they require.

Purpose: Lemma PREC (docs/theorem.md#prec): a lower bound that grows with the precision
asked of the attention output.

Construction: Alice's values take the levels v = m 2^-b, m in {0, ..., 2^b - 1} (exact in
binary floating point while b fits the significand). Bob's target token has weight
w >= 1/(1+gamma) (Lemma L2); every other value lies in [0, V] (V = ``value_bound``, 1 by
default; the top level (2^b-1)/2^b is also a valid V), so the exact output of level m is

    Z in [m 2^-b / (1+gamma), (m 2^-b + gamma V) / (1+gamma)]

(Z = w v + (1-w) * (a mean of other values) <= w v + (1-w) V, largest at w = 1/(1+gamma)).

Main statement (PREC). Relative error eta: the observed ranges of levels m and m+1 are
disjoint iff (1+eta)(m 2^-b + gamma V) < (1-eta)(m+1) 2^-b. Proof that the top pair
binds: multiplying out, this is (1+eta) gamma V 2^b < (1-eta) - 2 eta m, whose right side
decreases in m, so every pair separates iff the pair m = 2^b - 2 does, i.e. iff

    gamma < (1 - eta (2^(b+1) - 3)) / ((1+eta) 2^b V)   (= level_gamma_target).

As gamma -> 0 this needs eta < 1/(2^(b+1) - 3); with eta = 0 it needs gamma < 2^-b / V.
Additive error eta: the ranges separate iff (m 2^-b + gamma V)/(1+gamma) + eta <
(m+1) 2^-b/(1+gamma) - eta, i.e. gamma (V + 2 eta) < 2^-b - 2 eta, the same for every m.
Bob decodes with the 2^b - 1 midpoints of the gaps as thresholds. By Fano for 2^b
symbols (:mod:`lowerbound.fano`) any algorithm with symbol error <= delta keeps
>= L d (b - H2(delta) - delta log2(2^b - 1)) bits.

With V = 1/2 and b = 1 (values {0, 1/2}) the target is (1-eta)/(1+eta): Lemma L3 exactly.

References: arXiv 2503.14881 (the one-bit reduction this refines); IEEE 754-2019 (binary16
has an 11-bit significand, binary32 24, binary64 53; bfloat16 keeps 8).
"""

from __future__ import annotations

from fractions import Fraction

from lowerbound.families import Family
from lowerbound.fano import fano_information_bits, worst_error_rate
from lowerbound.intervals import to_fraction
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "VALUE_DTYPE_BITS",
    "max_bits_for_dtype",
    "level_values",
    "level_gamma_target",
    "eta_limit",
    "level_ranges",
    "levels_separate",
    "level_thresholds",
    "bits_per_value_auto",
    "multilevel_bound_bits",
]

#: Significand bits (implicit bit included) of each value format: every multiple of
#: 2^-b in [0, 1) is exact iff b <= this (m < 2^b needs b significant bits).
VALUE_DTYPE_BITS: dict[str, int] = {"bfloat16": 8, "float16": 11, "float32": 24,
                                    "float64": 53}


def max_bits_for_dtype(dtype: str) -> int:
    """The largest b whose levels m 2^-b are all exact in ``dtype``.

    >>> max_bits_for_dtype("float16"), max_bits_for_dtype("bfloat16")
    (11, 8)
    """
    if dtype not in VALUE_DTYPE_BITS:
        raise InvalidArgument(f"dtype={dtype!r} is not one of {', '.join(VALUE_DTYPE_BITS)}")
    return VALUE_DTYPE_BITS[dtype]


def _b(bits: int) -> int:
    return check_int_at_least(bits, "b", 1)


def _v(value_bound: RealLike, b: int) -> Fraction:
    v = to_fraction(value_bound)
    top = Fraction(2**b - 1, 2**b)
    if v < top:
        raise InvalidArgument(f"value_bound={value_bound} is below the top level {top} of b={b}")
    return v


def level_values(bits: int) -> tuple[Fraction, ...]:
    """The 2^b levels m 2^-b, m = 0 .. 2^b - 1.

    >>> level_values(2)
    (Fraction(0, 1), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))
    """
    b = _b(bits)
    return tuple(Fraction(m, 2**b) for m in range(2**b))


def level_gamma_target(
    bits: int, eta: RealLike = 0, *, additive: bool = False, value_bound: RealLike = 1
) -> Fraction:
    """The exact bound gamma must stay below for 2^b levels to separate (<= 0: never).

    Relative: (1 - eta (2^(b+1) - 3)) / ((1+eta) 2^b V); additive:
    (2^-b - 2 eta) / (V + 2 eta).

    Notes: Lemma PREC (docs/theorem.md#prec).

    >>> level_gamma_target(1, Fraction(1, 4), value_bound=Fraction(1, 2))  # = L3's 3/5
    Fraction(3, 5)
    >>> level_gamma_target(5, Fraction(1, 100))
    Fraction(39, 3232)
    >>> level_gamma_target(6, Fraction(1, 100)) < 0
    True
    """
    b = _b(bits)
    v = _v(value_bound, b)
    if additive:
        e = to_fraction(check_interval(eta, "eta", 0, 0.5, closed_lower=True))
        return (Fraction(1, 2**b) - 2 * e) / (v + 2 * e)
    e = to_fraction(check_interval(eta, "eta", 0, 1, closed_lower=True))
    return (1 - e * (2 ** (b + 1) - 3)) / ((1 + e) * 2**b * v)


def eta_limit(bits: int, *, additive: bool = False) -> Fraction:
    """The sup of the eta for which 2^b levels separate as gamma -> 0 (exclusive).

    Relative error: 1/(2^(b+1) - 3); additive: 2^-(b+1).

    Notes: Lemma PREC (docs/theorem.md#prec).

    >>> eta_limit(1), eta_limit(5), eta_limit(5, additive=True)
    (Fraction(1, 1), Fraction(1, 61), Fraction(1, 64))
    """
    b = _b(bits)
    return Fraction(1, 2 ** (b + 1)) if additive else Fraction(1, 2 ** (b + 1) - 3)


def level_ranges(
    bits: int, gamma: RealLike, eta: RealLike = 0, *, additive: bool = False,
    value_bound: RealLike = 1,
) -> tuple[tuple[Fraction, Fraction], ...]:
    """The range Bob may observe for each level m: exact range widened by the error.

    Notes: Lemma PREC (docs/theorem.md#prec).

    >>> level_ranges(1, 0, 0)
    ((Fraction(0, 1), Fraction(0, 1)), (Fraction(1, 2), Fraction(1, 2)))
    """
    b = _b(bits)
    v = _v(value_bound, b)
    g = to_fraction(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    e = to_fraction(eta)
    out = []
    for level in level_values(b):
        lo, hi = level / (1 + g), (level + g * v) / (1 + g)
        out.append((lo - e, hi + e) if additive else ((1 - e) * lo, (1 + e) * hi))
    return tuple(out)


def levels_separate(
    bits: int, gamma: RealLike, eta: RealLike = 0, *, additive: bool = False,
    value_bound: RealLike = 1,
) -> bool:
    """Whether every pair of adjacent observed ranges is disjoint (exact arithmetic).

    Equivalent to gamma < level_gamma_target(b, eta) (the top pair binds).

    Notes: Lemma PREC (docs/theorem.md#prec).

    >>> levels_separate(5, Fraction(1, 100), Fraction(1, 100))
    True
    >>> levels_separate(6, 0, Fraction(1, 100))
    False
    """
    g = to_fraction(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    return g < level_gamma_target(bits, eta, additive=additive, value_bound=value_bound)


def level_thresholds(
    bits: int, gamma: RealLike, eta: RealLike = 0, *, additive: bool = False,
    value_bound: RealLike = 1,
) -> tuple[Fraction, ...]:
    """The 2^b - 1 decoding thresholds: midpoints of the gaps between observed ranges.

    Bob decodes m = the number of thresholds strictly below his output. Raises ValueError
    when the ranges do not separate (no threshold decodes every level).

    Notes: Lemma PREC (docs/theorem.md#prec); b = 1 with V = 1/2 is half Lemma L3's tau.

    >>> level_thresholds(2, 0)
    (Fraction(1, 8), Fraction(3, 8), Fraction(5, 8))
    """
    if not levels_separate(bits, gamma, eta, additive=additive, value_bound=value_bound):
        target = level_gamma_target(bits, eta, additive=additive, value_bound=value_bound)
        raise InvalidArgument(
            f"b={bits} levels do not separate at gamma={gamma}, eta={eta}: they need "
            f"gamma < {target}" + ("" if target > 0 else " (impossible: lower b or eta)"))
    ranges = level_ranges(bits, gamma, eta, additive=additive, value_bound=value_bound)
    return tuple((ranges[m][1] + ranges[m + 1][0]) / 2 for m in range(len(ranges) - 1))


def bits_per_value_auto(
    eta: RealLike,
    *,
    dtype: str = "float16",
    gamma: RealLike | None = None,
    logit_cap: RealLike | None = None,
    cached_tokens: int | None = None,
    last_tokens: int = 0,
    d: int | None = None,
    eps: RealLike | None = None,
    additive: bool = False,
    value_bound: RealLike = 1,
    family: Family = "hoeffding",
) -> int:
    """The largest b <= the dtype's significand for which 2^b levels separate (0: none).

    - ``gamma`` given: the b with gamma < level_gamma_target(b, eta).
    - else ``logit_cap`` given: the b at which all ``cached_tokens`` still fit under the
      cap (Lemma CAP with the level target; eps chosen unless ``eps`` is fixed).
    - else (no cap): gamma can be made as small as wanted, so the b with
      level_gamma_target(b, eta) > 0, i.e. eta < 1/(2^(b+1) - 3).

    Notes: Lemma PREC (docs/theorem.md#prec) with Lemma CAP (#cap).

    >>> bits_per_value_auto(0.01)
    5
    >>> bits_per_value_auto(0.0), bits_per_value_auto(0.0, dtype="float32")
    (11, 24)
    >>> bits_per_value_auto(0.01, logit_cap=100, cached_tokens=424, last_tokens=256, d=64)
    5
    >>> bits_per_value_auto(0, logit_cap=10, cached_tokens=424, last_tokens=256, d=64)
    0
    """
    from lowerbound.logit_cap import fits_under_cap  # logit_cap does not import us

    top = max_bits_for_dtype(dtype)
    for b in range(top, 0, -1):
        target = level_gamma_target(b, eta, additive=additive, value_bound=value_bound)
        if target <= 0:
            continue
        if gamma is not None:
            if to_fraction(gamma) < target:
                return b
        elif logit_cap is not None:
            if cached_tokens is None or d is None:
                raise InvalidArgument(f"logit_cap={logit_cap} needs cached_tokens and d, got "
                                 f"cached_tokens={cached_tokens}, d={d}")
            n = check_int_at_least(cached_tokens, "L", 1)
            if fits_under_cap(n, last_tokens, n, d, target, logit_cap, eps=eps,
                              family=family):
                return b
        else:
            return b
    return 0


def multilevel_bound_bits(n_symbols: int, bits: int, delta: RealLike = 0) -> float:
    """N (b - H2(delta) - delta log2(2^b - 1)): Fano's bound for symbol error <= delta.

    delta must lie in [0, (2^b - 1)/2^b] (beyond it the guarantee is no better than
    there, where the bound is 0). N = L d symbols of b bits each.

    Notes: Lemma PREC (docs/theorem.md#prec); b = 1 is Lemma L4.

    >>> multilevel_bound_bits(27136, 11)
    298496.0
    >>> multilevel_bound_bits(100, 1, 0.5)
    0.0
    """
    b = _b(bits)
    limit = worst_error_rate(b)
    check_interval(delta, "delta", 0, float(limit), closed_lower=True, closed_upper=True)
    return fano_information_bits(n_symbols, delta, b)
