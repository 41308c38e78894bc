"""Private helpers: rigorous interval arithmetic (mpmath) and exact printing of enclosures.

A private mpmath interval context (200-bit endpoints, outward rounding) is used, so no
global mpmath state is touched. Printed enclosures round the lower end down and the upper
end up, so the printed interval still contains the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mpmath import libmp
from mpmath.ctx_iv import MPIntervalContext

from lowerbound.validation import InvalidArgument

__all__ = ["IV", "Enclosure", "enclose", "iv_fraction", "iv_binary_entropy", "exact",
           "separating_digits", "gap_text"]

IV = MPIntervalContext()
IV.prec = 200

_DIGITS = 12


def iv_fraction(q: Fraction | int) -> Any:
    """A rigorous interval containing the rational ``q``.

    >>> x = iv_fraction(Fraction(1, 3))
    >>> enclose(x).contains(Fraction(1, 3))
    True
    """
    q = Fraction(q)
    return IV.mpf(q.numerator) / IV.mpf(q.denominator)


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
