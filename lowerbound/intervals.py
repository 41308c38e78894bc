"""Rigorous interval arithmetic over mpmath.iv, the one module of kvbound that wraps it.

Purpose: every certified decision of kvbound (d_min, C_min, the cap plan, the sparsity
bounds, the certificates of :mod:`proofs`) evaluates its real numbers here: :data:`IV`, a
private mpmath interval context (200-bit endpoints, outward rounding) so no global mpmath
state is touched; :func:`iv_context` for a context at another precision and
:func:`decide_less`, which raises the precision until a comparison is decided;
:func:`iv_precision` for the few callers of mpmath's global ``iv``; and exact printing of
enclosures: the lower end rounded down and the upper end up, so the printed interval still
contains the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import libmp
from mpmath.ctx_iv import MPIntervalContext

from lowerbound.validation import InvalidArgument, RealLike

__all__ = ["IV", "Enclosure", "enclose", "iv_fraction", "iv_log2", "iv_binary_entropy",
           "exact", "separating_digits", "gap_text", "iv_precision", "to_fraction", "iv_of",
           "iv_ln", "iv_exp", "floor_of_interval", "iv_context", "ctx_fraction",
           "interval_ends", "decide_less"]

IV = MPIntervalContext()
IV.prec = 200

_DIGITS = 12
_DPS = 60  # digits of mpmath's global iv inside iv_precision()


def iv_fraction(q: Fraction | int) -> Any:
    """A rigorous interval containing the rational ``q``.

    >>> x = iv_fraction(Fraction(1, 3))
    >>> enclose(x).contains(Fraction(1, 3))
    True
    """
    q = Fraction(q)
    return IV.mpf(q.numerator) / IV.mpf(q.denominator)


def iv_log2(q: Fraction | int) -> Any:
    """A rigorous interval containing log2(q) for a rational q > 0.

    >>> enclose(iv_log2(8)).contains(3)
    True
    """
    return IV.log(iv_fraction(q)) / IV.log(IV.mpf(2))


def iv_binary_entropy(p: Fraction) -> Any:
    """A rigorous interval containing H2(p) = -p log2 p - (1-p) log2(1-p), p in [0, 1].

    Notes: the binary entropy of Lemma L4 (docs/theorem.md#l4).

    >>> enclose(iv_binary_entropy(Fraction(1, 2))).contains(1)
    True
    """
    p = Fraction(p)
    if not 0 <= p <= 1:
        raise InvalidArgument(f"p={p} must lie in the closed interval [0, 1]")
    if p in (0, 1):
        return IV.mpf(0)
    if p == Fraction(1, 2):
        return IV.mpf(1)
    ip, iq = iv_fraction(p), iv_fraction(1 - p)
    return -(ip * IV.log(ip) + iq * IV.log(iq)) / IV.log(IV.mpf(2))


def _endpoints(x: Any) -> tuple[Fraction, Fraction]:
    a, b = x._mpi_
    pa, qa = libmp.to_rational(a)
    pb, qb = libmp.to_rational(b)
    return Fraction(pa, qa), Fraction(pb, qb)


def _rounded(q: Fraction, up: bool, digits: int) -> tuple[Decimal, int]:
    """``q`` to ``digits`` significant digits, rounded up or down, and its decimal exponent."""
    exponent = len(str(abs(q.numerator) // abs(q.denominator))) - 1
    if abs(q) < 1:
        exponent = -len(str(abs(q.denominator) // abs(q.numerator)))  # close enough
    shift = digits - 1 - exponent
    scaled = q * Fraction(10) ** shift
    digits_int = math.ceil(scaled) if up else math.floor(scaled)
    return Decimal(f"{digits_int}E{-shift}"), exponent  # exact: no context rounding


def _round(q: Fraction, up: bool, digits: int = _DIGITS) -> str:
    """``q`` to ``digits`` significant digits, rounded away from the enclosed value."""
    if q.denominator == 1 and abs(q) < 10**16:
        return str(q)
    value, exponent = _rounded(q, up, digits)
    return format(value, "f") if -5 <= exponent < 16 else format(value, "e")


def separating_digits(lower: Fraction, upper: Fraction, *, start: int = _DIGITS,
                      limit: int = 40) -> int:
    """Fewest significant digits (>= start) at which ``lower`` rounded up still prints
    strictly below ``upper`` rounded down; ``limit`` when none does (lower >= upper).

    >>> separating_digits(Fraction(3, 5) - Fraction(1, 10**15), Fraction(3, 5))
    15
    """
    lower, upper = Fraction(lower), Fraction(upper)
    for digits in range(start, limit + 1):
        if Fraction(_round(lower, True, digits)) < Fraction(_round(upper, False, digits)):
            return digits
    return limit


def gap_text(lower: Fraction, upper: Fraction) -> str:
    """upper - lower rounded down to 2 significant digits (a certified lower bound on a
    positive gap), or ``"none"`` when upper <= lower.

    >>> gap_text(Fraction(3, 5) - Fraction(47, 10**14), Fraction(3, 5))
    '4.7e-13'
    """
    gap = Fraction(upper) - Fraction(lower)
    if gap <= 0:
        return "none"
    value, _ = _rounded(gap, False, 2)
    return f"{float(value):.2g}"


@dataclass(frozen=True)
class Enclosure:
    """A closed interval [lo, hi] with exact rational ends, certified to hold a value."""

    lo: Fraction
    hi: Fraction

    def contains(self, q: Fraction | int | float) -> bool:
        """Whether ``q`` (read exactly) lies in [lo, hi]."""
        return self.lo <= Fraction(q) <= self.hi

    def __str__(self) -> str:
        return self.format()

    def format(self, digits: int = _DIGITS) -> str:
        """[lo, hi] to ``digits`` significant digits, rounded outward."""
        return f"[{_round(self.lo, False, digits)}, {_round(self.hi, True, digits)}]"

    def to_json(self, digits: int = _DIGITS) -> dict[str, str]:
        """The printed (outward-rounded) ends as strings."""
        lo, hi = self.format(digits)[1:-1].split(", ")
        return {"lo": lo, "hi": hi}

    def digits_below(self, bound: Fraction | float) -> int:
        """Digits at which the printed upper end is visibly below ``bound`` (exact)."""
        return separating_digits(self.hi, Fraction(bound))

    def digits_above(self, bound: Fraction | float) -> int:
        """Digits at which the printed lower end is visibly above ``bound`` (exact)."""
        return separating_digits(Fraction(bound), self.lo)


def enclose(x: Any) -> Enclosure:
    """The exact ends of an mpmath interval.

    >>> str(enclose(IV.log(IV.mpf(2))))
    '[0.693147180559, 0.693147180560]'
    """
    lo, hi = _endpoints(x)
    return Enclosure(lo, hi)


def exact(q: Fraction | int) -> Enclosure:
    """The degenerate enclosure [q, q] of an exactly known value."""
    q = Fraction(q)
    return Enclosure(q, q)


@contextmanager
def iv_precision(dps: int = _DPS) -> Iterator[None]:
    """Run mpmath.iv at >= ``dps`` digits (never lowering an enclosing context's)."""
    saved = mpmath.iv.dps
    mpmath.iv.dps = max(saved, dps)
    try:
        yield
    finally:
        mpmath.iv.dps = saved


def to_fraction(x: RealLike) -> Fraction:
    """The exact rational value of ``x`` (a float is read as its exact binary value)."""
    return Fraction(x)  # type: ignore[arg-type]


def iv_of(x: Fraction) -> Any:
    """A rigorous interval enclosing the rational ``x``."""
    with iv_precision():
        return mpmath.iv.mpf(x.numerator) / mpmath.iv.mpf(x.denominator)


def iv_ln(n: int) -> Any:
    with iv_precision():
        return mpmath.iv.log(mpmath.iv.mpf(n))


def iv_exp(x: Any) -> Any:
    with iv_precision():
        return mpmath.iv.exp(x)


def floor_of_interval(x: Any) -> int:
    """floor(x) for an interval that contains no integer strictly inside or on its ends.

    Raises ArithmeticError if the interval straddles an integer (precision too low).
    """
    a = int(mpmath.floor(x.a))
    b = int(mpmath.floor(x.b))
    if a != b or x.a == a:
        raise ArithmeticError(f"interval {x} does not determine its floor")
    return a


#: Working precisions (bits) tried in turn by :func:`decide_less`.
_DECIDE_PRECISIONS = (128, 512, 2048)


def iv_context(prec: int) -> Any:
    """A fresh mpmath interval context (outward rounding) with ``prec``-bit endpoints."""
    from mpmath.ctx_iv import MPIntervalContext

    ctx = MPIntervalContext()
    ctx.prec = prec
    return ctx


def ctx_fraction(ctx: Any, q: Fraction | int) -> Any:
    """A rigorous interval of ``ctx`` enclosing the rational ``q``."""
    q = Fraction(q)
    return ctx.mpf(q.numerator) / ctx.mpf(q.denominator)


def interval_ends(x: Any) -> tuple[Fraction, Fraction]:
    """The exact rational ends (lo, hi) of an mpmath interval."""
    from mpmath import libmp

    a, b = x._mpi_
    pa, qa = libmp.to_rational(a)
    pb, qb = libmp.to_rational(b)
    return Fraction(pa, qa), Fraction(pb, qb)


def decide_less(evaluate: Callable[[Any], Any], bound: Fraction) -> bool:
    """Decide ``value < bound`` exactly, for a real value given by an interval evaluation.

    ``evaluate(ctx)`` must return an interval of ``ctx`` that contains the value. The
    comparison is tried at 128, 512 and 2048 bits; True when the interval lies below
    ``bound``, False when it lies at or above it. Raises ArithmeticError if even 2048 bits
    leave ``bound`` inside the interval (the value equals ``bound`` or is within
    2^-2000 of it).

    >>> decide_less(lambda ctx: ctx.log(ctx.mpf(2)), Fraction(7, 10))
    True
    >>> decide_less(lambda ctx: ctx.mpf(1) / 3, Fraction(1, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ArithmeticError: cannot decide whether a value in [...] is < 1/3 at 2048 bits
    """
    bound = Fraction(bound)
    lo = hi = libmp.fzero
    for prec in _DECIDE_PRECISIONS:
        ctx = iv_context(prec)
        # compared as binary floats, exactly: no rational of a tiny value's 2^-(10^15)
        # denominator is ever built (a logit cap of 1e15 makes gamma about e^-(10^15))
        lo, hi = evaluate(ctx)._mpi_
        bound_lo, bound_hi = ctx_fraction(ctx, bound)._mpi_
        if libmp.mpf_lt(hi, bound_lo):
            return True
        if libmp.mpf_ge(lo, bound_hi):
            return False
    raise ArithmeticError(
        f"cannot decide whether a value in [{libmp.to_float(lo)!r}, "
        f"{libmp.to_float(hi)!r}] is < {bound} at {_DECIDE_PRECISIONS[-1]} bits"
    )
