"""Private helpers: exact rationals and rigorous interval comparisons with mpmath."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import mpmath

from lowerbound.validation import RealLike

_DPS = 60


@contextmanager
def iv_precision(dps: int = _DPS) -> Iterator[None]:
    """Run mpmath.iv at >= ``dps`` digits (never lowering an enclosing context's)."""
    saved = mpmath.iv.dps
    mpmath.iv.dps = max(saved, dps)
    try:
        yield
    finally:
        mpmath.iv.dps = saved


_iv_precision = iv_precision


def to_fraction(x: RealLike) -> Fraction:
    """The exact rational value of ``x`` (a float is read as its exact binary value)."""
    return Fraction(x)  # type: ignore[arg-type]


def iv_of(x: Fraction) -> Any:
    """A rigorous interval enclosing the rational ``x``."""
    with _iv_precision():
        return mpmath.iv.mpf(x.numerator) / mpmath.iv.mpf(x.denominator)


def iv_ln(n: int) -> Any:
    with _iv_precision():
        return mpmath.iv.log(mpmath.iv.mpf(n))


def iv_exp(x: Any) -> Any:
    with _iv_precision():
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
    from mpmath import libmp

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
