"""Lemma PREC's Fano checks: information N (b - H2(p) - p log2(2^b - 1)) for 2^b symbols.

Purpose: the checks of the Fano part of Lemma PREC (docs/theorem.md#prec, #fano), kept
apart from :mod:`proofs.s6_precision` (which registers them) for size.

Main statement: Fano's information I(p) = N (b - H2(p) - p log2(2^b - 1)) is 0 at
p* = (2^b - 1)/2^b (sympy, every q = 2^b) and > 0 at every other rate, so a decoder wrong
on every bit is credited with what it knows; the float code agrees with enclosures.

References: Cover & Thomas, Thm 2.10.1 (Fano); docs/theorem.md#fano.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from lowerbound.fano import fano_information_bits, worst_error_rate
from lowerbound.intervals import IV, Enclosure, enclose, iv_binary_entropy, iv_fraction
from lowerbound.precision import multilevel_bound_bits
from proofs._perturb import all_caught
from proofs.registry import CheckResult

__all__ = ["check_fano_symbolic", "check_fano_zero_certified", "perturbed_fano_zero_certified",
           "check_fano_float"]


def _fano_iv(b: int, p: Fraction) -> Enclosure:
    """b - H2(p) - p log2(2^b - 1), enclosed: Fano's information per symbol."""
    loss = iv_binary_entropy(p) + iv_fraction(p) * IV.log(IV.mpf(2**b - 1)) / IV.log(2)
    return enclose(b - loss)


def _fano_grid(b: int) -> list[Fraction]:
    star = worst_error_rate(b)
    near = {star - Fraction(1, 2**20), min(Fraction(1), star + Fraction(1, 2**20))}
    return sorted({Fraction(k, 64) for k in range(65)} | {star} | near)


def check_fano_symbolic() -> CheckResult:
    """PREC: H2(p*) + p* log2(q-1) = log2 q at p* = (q-1)/q: Fano's information is 0 there."""
    q = sp.symbols("q", positive=True)
    p = (q - 1) / q
    h2 = -p * sp.log(p, 2) - (1 - p) * sp.log(1 - p, 2)
    loss = sp.expand_log(h2 + p * sp.log(q - 1, 2), force=True)
    rest = sp.simplify(loss - sp.log(q, 2))
    return CheckResult.of(rest == 0, f"H2(p*) + p* log2(q-1) - log2 q = {rest}")


def _fano_zero(zero_at: Callable[[int], Fraction]) -> CheckResult:
    """For b <= 11: the information encloses 0 at the claimed zero and is > 0 (rigorously)
    at every other rate of the grid k/64 (and p* +- 2^-20)."""
    ok, lines = True, []
    for b in range(1, 12):
        z = zero_at(b)
        at_zero = _fano_iv(b, z)
        positive = all(_fano_iv(b, p).lo > 0 for p in _fano_grid(b) if p != z)
        holds = at_zero.lo <= 0 <= at_zero.hi and positive
        ok &= holds
        if not holds or b in (1, 4, 11):
            lines.append(f"b={b}: I({z}) in {at_zero}" + ("" if positive else
                                                           ", not > 0 elsewhere"))
    return CheckResult.of(ok, "; ".join(lines))


def check_fano_zero_certified() -> CheckResult:
    """PREC: N(b - H2(p) - p log2(2^b-1)) vanishes at p* = (2^b-1)/2^b, > 0 elsewhere on a grid."""
    return _fano_zero(worst_error_rate)


def perturbed_fano_zero_certified() -> CheckResult:
    """PREC (must fail): the certificate for the clamped claim that a decoder learns nothing
    at p = 1/2 for every b (and at p = 1 for b = 1: wrong on every bit)."""
    return all_caught(
        ("zero at p = 1/2 (b >= 2)", _fano_zero(lambda b: Fraction(1, 2) if b > 1
                                                 else worst_error_rate(1))),
        ("zero at p = 1 (b = 1)", _fano_zero(lambda b: Fraction(1) if b == 1
                                              else worst_error_rate(b))),
    )


def check_fano_float() -> CheckResult:
    """PREC: the float fano_information_bits lies within N 2^-40 of its enclosure, b <= 11."""
    worst, ok = Fraction(0), True
    n = 1000
    slack = Fraction(n, 2**40)
    for b in range(1, 12):
        for p in _fano_grid(b):
            enc = _fano_iv(b, p)
            got = Fraction(fano_information_bits(n, float(p), b))
            lo, hi = n * enc.lo, n * enc.hi
            ok &= lo - slack <= got <= hi + slack
            worst = max(worst, got - hi, lo - got)
        ok &= abs(fano_information_bits(10**6, float(worst_error_rate(b)), b)) < 1e-6
        if b <= 8:
            ok &= multilevel_bound_bits(100, b, 0) == 100 * b
    return CheckResult.of(ok, f"67 rates x 11 b, largest distance to the enclosure "
                          f"{float(worst):.2e} (allowed {float(slack):.1e})")
