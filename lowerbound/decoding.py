"""Bob's decoding threshold and the ranges it separates.

Purpose: Lemma L3 (docs/theorem.md#l3) (decoding).

Main statement (L3): with target weight >= 1/(1+gamma), the exact output coordinate is
Z_l >= 1/(1+gamma) when the hidden bit is 1 and Z_l <= gamma/(1+gamma) when it is 0.
Under entrywise relative error eta < 1 the threshold
tau = ((1-eta) + (1+eta) gamma) / (2 (1+gamma)) decodes every coordinate whenever
gamma < (1-eta)/(1+eta); under additive error eta the midpoint 1/2 does whenever
1/(1+gamma) - eta > gamma/(1+gamma) + eta.

References: arXiv 2503.14881 (VAR).
"""

from __future__ import annotations

from fractions import Fraction

from lowerbound.validation import RealLike, check_interval

__all__ = ["one_range", "zero_range", "tau", "separates"]


def one_range(gamma: float, eta: float = 0.0, *, additive: bool = False) -> float:
    """Least value Bob can see for a 1 bit: (1-eta)/(1+gamma), or 1/(1+gamma) - eta.

    Notes: Lemma L3 (docs/theorem.md#l3).

    >>> one_range(1.0)
    0.5
    """
    g = float(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    e = float(eta)
    return 1.0 / (1.0 + g) - e if additive else (1.0 - e) / (1.0 + g)


def zero_range(gamma: float, eta: float = 0.0, *, additive: bool = False) -> float:
    """Largest value Bob can see for a 0 bit: (1+eta) gamma/(1+gamma), or gamma/(1+gamma) + eta.

    Notes: Lemma L3 (docs/theorem.md#l3).

    >>> zero_range(1.0)
    0.5
    """
    g = float(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    e = float(eta)
    return g / (1.0 + g) + e if additive else (1.0 + e) * g / (1.0 + g)


def tau(gamma: float, eta: RealLike = 0.0, *, additive: bool = False) -> float:
    """Decoding threshold: midpoint of the 0-range top and the 1-range bottom.

    Relative error: tau = ((1-eta) + (1+eta) gamma) / (2 (1+gamma)); additive: 1/2.

    Notes: Lemma L3 (docs/theorem.md#l3).

    >>> tau(0.0)
    0.5
    >>> round(tau(0.1, 0.5), 6)
    0.295455
    """
    g = float(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    if additive:
        check_interval(eta, "eta", 0, 0.5, closed_lower=True)
        return 0.5
    e = float(check_interval(eta, "eta", 0, 1, closed_lower=True))
    return ((1.0 - e) + (1.0 + e) * g) / (2.0 * (1.0 + g))


def separates(
    gamma: RealLike, eta: RealLike = 0.0, *, additive: bool = False
) -> bool:
    """Whether the one-range lies strictly above the zero-range (so tau decodes every bit).

    Decided exactly on the rational values of the inputs (a float is read as its exact
    binary value): relative error, gamma < (1-eta)/(1+eta); additive error,
    1/(1+gamma) - eta > gamma/(1+gamma) + eta.

    Notes: Lemma L3 (docs/theorem.md#l3).

    >>> separates(0.5, Fraction(1, 4))
    True
    >>> separates(Fraction(1, 2), Fraction(1, 3))  # equality: the ranges touch
    False
    """
    g = Fraction(check_interval(gamma, "gamma", 0, float("inf"), closed_lower=True))
    if additive:
        e = Fraction(check_interval(eta, "eta", 0, 0.5, closed_lower=True))
        return 1 / (1 + g) - e > g / (1 + g) + e
    e = Fraction(check_interval(eta, "eta", 0, 1, closed_lower=True))
    return (1 - e) / (1 + g) > (1 + e) * g / (1 + g)
