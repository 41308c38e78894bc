"""Interval certificates: every constant of the explicit theorem with a rigorous enclosure.

Purpose: the *certified numbers* checks of the lemma registry. For each row of
:data:`PARAMETER_TABLE` the constants of docs/theorem.md -- d_min (L1, both forms),
gamma at C_min (L2), C_min and tau (L3), the bound in bits (L4, theorem) -- are
recomputed with mpmath interval arithmetic (outward rounding, 200-bit ends) and compared
with what ``lowerbound`` returns.

Main statement: a certificate *holds* when the interval evaluation proves every
inequality that defines the constant, e.g. for d_min that
2 ln(L(L-1)/2) / eps^2 lies strictly inside (d_min - 1, d_min), so that
L(L-1)/2 * exp(-eps^2 d/2) < 1 at d = d_min and >= 1 at d_min - 1.

References: docs/theorem.md; arXiv 2503.14881; F. Johansson et al., mpmath
(interval arithmetic, ``mpmath.iv``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from lowerbound.bound import index_lower_bound_bits
from lowerbound.decoding import tau
from lowerbound.intervals import IV, Enclosure, enclose, exact, iv_binary_entropy, iv_fraction
from lowerbound.jl import (
    d_min,
    d_min_exact,
    exact_candidates,
    exact_failure_enclosure,
    max_keys,
    pair_count,
)
from lowerbound.softmax import c_min, gamma, gamma_target
from reduction.schedule import Schedule

__all__ = [
    "Parameters",
    "PARAMETER_TABLE",
    "DMinCertificate",
    "CMinCertificate",
    "BoundCertificate",
    "certify_d_min",
    "certify_c_min",
    "certify_bound",
    "certify_max_keys",
]


@dataclass(frozen=True)
class Parameters:
    """One row of the parameter table: a schedule's L = L_{K-1} and T_K, eps, eta, d."""

    name: str
    cached_tokens: int
    last_tokens: int
    eps: Fraction
    eta: Fraction
    d: int
    delta: Fraction = Fraction(0)

    @classmethod
    def from_schedule(
        cls, name: str, eps: Fraction, eta: Fraction, d: int, label: str | None = None
    ) -> Parameters:
        """The row for a schedule preset (L and T_K read from :class:`Schedule`)."""
        s = Schedule.preset(name)
        return cls(label or name, s.cached_tokens, s.last_scale_tokens, eps, eta, d)


_Q = Fraction

#: The rows every certified check runs on. The 'L=2240' row is issue 3's example
#: (all L_K = 2240 tokens of var-512 cached); the theorem itself uses L_{K-1}.
PARAMETER_TABLE: tuple[Parameters, ...] = (
    Parameters.from_schedule("var-256", _Q(3, 4), _Q(1, 4), 64),
    Parameters.from_schedule("var-256", _Q(1, 2), _Q(1, 4), 128, label="var-256 eps=1/2"),
    Parameters.from_schedule("var-512", _Q(3, 4), _Q(1, 4), 64),
    Parameters.from_schedule("infinity-1024", _Q(3, 4), _Q(1, 4), 128),
    Parameters("L=2240", 2240, 1024, _Q(3, 4), _Q(1, 4), 64),
)


# -- L1: d_min ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DMinCertificate:
    """Certificate for d_min(L, eps) (Hoeffding form) and d_min_exact (binomial form).

    Notes: Lemma L1 (docs/theorem.md#l1).
    """

    cached_tokens: int
    eps: Fraction
    d_min: int
    d_min_exact: int
    threshold: Enclosure  # 2 ln(L(L-1)/2) / eps^2; d_min = floor(threshold) + 1
    union_at_d_min: Enclosure  # L(L-1)/2 exp(-eps^2 d_min / 2), must be < 1
    union_below: Enclosure  # the same at d_min - 1, must be >= 1
    # L(L-1)/2 P(Bin(d, 1/2) > d(1+eps)/2): an upper end at d_min_exact (must be < 1) and
    # a lower end at d_min_exact - 1 (must be >= 1; None if d_min_exact = 1). Exact for
    # d <= 4096, rigorous enclosures above (lowerbound.jl.exact_failure_enclosure).
    exact_union_at: Fraction
    exact_union_below: Fraction | None
    failures: tuple[str, ...] = field(default=())

    @property
    def holds(self) -> bool:
        """Whether every defining inequality was proved."""
        return not self.failures


def _union_iv(pairs: int, eps: Fraction, d: int) -> Any:
    return iv_fraction(pairs) * IV.exp(-iv_fraction(eps * eps * d / 2))


def certify_d_min(
    cached_tokens: int,
    eps: Fraction,
    *,
    claimed: int | None = None,
    claimed_exact: int | None = None,
) -> DMinCertificate:
    """Prove d_min and d_min_exact of Lemma L1 with interval and exact arithmetic.

    ``claimed`` / ``claimed_exact`` certify given values instead of lowerbound's (used to
    show that the certificate fails on a wrong value).

    Notes: Lemma L1 (docs/theorem.md#l1): d_min = least d with
    L(L-1)/2 exp(-eps^2 d/2) < 1.

    >>> c = certify_d_min(2240, Fraction(3, 4))
    >>> c.holds, c.d_min, c.d_min_exact
    (True, 53, 38)
    >>> certify_d_min(2240, Fraction(3, 4), claimed=54).holds
    False
    """
    eps = Fraction(eps)
    m = pair_count(cached_tokens)
    dm = d_min(cached_tokens, eps) if claimed is None else claimed
    dx = d_min_exact(cached_tokens, eps) if claimed_exact is None else claimed_exact
    failures: list[str] = []
    if m >= 2:
        thr = 2 * IV.log(iv_fraction(m)) / iv_fraction(eps * eps)
    else:
        thr = IV.mpf(0)
    threshold = enclose(thr)
    if m >= 2 and not (dm - 1 < threshold.lo and threshold.hi < dm):
        failures.append(f"2 ln M/eps^2 in {threshold} is not inside ({dm - 1}, {dm})")
    at = enclose(_union_iv(m, eps, dm))
    if not at.hi < 1:
        failures.append(f"union bound at d_min={dm} is {at}, not < 1")
    below = enclose(_union_iv(m, eps, dm - 1)) if dm > 1 else exact(m)
    if dm > 1 and not below.lo >= 1:
        failures.append(f"union bound at d_min-1={dm - 1} is {below}, not >= 1")
    exact_at = exact_failure_enclosure(cached_tokens, eps, dx)[1]
    exact_below = exact_failure_enclosure(cached_tokens, eps, dx - 1)[0] if dx > 1 else None
    if not exact_at < 1:
        failures.append(f"exact union bound at d_min_exact={dx} is {float(exact_at)}, not < 1")
    if exact_below is not None and exact_below < 1:
        failures.append(f"exact union bound at d_min_exact-1={dx - 1} is < 1 too")
    if not dx <= dm:
        failures.append(f"d_min_exact={dx} exceeds d_min={dm}")
    # every d in [d_min_exact, d_min) is dominated by a candidate (lowerbound.jl.
    # exact_candidates); each candidate's union bound is enclosed below 1
    for d in exact_candidates(eps, dm - 1, dx).tolist():
        if not exact_failure_enclosure(cached_tokens, eps, d)[1] < 1:
            failures.append(f"exact union bound >= 1 at d={d} inside [d_min_exact, d_min]")
            break
    return DMinCertificate(
        cached_tokens, eps, dm, dx, threshold, at, below, exact_at, exact_below,
        tuple(failures),
    )


# -- L2/L3: C_min, gamma, tau ------------------------------------------------------------------
@dataclass(frozen=True)
class CMinCertificate:
    """Certificate for C_min (L3), gamma at C_min (L2) and the decoding threshold tau (L3).

    ``c`` is the double returned by :func:`lowerbound.softmax.c_min`, read exactly.
    """

    cached_tokens: int
    last_tokens: int
    eps: Fraction
    eta: Fraction
    c: Fraction
    target: Fraction  # gamma must be < (1 - eta) / (1 + eta)
    gamma: Enclosure  # at C_min
    gamma_before: Enclosure  # at the double just below C_min
    tau: Fraction  # the float threshold lowerbound.decoding.tau returns, read exactly
    zero_top: Enclosure  # (1 + eta) gamma / (1 + gamma)
    one_bottom: Enclosure  # (1 - eta) / (1 + gamma)
    failures: tuple[str, ...] = field(default=())

    @property
    def holds(self) -> bool:
        """Whether every defining inequality was proved."""
        return not self.failures


def _gamma_iv(n: int, t: int, c: Fraction, eps: Fraction) -> Any:
    ic = iv_fraction(c)
    return (n - 1) * IV.exp(-ic * iv_fraction(1 - eps)) + t * IV.exp(-ic)


def certify_c_min(
    cached_tokens: int,
    last_tokens: int,
    eps: Fraction,
    eta: Fraction,
    *,
    claimed_c: float | None = None,
) -> CMinCertificate:
    """Prove that gamma(C_min) < (1-eta)/(1+eta) <= gamma(C_min^-) and that tau separates.

    ``claimed_c`` certifies a given double instead of lowerbound's C_min (one ulp above or
    below C_min fails).

    Notes: Lemmas L2 and L3 (docs/theorem.md#l2, #l3): gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C};
    tau = ((1-eta) + (1+eta) gamma) / (2 (1+gamma)) lies strictly between the 0-range top
    (1+eta) gamma/(1+gamma) and the 1-range bottom (1-eta)/(1+gamma).

    >>> c = certify_c_min(424, 256, Fraction(3, 4), Fraction(1, 4))
    >>> c.holds, round(float(c.c), 3)
    (True, 26.233)
    >>> certify_c_min(424, 256, Fraction(3, 4), Fraction(1, 4),
    ...               claimed_c=math.nextafter(float(c.c), math.inf)).holds
    False
    """
    eps, eta = Fraction(eps), Fraction(eta)
    n, t = cached_tokens, last_tokens
    c_float = c_min(n, t, eps, eta) if claimed_c is None else float(claimed_c)
    c = Fraction(c_float)
    target = gamma_target(eta)
    g = _gamma_iv(n, t, c, eps)
    g_before = _gamma_iv(n, t, Fraction(math.nextafter(c_float, 0.0)), eps)
    tau_float = Fraction(tau(gamma(n, t, c_float, eps), eta))
    zero_top = enclose(iv_fraction(1 + eta) * g / (1 + g))
    one_bottom = enclose(iv_fraction(1 - eta) / (1 + g))
    gamma_enc, before_enc = enclose(g), enclose(g_before)
    failures: list[str] = []
    if not gamma_enc.hi < target:
        failures.append(f"gamma(C_min) in {gamma_enc} is not < {target}")
    if not before_enc.lo >= target:
        failures.append(f"gamma just below C_min in {before_enc} is already < {target}")
    if not zero_top.hi < tau_float < one_bottom.lo:
        failures.append(
            f"tau={float(tau_float)} is not strictly between {zero_top} and {one_bottom}"
        )
    return CMinCertificate(
        n, t, eps, eta, c, target, gamma_enc, before_enc, tau_float, zero_top, one_bottom,
        tuple(failures),
    )


# -- L4 / theorem: the bound in bits -------------------------------------------------------------
@dataclass(frozen=True)
class BoundCertificate:
    """Enclosure of (1 - H2(delta)) N and agreement with the float lowerbound returns."""

    n_bits: int
    delta: Fraction
    bits: Enclosure
    reported: float
    failures: tuple[str, ...] = field(default=())

    @property
    def holds(self) -> bool:
        """Whether the reported float lies within a relative 1e-12 of the enclosure."""
        return not self.failures


def certify_bound(n_bits: int, delta: Fraction = Fraction(0)) -> BoundCertificate:
    """Enclose (1 - H2(delta)) * N, the L4 / theorem bound, and compare with lowerbound.

    Notes: Lemma L4 and the explicit theorem (docs/theorem.md#l4, #thm).

    >>> str(certify_bound(27136).bits)
    '[27136, 27136]'
    >>> certify_bound(100, Fraction(1, 10)).holds
    True
    """
    delta = Fraction(delta)
    enc = enclose(iv_fraction(n_bits) * (1 - iv_binary_entropy(delta)))
    reported = index_lower_bound_bits(n_bits, delta)
    slack = Fraction(1, 10**12) * max(1, n_bits)
    failures: list[str] = []
    if not enc.lo - slack <= Fraction(reported) <= enc.hi + slack:
        failures.append(f"lowerbound reports {reported}, outside {enc}")
    return BoundCertificate(n_bits, delta, enc, reported, tuple(failures))


def certify_max_keys(
    d: int, eps: Fraction, cap: int | None = None, *, claimed: int | None = None
) -> tuple[int, list[str]]:
    """Prove L' = max_keys(d, eps): L'(L'-1)/2 < e^{eps^2 d/2} <= (L'+1)L'/2 (unless capped).

    ``claimed`` certifies a given L' instead of lowerbound's.

    Notes: Corollary C1 (docs/theorem.md#c1).

    >>> certify_max_keys(8, Fraction(1, 2))
    (2, [])
    >>> certify_max_keys(8, Fraction(1, 2), claimed=3)[1] != []
    True
    """
    eps = Fraction(eps)
    lp = max_keys(d, eps, cap=cap) if claimed is None else claimed
    bound = IV.exp(iv_fraction(eps * eps * d / 2))
    enc = enclose(bound)
    failures: list[str] = []
    if not pair_count(lp) < enc.lo:
        failures.append(f"L'={lp}: L'(L'-1)/2={pair_count(lp)} is not < {enc}")
    if (cap is None or lp < cap) and not pair_count(lp + 1) >= enc.hi:
        failures.append(f"L'+1={lp + 1} also fits under {enc}")
    return lp, failures
