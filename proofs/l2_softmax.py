"""L2 -- softmax concentration on the target token.

Purpose: the registry entry and checks of Lemma L2 (docs/theorem.md#l2).

Main statement (L2): if score s_* exceeds each of the other m - 1 scores by >= Delta, the
softmax weight of * is >= 1/(1 + (m-1) e^{-Delta}). In the reduction the other L - 1
cached keys trail by >= C(1 - eps) (L1) and the T_K zero keys by C, so
w_* >= 1/(1 + gamma) with gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C}.

References: arXiv 2503.14881 (lemma number unknown); arXiv 2502.15955 (Haris & Onak,
the same concentration step; lemma number unknown).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.intervals import IV, enclose, iv_fraction
from lowerbound.softmax import c_min, gamma
from proofs.certificates import PARAMETER_TABLE, certify_c_min
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def check_weight_identity() -> CheckResult:
    """L2: w_0 = e^{s_0}/(e^{s_0} + S) gives 1/w_0 - 1 = S e^{-s_0} for any other mass S > 0."""
    s0, mass = sp.symbols("s_0 S", positive=True)  # S = sum over the m-1 other scores
    w0 = sp.exp(s0) / (sp.exp(s0) + mass)
    residual = sp.simplify(1 / w0 - 1 - mass * sp.exp(-s0))
    return CheckResult.of(
        residual == 0,
        f"1/w_0 - 1 - S e^(-s_0) simplifies to {residual} for every m (S is the other mass); "
        "with S <= (m-1) e^(s_0 - Delta), w_0 >= 1/(1 + (m-1) e^(-Delta))",
    )


def check_gamma_decreasing() -> CheckResult:
    """L2: gamma(C) = (L-1) e^{-C(1-eps)} + T_K e^{-C} is strictly decreasing in C (eps < 1)."""
    n1, t, c, u = sp.symbols("Lminus1 T_K C u", positive=True)  # u = 1 - eps > 0
    g = n1 * sp.exp(-c * u) + t * sp.exp(-c)
    slope = sp.diff(g, c)
    return CheckResult.of(bool(slope.is_negative), f"dgamma/dC = {slope} < 0 (u = 1 - eps)")


def check_gamma_enclosed() -> CheckResult:
    """L2: lowerbound's float gamma at C_min lies in the interval enclosure (to 1e-12)."""
    lines, ok = [], True
    for p in PARAMETER_TABLE:
        cert = certify_c_min(p.cached_tokens, p.last_tokens, p.eps, p.eta)
        g = gamma(p.cached_tokens, p.last_tokens, float(cert.c), p.eps)
        slack = Fraction(1, 10**12)
        inside = cert.gamma.lo - slack <= Fraction(g) <= cert.gamma.hi + slack
        ok &= inside
        lines.append(f"{p.name}: gamma(C_min) = {g:.12g} in {cert.gamma}")
    return CheckResult.of(ok, "; ".join(lines))


def _attained(scale: Fraction) -> CheckResult:
    d, eps, t_k, c = 16, Fraction(3, 4), 3, Fraction(5)
    s1, s2 = [1] * d, [1] * (d - 2) + [-1] * 2  # <s1, s2> = d - 4 = 12 = eps d exactly
    ip = Fraction(sum(a * b for a, b in zip(s1, s2)), d)
    ic = iv_fraction(c)
    # softmax weight of token 1 for the query C k_1: scores C, C <k_1, k_2>, and t_k zeros
    weight = IV.exp(ic) / (IV.exp(ic) + IV.exp(ic * iv_fraction(ip)) + t_k)
    g = iv_fraction(scale) * (IV.exp(-ic * iv_fraction(1 - eps)) + t_k * IV.exp(-ic))
    diff = enclose(weight - 1 / (1 + g))
    tiny = Fraction(1, 10**40)
    ok = ip == eps and -tiny <= diff.lo and diff.hi <= tiny
    return CheckResult.of(ok, f"L=2, T_K={t_k}, d={d}, <k_1,k_2>={ip}, C={c}: "
                          f"w_1 - 1/(1+{scale} gamma) in {diff}")


def check_bound_attained() -> CheckResult:
    """L2: on L=2 keys with <k_1, k_2> = eps exactly, w_1 = 1/(1+gamma) (the bound is attained)."""
    return _attained(Fraction(1))


def perturbed_bound_attained() -> CheckResult:
    """L2 (must fail): the same certificate with gamma scaled by 1 - 10^-6."""
    return _attained(1 - Fraction(1, 10**6))


def check_weight_on_sampled_keys() -> CheckResult:
    """L2: on sampled keys (L=200, d=64, seed 1) every target weight is >= 1/(1+gamma)."""
    from reduction.attention import softmax_rows
    from reduction.keys import sample_keys

    n, t, eps = 200, 64, 0.75
    keys = sample_keys(n, 64, eps, rng=np.random.default_rng(1)).keys
    c = c_min(n, t, eps, 0.25)
    all_keys = np.vstack([keys, np.zeros((t, 64))])
    w = softmax_rows(c * keys @ all_keys.T)
    target = np.diag(w[:, :n])
    floor = 1.0 / (1.0 + gamma(n, t, c, eps))
    ok = bool(target.min() >= floor)
    return CheckResult.of(ok, f"min target weight {target.min():.6f} >= 1/(1+gamma) = "
                          f"{floor:.6f} at C = C_min = {c:.4f}")


LEMMAS = (
    Lemma(
        label="L2",
        title="Softmax concentration",
        reference="arXiv 2503.14881, lemma number unknown; arXiv 2502.15955, lemma number unknown",
        statement=(
            "If Bob's scaled query C k_i scores C on its own key, <= C eps on the other "
            "L-1 keys and 0 on the T_K zero keys, the softmax weight of token i is "
            ">= 1/(1+gamma) with gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C}."
        ),
        uses=("L1",),
        code=(
            "lowerbound.softmax.gamma",
            "lowerbound.softmax.concentration_weight",
            "reduction.attention.attend",
            "reduction.attention.softmax_rows",
        ),
        tests=(
            "tests/lowerbound/test_lowerbound_properties.py::test_gamma_decreases_in_scale",
            "tests/lowerbound/test_lowerbound_properties.py::test_target_weight_at_least_bound",
        ),
        checks=(
            Check("softmax weight identity", "proved", check_weight_identity),
            Check("gamma decreases in C", "proved", check_gamma_decreasing),
            Check("bound attained on the worst case", "certified", check_bound_attained,
                  perturbed_bound_attained),
            Check("gamma(C_min) float vs enclosure", "consistency", check_gamma_enclosed),
            Check("target weight on sampled keys", "sampled", check_weight_on_sampled_keys),
        ),
        coq=tuple(CoqProof("L2_softmax.v", name) for name in (
            "l2_weight_identity", "l2_concentration", "l2_hard_instance")),
    ),
)
