"""Private helpers: exact rationals and rigorous interval comparisons with mpmath."""

from __future__ import annotations

from collections.abc import Iterator
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
