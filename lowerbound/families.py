"""The smallest eps for which L' near-orthogonal sign keys are guaranteed in dimension d.

Purpose: Lemma CAP (docs/theorem.md#cap) needs, for each number L' of bit-carrying
tokens, the set of eps for which a family of L' keys k_i = sigma_i / sqrt(d),
sigma_i in {+-1}^d, with every <k_i, k_j> <= eps is guaranteed to exist. For each of the
three guarantees below that set is an interval up to 1, so it is described by its lower
end, the *eps floor*, and whether the floor itself is admissible.

Main statements (each gives a family of L' keys with pairwise <k_i, k_j> <= eps):

- ``hoeffding`` (Lemma L1, union bound): d >= d_min(L', eps), i.e.
  L'(L'-1)/2 * exp(-eps^2 d/2) < 1, i.e. eps > eps0 = sqrt(2 ln(L'(L'-1)/2) / d). Open
  at eps0 (eps0 is irrational for L' >= 3; 0 for L' <= 2).
- ``binomial`` (Lemma L1, exact tail): L'(L'-1)/2 * P(Bin(d, 1/2) > d(1+eps)/2) < 1. The
  tail only changes when floor(d(1+eps)/2) does, so the floor is eps = 2 a0/d - 1 for the
  least integer a0 with L'(L'-1)/2 * P(Bin(d, 1/2) > a0) < 1 (closed).
- ``gilbert-varshamov`` (Lemma WITNESS, docs/theorem.md#witness): <sigma, sigma'> =
  d - 2 dist(sigma, sigma'), so pairwise <= eps d means minimum Hamming distance
  D >= d(1-eps)/2. Greedy choice (Gilbert 1952, Varshamov 1957) keeps adding words while
  the balls of radius D-1 around the chosen ones miss a word, so a code of L' words
  exists whenever (L'-1) * V(d, D-1) < 2^d, V(d, r) = sum_{i<=r} C(d, i). The floor is
  eps = 1 - 2D/d for the largest such D (closed). D = 1 is "any L' <= 2^d distinct sign
  vectors work with eps = 1 - 2/d".

Lemma CAP asks for eps in (0, 1). When a closed floor comes out <= 0 (few keys, large d),
every eps in (0, 1) is admissible and none at or below 0 is: the floor is then reported as
0, *open*, so no plan ever runs at eps = 0.

The greedy code is an explicit deterministic family (the lexicode), so the last
guarantee needs no randomness at all; it is quadratically larger than the union bound's
(L' ~ 1/P(tail) instead of sqrt(2/P(tail))).

References: W. Hoeffding (1963); E. N. Gilbert, "A comparison of signalling alphabets",
Bell System Tech. J. 31 (1952); R. R. Varshamov (1957); arXiv 2503.14881 and
arXiv 2502.15955 (the reductions these keys are used in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from lowerbound.intervals import ctx_fraction, decide_less, interval_ends, iv_context
from lowerbound.jl import pair_count
from lowerbound.softmax import c_min
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least

__all__ = [
    "Family",
    "FAMILIES",
    "EpsFloor",
    "eps_floor",
    "hamming_ball",
    "gilbert_varshamov_size",
    "distinct_keys_scale",
]

Family = Literal["hoeffding", "binomial", "gilbert-varshamov"]
FAMILIES: tuple[Family, ...] = ("hoeffding", "binomial", "gilbert-varshamov")


def hamming_ball(d: int, radius: int) -> int:
    """V(d, r) = sum_{i=0}^{r} C(d, i): words within Hamming distance r of a word.

    >>> hamming_ball(16, 1), hamming_ball(4, 4), hamming_ball(4, -1)
    (17, 16, 0)
    """
    d = check_int_at_least(d, "d", 1)
    return sum(math.comb(d, i) for i in range(0, min(radius, d) + 1))


def gilbert_varshamov_size(d: int, distance: int) -> int:
    """Least size ceil(2^d / V(d, D-1)) the greedy code of minimum distance D reaches.

    Notes: Lemma WITNESS (docs/theorem.md#witness); Gilbert (1952), Varshamov (1957).

    >>> gilbert_varshamov_size(16, 2)  # d = 16, eps = 3/4: inner products <= 12
    3856
    >>> gilbert_varshamov_size(10, 1)
    1024
    """
    d = check_int_at_least(d, "d", 1)
    distance = check_int_at_least(distance, "D", 1)
    ball = hamming_ball(d, distance - 1)
    return -(-(2**d) // ball)


@dataclass(frozen=True)
class EpsFloor:
    """The admissible eps for L' keys in dimension d: (floor, 1), or [floor, 1) if closed.

    ``lo`` <= floor <= ``hi`` (equal when the floor is rational). ``exists`` is False
    when no eps < 1 is admissible (too many keys for d).

    Notes: Lemma CAP (docs/theorem.md#cap); see the module docstring for each family.
    """

    family: Family
    carrying_tokens: int
    d: int
    lo: Fraction
    hi: Fraction
    closed: bool

    @property
    def exists(self) -> bool:
        """Whether some eps in (0, 1) is admissible."""
        return self.lo < 1 if self.closed else self.hi < 1 or self._open_floor_below_one()

    def _open_floor_below_one(self) -> bool:
        # Hoeffding: eps0 < 1 iff ln M < d/2 (decided exactly; never equal for M >= 2).
        m = pair_count(self.carrying_tokens)
        return m <= 1 or decide_less(lambda ctx: ctx.log(ctx.mpf(m)), Fraction(self.d, 2))

    def interval(self, ctx: Any) -> Any:
        """An interval of the mpmath context ``ctx`` enclosing the floor."""
        m = pair_count(self.carrying_tokens)
        if self.family == "hoeffding" and m >= 2:
            return ctx.sqrt(2 * ctx.log(ctx.mpf(m)) / self.d)
        return ctx_fraction(ctx, self.lo)

    def admits(self, eps: RealLike) -> bool:
        """Whether the family guarantees L' keys with pairwise inner products <= eps.

        ``eps`` is read exactly. For ``hoeffding`` this is exactly d >= d_min(L', eps)
        (Lemma L1): eps^2 d/2 > ln(L'(L'-1)/2).
        """
        e = Fraction(eps)
        if not 0 < e < 1:  # Lemma CAP's eps lies in (0, 1)
            return False
        if self.family != "hoeffding":
            return e >= self.lo if self.closed else e > self.lo
        m = pair_count(self.carrying_tokens)
        if m == 0:
            return e > 0
        return decide_less(lambda ctx: ctx.log(ctx.mpf(m)), e * e * self.d / 2)


def _hoeffding(carrying: int, d: int) -> EpsFloor:
    m = pair_count(carrying)
    if m <= 1:
        return EpsFloor("hoeffding", carrying, d, Fraction(0), Fraction(0), closed=False)
    ctx = iv_context(128)
    lo, hi = interval_ends(ctx.sqrt(2 * ctx.log(ctx.mpf(m)) / d))
    return EpsFloor("hoeffding", carrying, d, lo, hi, closed=False)


def _binomial(carrying: int, d: int) -> EpsFloor:
    m = pair_count(carrying)
    # least a0 in [0, d] with m * P(A > a0) < 1, A ~ Bin(d, 1/2); a0 = d always works.
    tail = 0  # 2^d * P(A > a), built from a = d downwards
    a0 = d
    for a in range(d - 1, -1, -1):
        tail += math.comb(d, a + 1)
        if m * tail < 2**d:
            a0 = a
        else:
            break
    return _closed_floor("binomial", carrying, d, Fraction(2 * a0, d) - 1)


def _closed_floor(family: Family, carrying: int, d: int, floor: Fraction) -> EpsFloor:
    """[floor, 1), or (0, 1) when floor <= 0 (eps lies in (0, 1); module docstring)."""
    if floor <= 0:
        return EpsFloor(family, carrying, d, Fraction(0), Fraction(0), closed=False)
    return EpsFloor(family, carrying, d, floor, floor, closed=True)


def _gilbert_varshamov(carrying: int, d: int) -> EpsFloor:
    best = 0  # largest D >= 1 with (L'-1) V(d, D-1) < 2^d; 0 if none
    for distance in range(1, d // 2 + 2):
        if (carrying - 1) * hamming_ball(d, distance - 1) < 2**d:
            best = distance
        else:
            break
    if best == 0:
        return EpsFloor("gilbert-varshamov", carrying, d, Fraction(1), Fraction(1), True)
    return _closed_floor("gilbert-varshamov", carrying, d, 1 - Fraction(2 * best, d))


def eps_floor(carrying_tokens: int, d: int, family: Family = "hoeffding") -> EpsFloor:
    """The smallest eps (open or closed) for which ``family`` guarantees L' keys in R^d.

    Notes: Lemmas L1, CAP and WITNESS (docs/theorem.md#l1, #cap, #witness). The floor is
    nondecreasing in L' for every family.

    >>> f = eps_floor(424, 64)
    >>> f.closed, round(float(f.hi), 6), f.admits(Fraction(3, 5)), f.admits(Fraction(59, 100))
    (False, 0.59697, True, False)
    >>> eps_floor(424, 16, "gilbert-varshamov").lo  # 423 * V(16, 2) < 2^16: distance 3
    Fraction(5, 8)
    >>> eps_floor(424, 64, "binomial").lo
    Fraction(17, 32)
    """
    n = check_int_at_least(carrying_tokens, "L'", 1)
    d = check_int_at_least(d, "d", 1)
    if family == "hoeffding":
        return _hoeffding(n, d)
    if family == "binomial":
        return _binomial(n, d)
    if family == "gilbert-varshamov":
        return _gilbert_varshamov(n, d)
    raise InvalidArgument(f"family={family!r} is not one of {', '.join(FAMILIES)}")


def distinct_keys_scale(
    n_keys: int,
    last_tokens: int,
    d: int,
    eta: RealLike,
    *,
    extra_zero_keys: int = 0,
    additive: bool = False,
) -> float:
    """C_min at eps = 1 - 2/d: any L <= 2^d distinct sign keys decode with no cap on C.

    Distinct sigma != sigma' in {+-1}^d differ in a coordinate, so <sigma, sigma'> <= d - 2
    and <k_i, k_j> <= 1 - 2/d =: eps. With C = C_min(L, T_K, eps, eta), about
    (d/2) ln((L-1)/target), every bit decodes: unbounded queries need d >= log2 L, still
    Omega(log n) (docs/theorem.md#cap, CAP-1); a cap changes the constant, not the order.

    Notes: Lemma CAP (docs/theorem.md#cap), "unbounded queries"; the distance-1 case of
    the Gilbert-Varshamov family above.

    >>> round(distinct_keys_scale(424, 256, 16, 0.25), 3)
    52.466
    >>> distinct_keys_scale(424, 256, 8, 0.25)
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: L=424 distinct sign keys need d >= 9 (2^d >= L), got d=8
    """
    n = check_int_at_least(n_keys, "L", 1)
    dd = check_int_at_least(d, "d", 1)
    if n > 2**dd:
        need = (n - 1).bit_length()
        raise InvalidArgument(f"L={n} distinct sign keys need d >= {need} (2^d >= L), got d={dd}")
    e = max(Fraction(0), 1 - Fraction(2, dd))
    return c_min(n, last_tokens, e, eta, additive=additive, extra_zero_keys=extra_zero_keys)
