"""The reduction under a cap B on the logits: how many tokens can carry bits, at which eps.

Purpose: Lemma CAP (docs/theorem.md#cap) and Lemma UNUSED (docs/theorem.md#unused).

With unit keys, Bob's query C k_i creates logits C <k_i, k_j> in [-C, C], so a cap B on
|logit| (released VAR heads: q and k L2-normalised, learned scale clamped at 100) is
C <= B. Suppose only L' <= L of the L cached tokens carry bits (near-orthogonal sign keys,
pairwise <= eps) and the other L - L' get zero keys and zero values (UNUSED). Bob's
target then leads the L'-1 other carrying keys by >= C(1-eps) and the L - L' + T_K zero
keys by C, so (Lemma L2) its weight is >= 1/(1+gamma) with

    gamma = (L'-1) e^{-C(1-eps)} + (L - L' + T_K) e^{-C},

and the zero-valued tokens never move an output coordinate up, so Lemma L3 decodes
every bit once gamma < target ((1-eta)/(1+eta) for relative error eta; any other target,
e.g. the multi-level one of :mod:`lowerbound.precision`, works the same way).

Unbounded queries: any L <= 2^d distinct sign keys work at eps = 1 - 2/d
(:func:`lowerbound.families.distinct_keys_scale`).

Main statement (CAP): L' tokens *fit* under B in dimension d iff some eps has both
(i) a family of L' keys with pairwise inner products <= eps (for ``hoeffding``:
d >= d_min(L', eps)) and (ii) gamma(C = B) < target, i.e. C_min(L', T_K + L - L', eps, eta)
<= B. gamma increases with eps, and the admissible eps of (i) form an interval up to 1
from a floor eps0(L') (:mod:`lowerbound.families`), so L' fits iff eps0(L') < 1 and
gamma(B) at eps = eps0(L') is < target: an exact test (interval arithmetic). Fitting is
monotone -- if L' fits, L'-1 fits (docs/theorem.md#cap, Lemma CAP-4: eps0 does not decrease
in L', and trading a carrying key for a zero key changes gamma by
e^{-B} - e^{-B(1-eps)} <= 0) -- so L*(d, B) = the largest L' <= L that fits is found by
bisection, and every (eta, delta)-correct algorithm keeps >= (1 - H2(delta)) d L* bits.

"Best eps": L* comes first (most bits); among the eps that reach L*, the smallest one
gives the smallest query scale C. For ``hoeffding`` the admissible set is open at eps0, so
we report the first decimal eps = k/10^p above eps0 (p = 3, 4, ...) at which C_min <= B;
for the closed families the floor itself.

With B = None there is no cap: a fixed ``eps`` then gives L* = max_keys(d, eps) capped at
L -- the theorem for d >= d_min(L, eps) and Corollary C1 below it.

References: arXiv 2503.14881 (VAR, whose statement bounds no logits); arXiv 2502.15955
(Haris & Onak); FoundationVision/VAR ``models/basic_var.py`` (the cap of 100).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lowerbound.bound import index_lower_bound_bits
from lowerbound.families import EpsFloor, Family, eps_floor
from lowerbound.intervals import ctx_fraction, decide_less, to_fraction
from lowerbound.jl import d_min
from lowerbound.softmax import gamma_interval, gamma_is_below, gamma_target, scale_for_gamma
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "CapPlan",
    "fits_under_cap",
    "max_carrying_tokens",
    "max_tokens_under_cap",
    "plan_under_cap",
    "capped_bound_bits",
]


@dataclass(frozen=True)
class CapPlan:
    """The reduction under a logit cap: L* carrying tokens, the eps and C it runs with.

    ``eps`` is None only when no token fits (L* = 0) and eps was not fixed; ``scale`` is
    the least double C with gamma < target (None when L* = 0). ``eps_floor`` describes
    the smallest admissible eps for L* tokens; ``d_min`` is Lemma L1's d_min(L*, eps)
    (<= d for the ``hoeffding`` family; the other families can beat it).

    Notes: Lemmas CAP and UNUSED (docs/theorem.md#cap, #unused).
    """

    cached_tokens: int
    last_tokens: int
    d: int
    target: Fraction
    logit_cap: Fraction | None
    family: Family
    eps_fixed: bool
    carrying_tokens: int
    eps: Fraction | None
    eps_floor: EpsFloor | None
    scale: float | None
    d_min: int | None

    @property
    def zero_key_tokens(self) -> int:
        """L - L*: cached tokens given zero keys and zero values (Lemma UNUSED)."""
        return self.cached_tokens - self.carrying_tokens

    @property
    def all_tokens_carry(self) -> bool:
        """Whether every cached token carries bits (L* = L)."""
        return self.carrying_tokens == self.cached_tokens

    def bound_bits(self, delta: RealLike = 0.0) -> float:
        """(1 - H2(delta)) * d * L*: the lower bound this plan proves (Lemma L4)."""
        return index_lower_bound_bits(self.carrying_tokens * self.d, delta)


def _gamma_at_cap_below(
    cached: int, last: int, carrying: int, cap: Fraction, eps_iv: Any, target: Fraction
) -> bool:
    """gamma(B) < target at every eps of the enclosure ``eps_iv(ctx)`` (exact)."""

    def evaluate(ctx: Any) -> Any:
        return gamma_interval(ctx, carrying, last, ctx_fraction(ctx, cap), eps_iv(ctx),
                              cached - carrying)

    return decide_less(evaluate, target)


def _fits(
    cached: int,
    last: int,
    carrying: int,
    d: int,
    target: Fraction,
    cap: Fraction | None,
    eps: Fraction | None,
    family: Family,
) -> bool:
    if carrying == 0:
        return True
    if target <= 0:
        return False
    floor = eps_floor(carrying, d, family)
    if eps is None:
        if not floor.exists:
            return False
        return cap is None or _gamma_at_cap_below(cached, last, carrying, cap,
                                                  floor.interval, target)
    if not floor.admits(eps):
        return False
    return cap is None or _gamma_at_cap_below(
        cached, last, carrying, cap, lambda ctx: ctx_fraction(ctx, eps), target)


def _validate(
    cached_tokens: int, last_tokens: int, d: int, logit_cap: RealLike | None,
    eps: RealLike | None,
) -> tuple[int, int, int, Fraction | None, Fraction | None]:
    n = check_int_at_least(cached_tokens, "L", 1)
    t = check_int_at_least(last_tokens, "T_K", 0)
    dd = check_int_at_least(d, "d", 1)
    cap = None if logit_cap is None else to_fraction(
        check_interval(logit_cap, "logit_cap", 0, float("inf")))
    e = None if eps is None else to_fraction(check_interval(eps, "eps", 0, 1))
    return n, t, dd, cap, e


def fits_under_cap(
    cached_tokens: int,
    last_tokens: int,
    carrying_tokens: int,
    d: int,
    target: RealLike,
    logit_cap: RealLike | None,
    *,
    eps: RealLike | None = None,
    family: Family = "hoeffding",
) -> bool:
    """Whether L' carrying tokens fit: some eps (or the given one) meets (i) and (ii).

    (i) the family guarantees L' keys with pairwise <= eps (hoeffding: d >= d_min(L', eps));
    (ii) gamma(L', T_K + L - L', C = B, eps) < target, i.e. C_min <= B. Decided exactly.

    Notes: Lemma CAP (docs/theorem.md#cap).

    >>> fits_under_cap(424, 256, 424, 64, Fraction(3, 5), 100)
    True
    >>> fits_under_cap(424, 256, 54, 16, Fraction(3, 5), 100)
    True
    >>> fits_under_cap(424, 256, 55, 16, Fraction(3, 5), 100)  # eps0 = 0.9555: gamma(100) > 3/5
    False
    """
    n, t, dd, cap, e = _validate(cached_tokens, last_tokens, d, logit_cap, eps)
    k = check_int_at_least(carrying_tokens, "L'", 0)
    if k > n:
        raise InvalidArgument(f"L'={k} carrying tokens exceed the L={n} cached tokens")
    return _fits(n, t, k, dd, to_fraction(target), cap, e, family)


def _largest(n: int, fits: Callable[[int], bool]) -> int:
    """The largest k in [0, n] with fits(k), for a monotone ``fits`` with fits(0) true."""
    if fits(n):
        return n
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def max_carrying_tokens(
    cached_tokens: int,
    last_tokens: int,
    d: int,
    target: RealLike,
    logit_cap: RealLike | None,
    *,
    eps: RealLike | None = None,
    family: Family = "hoeffding",
) -> int:
    """L*(d, B): the largest L' <= L that fits under the cap (0 if none), by bisection.

    Fitting is monotone in L' (module docstring), so bisection finds the exact L*.

    Notes: Lemma CAP (docs/theorem.md#cap).

    >>> max_carrying_tokens(424, 256, 64, Fraction(3, 5), 100)
    424
    >>> max_carrying_tokens(424, 256, 16, Fraction(3, 5), 100)
    54
    >>> max_carrying_tokens(424, 256, 16, Fraction(3, 5), 100, family="gilbert-varshamov")
    424
    """
    n, t, dd, cap, e = _validate(cached_tokens, last_tokens, d, logit_cap, eps)
    tq = to_fraction(target)
    return _largest(n, lambda k: _fits(n, t, k, dd, tq, cap, e, family))


def max_tokens_under_cap(
    cached_tokens: int, last_tokens: int, eps: RealLike, target: RealLike, logit_cap: RealLike
) -> int:
    """The largest L' <= L with gamma(L', T_K + L - L', C = B, eps) < target (0 if none).

    The cap alone, whatever guarantees the keys: for a family already found and checked
    at ``eps`` (Lemma WITNESS, docs/theorem.md#witness) only (ii) of :func:`fits_under_cap`
    is left. Monotone in L' (a carrier traded for a zero key lowers gamma), so bisection;
    each step decided exactly by :func:`lowerbound.softmax.gamma_is_below`.

    Notes: Lemmas CAP and UNUSED (docs/theorem.md#cap, #unused).

    >>> max_tokens_under_cap(424, 256, 0.75, Fraction(3, 5), 100)
    424
    >>> max_tokens_under_cap(424, 256, 0.75, Fraction(3, 5), 20)
    90
    """
    n, t, _, cap, e = _validate(cached_tokens, last_tokens, 1, logit_cap, eps)
    assert cap is not None and e is not None
    tq = to_fraction(target)
    return _largest(n, lambda k: k == 0 or gamma_is_below(k, t, cap, e, tq,
                                                          extra_zero_keys=n - k))


def _scale(n: int, t: int, carrying: int, eps: Fraction, target: Fraction) -> float | None:
    if (carrying - 1) + t + (n - carrying) <= target:
        return None  # every C > 0 already has gamma < target
    return scale_for_gamma(carrying, t, eps, target, extra_zero_keys=n - carrying)


def _reported_eps(
    n: int, t: int, carrying: int, d: int, target: Fraction, cap: Fraction | None,
    floor: EpsFloor,
) -> Fraction:
    """The eps to run with: the closed floor, or the first decimal above an open one."""
    if floor.closed:
        return floor.lo
    for p in range(3, 60):
        step = Fraction(1, 10**p)
        e = (floor.hi // step + 1) * step
        if e >= 1 or not floor.admits(e):
            continue
        if cap is None:
            return e
        c = _scale(n, t, carrying, e, target)
        ok = _gamma_at_cap_below(n, t, carrying, cap,
                                 lambda ctx, e=e: ctx_fraction(ctx, e), target)
        if ok and (c is None or Fraction(c) <= cap):
            return e
    raise ArithmeticError(f"no decimal eps with 60 digits above the floor {float(floor.hi)} "
                          f"fits L'={carrying} under B={cap}")


def plan_under_cap(
    cached_tokens: int,
    last_tokens: int,
    d: int,
    eta: RealLike = Fraction(1, 4),
    logit_cap: RealLike | None = None,
    *,
    eps: RealLike | None = None,
    family: Family = "hoeffding",
    additive: bool = False,
    target: RealLike | None = None,
) -> CapPlan:
    """L*(d, B), the eps and the query scale C the capped reduction runs with.

    ``target`` (gamma must be < target) defaults to Lemma L3's gamma_target(eta); pass
    :func:`lowerbound.precision.level_gamma_target` for multi-level values. With
    ``eps=None`` eps is chosen (L* first, then the smallest C); with a fixed ``eps`` only L'
    is searched.

    Notes: Lemmas CAP and UNUSED (docs/theorem.md#cap, #unused).

    >>> p = plan_under_cap(424, 256, 64, Fraction(1, 4), 100)
    >>> p.carrying_tokens, p.eps, p.d_min, round(p.scale, 3)
    (424, Fraction(597, 1000), 64, 16.274)
    >>> q = plan_under_cap(424, 256, 16, Fraction(1, 4), 100)
    >>> q.carrying_tokens, q.zero_key_tokens, q.eps, q.bound_bits(), round(q.scale, 3)
    (54, 370, Fraction(477, 500), 864.0, 97.416)
    """
    n, t, dd, cap, e = _validate(cached_tokens, last_tokens, d, logit_cap, eps)
    tq = gamma_target(eta, additive=additive) if target is None else to_fraction(target)
    best = max_carrying_tokens(n, t, dd, tq, cap, eps=e, family=family)
    if best == 0:
        return CapPlan(n, t, dd, tq, cap, family, e is not None, 0, e, None, None, None)
    floor = eps_floor(best, dd, family)
    used = e if e is not None else _reported_eps(n, t, best, dd, tq, cap, floor)
    scale = _scale(n, t, best, used, tq)
    need = d_min(best, used) if used > 0 else None
    return CapPlan(n, t, dd, tq, cap, family, e is not None, best, used, floor, scale, need)


def capped_bound_bits(
    d: int,
    cached_tokens: int,
    last_tokens: int,
    eta: RealLike,
    logit_cap: RealLike | None,
    delta: RealLike = 0.0,
    *,
    eps: RealLike | None = None,
    family: Family = "hoeffding",
) -> float:
    """(1 - H2(delta)) * d * L*(d, B): the lower bound as a function of (d, B, schedule).

    Notes: Lemma CAP (docs/theorem.md#cap) with Lemma L4.

    >>> capped_bound_bits(64, 424, 256, 0.25, 100)
    27136.0
    >>> capped_bound_bits(16, 424, 256, 0.25, 100)
    864.0
    """
    plan = plan_under_cap(cached_tokens, last_tokens, d, eta, logit_cap, eps=eps,
                          family=family)
    return plan.bound_bits(delta)
