"""Validation helpers whose messages name the value and the range that would work.

Purpose: one place for the guards used by every package of kvbound, so that a guard and
its message are built from the same predicate.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from numbers import Real


class InvalidArgument(ValueError):
    """A parameter outside what kvbound accepts: the message names the value and what
    would work. The one error the command line reports as bad input (exit code 2)."""


RealLike = float | Fraction
"""A real parameter: a float (an int is accepted too) or an exact Fraction."""

__all__ = [
    "InvalidArgument",
    "RealLike",
    "check_int_at_least",
    "check_interval",
    "check_finite_positive",
]


def check_int_at_least(value: object, name: str, lower: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= lower``.

    >>> check_int_at_least(5, "d", 1)
    5
    >>> check_int_at_least(0, "d", 1)
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: d=0 must be an integer >= 1
    """
    if isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {lower}, not a bool")
    try:
        as_int = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {lower}") from None
    if as_int < lower:
        raise InvalidArgument(f"{name}={as_int} must be an integer >= {lower}")
    return as_int


def check_interval(
    value: object,
    name: str,
    lower: float,
    upper: float,
    *,
    closed_lower: bool = False,
    closed_upper: bool = False,
) -> float:
    """Return ``value`` if it is a finite real number in the stated interval.

    >>> check_interval(0.5, "eps", 0, 1)
    0.5
    >>> check_interval(1.5, "eps", 0, 1)
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: eps=1.5 must lie in the open interval (0, 1)
    >>> check_interval(0, "eta", 0, 1, closed_lower=True)
    0
    """
    left = "[" if closed_lower else "("
    right = "]" if closed_upper else ")"
    kind = {
        (False, False): "open interval",
        (True, True): "closed interval",
    }.get((closed_lower, closed_upper), "interval")
    where = f"{kind} {left}{_fmt(lower)}, {_fmt(upper)}{right}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgument(f"{name}={value!r} must be a real number in the {where}")
    as_float = float(value)
    if math.isnan(as_float):
        raise InvalidArgument(f"{name}=nan must be a real number in the {where}")
    above = as_float >= lower if closed_lower else as_float > lower
    below = as_float <= upper if closed_upper else as_float < upper
    if not (above and below):
        raise InvalidArgument(f"{name}={value} must lie in the {where}")
    return value  # type: ignore[return-value]


def check_finite_positive(value: object, name: str) -> float:
    """Return ``value`` as a float if it is finite and strictly positive.

    >>> check_finite_positive(2, "C")
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgument(f"{name}={value!r} must be a finite number > 0")
    as_float = float(value)
    if not (math.isfinite(as_float) and as_float > 0):
        raise InvalidArgument(f"{name}={value} must be a finite number > 0")
    return as_float


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)
