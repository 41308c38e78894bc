"""Interval certificates for the capped reduction (Lemmas CAP, UNUSED) and for PREC.

Purpose: re-prove, independently of the search in :mod:`lowerbound.logit_cap`, every
inequality a :class:`lowerbound.logit_cap.CapPlan` claims, with mpmath intervals
(200-bit ends, outward rounding) and exact integers:

1. the key family exists at (L*, d, eps): ``hoeffding`` 2 ln(L*(L*-1)/2)/eps^2 < d
   (d >= d_min(L*, eps)); ``binomial`` L*(L*-1)/2 * P(Bin(d,1/2) > d(1+eps)/2) < 1;
   ``gilbert-varshamov`` (L*-1) V(d, D-1) < 2^d with D = ceil(d(1-eps)/2);
2. gamma(L*, T_K + L - L*, C, eps) < target at the reported double C, and C <= B;
3. one more token does not fit: at L* + 1 the family's smallest eps is >= 1, or gamma at
   C = B and that eps is >= target (gamma increases with eps, so no larger eps helps).
   The smallest eps is recomputed here: for ``hoeffding`` sqrt(2 ln M / d) as an interval,
   for the others the extreme integer (a0 or D) with both neighbours checked exactly.

References: docs/theorem.md#cap, #unused, #witness; mpmath interval arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from lowerbound.intervals import IV, Enclosure, enclose, iv_fraction
from lowerbound.logit_cap import CapPlan
from lowerbound.validation import InvalidArgument
from proofs.certificates import certify_bound

__all__ = ["CapCertificate", "certify_cap_plan", "family_floor_iv", "gamma_iv"]


def gamma_iv(carrying: int, zero_keys: int, scale: Any, eps: Any) -> Any:
    """(L'-1) e^{-C(1-eps)} + Z e^{-C} on intervals (Z = T_K + unused tokens)."""
    return (carrying - 1) * IV.exp(-scale * (1 - eps)) + zero_keys * IV.exp(-scale)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _tail_count(d: int, a: int) -> int:
    """2^d * P(Bin(d, 1/2) > a)."""
    return sum(math.comb(d, j) for j in range(a + 1, d + 1))


def _ball(d: int, r: int) -> int:
    return sum(math.comb(d, i) for i in range(0, min(r, d) + 1))


def family_floor_iv(family: str, carrying: int, d: int) -> tuple[Any, list[str]]:
    """An interval holding the smallest admissible eps for L' keys (>= 1: none), re-derived.

    Returns the interval and the failures of the exact neighbour checks (empty if fine).
    """
    m = _pairs(carrying)
    problems: list[str] = []
    if family == "hoeffding":
        if m <= 1:
            return IV.mpf(0), problems
        return IV.sqrt(2 * IV.log(IV.mpf(m)) / d), problems
    if family == "binomial":
        a0 = next(a for a in range(0, d + 1) if m * _tail_count(d, a) < 2**d)
        if a0 > 0 and not m * _tail_count(d, a0 - 1) >= 2**d:
            problems.append(f"binomial a0={a0} is not the least")
        return iv_fraction(max(Fraction(0), Fraction(2 * a0, d) - 1)), problems
    if family == "gilbert-varshamov":
        good = [D for D in range(1, d // 2 + 2) if (carrying - 1) * _ball(d, D - 1) < 2**d]
        if not good:
            return IV.mpf(1), problems
        best = max(good)
        if (carrying - 1) * _ball(d, best) < 2**d and best < d // 2 + 1:
            problems.append(f"GV distance {best} is not the largest")
        return iv_fraction(max(Fraction(0), 1 - Fraction(2 * best, d))), problems
    raise InvalidArgument(f"unknown family {family!r}")


def _family_holds(family: str, carrying: int, d: int, eps: Fraction) -> bool:
    m = _pairs(carrying)
    if not 0 <= eps < 1:
        return False
    if family == "hoeffding":
        if m <= 1:
            return m == 0 or eps > 0
        return bool((2 * IV.log(IV.mpf(m)) / iv_fraction(eps * eps)).b < d)
    if family == "binomial":
        return m * _tail_count(d, math.floor(d * (1 + eps) / 2)) < 2**d
    distance = math.ceil(d * (1 - eps) / 2)
    return distance >= 1 and (carrying - 1) * _ball(d, distance - 1) < 2**d


@dataclass(frozen=True)
class CapCertificate:
    """What :func:`certify_cap_plan` proved about one plan (``failures`` empty: all)."""

    plan: CapPlan
    gamma_at_scale: Enclosure | None
    one_more_gamma_at_cap: Enclosure | None  # None when L* = L or no eps exists at L*+1
    bound_bits: Enclosure
    failures: tuple[str, ...] = field(default=())

    @property
    def holds(self) -> bool:
        """Whether every inequality of the plan was proved."""
        return not self.failures


def certify_cap_plan(plan: CapPlan, delta: Fraction = Fraction(0)) -> CapCertificate:
    """Prove the inequalities 1-3 of the module docstring for ``plan``.

    >>> from lowerbound.logit_cap import plan_under_cap
    >>> certify_cap_plan(plan_under_cap(424, 256, 16, Fraction(1, 4), 100)).holds
    True
    """
    failures: list[str] = []
    n, t, d, k = plan.cached_tokens, plan.last_tokens, plan.d, plan.carrying_tokens
    g_enc = None
    if k > 0:
        assert plan.eps is not None
        if not _family_holds(plan.family, k, d, plan.eps):
            failures.append(f"{plan.family} family of L*={k} keys at eps={plan.eps} not proved")
        if plan.scale is not None:
            g_enc = enclose(gamma_iv(k, t + n - k, iv_fraction(Fraction(plan.scale)),
                                     iv_fraction(plan.eps)))
            if not g_enc.hi < plan.target:
                failures.append(f"gamma(C) in {g_enc} is not < {plan.target}")
            if plan.logit_cap is not None and Fraction(plan.scale) > plan.logit_cap:
                failures.append(f"C={plan.scale} exceeds the cap {plan.logit_cap}")
    more = None
    if k < n:
        if plan.eps_fixed:
            assert plan.eps is not None
            floor = iv_fraction(plan.eps)
            blocked = not _family_holds(plan.family, k + 1, d, plan.eps)
        else:
            floor, problems = family_floor_iv(plan.family, k + 1, d)
            failures.extend(problems)
            blocked = bool(floor.a >= 1)
        if not blocked and plan.logit_cap is None:
            failures.append(f"L*+1={k + 1} has a key family and there is no cap: L* is "
                            "not maximal")
        elif not blocked:
            assert plan.logit_cap is not None
            more = enclose(gamma_iv(k + 1, t + n - k - 1, iv_fraction(plan.logit_cap), floor))
            if not more.lo >= plan.target:
                failures.append(f"L*+1={k + 1} may fit: gamma(B) in {more} vs target "
                                f"{plan.target}")
    bound = certify_bound(k * d, delta)
    failures.extend(bound.failures)
    return CapCertificate(plan, g_enc, more, bound.bits, tuple(failures))
