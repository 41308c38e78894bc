"""L3 -- Bob's threshold decoding, and the least query scale C_min.

Purpose: the registry entry and checks of Lemma L3 (docs/theorem.md#l3).

Main statement (L3): the exact output coordinate satisfies Z_l >= 1/(1+gamma) if the
hidden bit is 1 and Z_l <= gamma/(1+gamma) if it is 0. Under entrywise relative error
eta < 1 the threshold tau = ((1-eta) + (1+eta) gamma) / (2 (1+gamma)) decodes every
coordinate iff the ranges separate, iff gamma < (1-eta)/(1+eta); C_min(L, T_K, eps, eta)
is the least C achieving that. (Additive error eta: gamma < (1-2eta)/(1+2eta).)

References: arXiv 2503.14881 (lemma number unknown).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.decoding import separates, tau
from lowerbound.intervals import gap_text
from lowerbound.softmax import c_min, gamma, gamma_target
from proofs.certificates import PARAMETER_TABLE, certify_c_min
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def check_separation_symbolic() -> CheckResult:
    """L3: one - zero = ((1-eta) - (1+eta) gamma)/(1+gamma) > 0 iff gamma < (1-eta)/(1+eta)."""
    g, eta = sp.symbols("gamma eta", nonnegative=True)
    one = (1 - eta) / (1 + g)
    zero = (1 + eta) * g / (1 + g)
    t = ((1 - eta) + (1 + eta) * g) / (2 * (1 + g))
    gap = sp.simplify(one - zero - ((1 - eta) - (1 + eta) * g) / (1 + g))
    mid = sp.simplify((t - zero) - (one - t))
    numerator = (1 - eta) - (1 + eta) * g
    root = sp.solve(numerator, g)
    slope = sp.diff(numerator, g)
    ok = gap == 0 and mid == 0 and root == [(1 - eta) / (1 + eta)] and bool(
        (-slope).is_positive)
    return CheckResult.of(ok, f"one-zero gap matches, tau is the midpoint, numerator root "
                          f"{root}, slope {slope} < 0: separates iff gamma < (1-eta)/(1+eta)")


def check_additive_symbolic() -> CheckResult:
    """L3: 1/(1+gamma) - eta > gamma/(1+gamma) + eta iff gamma < (1-2 eta)/(1+2 eta)."""
    g, eta = sp.symbols("gamma eta", nonnegative=True)
    diff = sp.together(1 / (1 + g) - eta - (g / (1 + g) + eta))
    numerator = sp.numer(diff)
    root = sp.solve(numerator, g)
    expected = (1 - 2 * eta) / (1 + 2 * eta)
    agree = all(
        gamma_target(Fraction(k, 10), additive=True)
        == Fraction(str(expected.subs(eta, sp.Rational(k, 10))))
        for k in range(5)
    )
    ok = len(root) == 1 and sp.simplify(root[0] - expected) == 0 and agree
    return CheckResult.of(ok, f"root {root}; lowerbound.gamma_target(additive) agrees on "
                          f"eta = 0, 0.1, ..., 0.4: {agree}")


def check_target_matches_code() -> CheckResult:
    """L3: lowerbound.gamma_target(eta) equals the symbolic root (1-eta)/(1+eta), exactly."""
    bad = [k for k in range(10)
           if gamma_target(Fraction(k, 10)) != Fraction(10 - k, 10 + k)]
    return CheckResult.of(not bad, "eta = 0, 0.1, ..., 0.9 agree" if not bad else f"bad {bad}")


def _c_min_table(ulps: int) -> CheckResult:
    lines, ok = [], True
    for p in PARAMETER_TABLE:
        claimed = None
        if ulps:
            claimed = c_min(p.cached_tokens, p.last_tokens, p.eps, p.eta)
            for _ in range(abs(ulps)):
                claimed = math.nextafter(claimed, math.inf if ulps > 0 else 0.0)
        cert = certify_c_min(p.cached_tokens, p.last_tokens, p.eps, p.eta, claimed_c=claimed)
        ok &= cert.holds
        lines.append(f"{p.name}: C_min = {float(cert.c):.12g}, gamma < target by "
                     f"{gap_text(cert.gamma.hi, cert.target)}, tau = {float(cert.tau)!r} "
                     f"above the 0-range by {gap_text(cert.zero_top.hi, cert.tau)} and below "
                     f"the 1-range by {gap_text(cert.tau, cert.one_bottom.lo)}"
                     + ("" if cert.holds else f" FAILED {cert.failures}"))
    return CheckResult.of(ok, "; ".join(lines))


def check_c_min_certified() -> CheckResult:
    """L3: gamma(C_min) < (1-eta)/(1+eta) <= gamma(C_min^-) and tau separates, every row."""
    return _c_min_table(0)


def perturbed_c_min_certified() -> CheckResult:
    """L3 (must fail): the same certificate for the double one ulp above C_min, every row."""
    return _c_min_table(1)


def check_separates_boundary() -> CheckResult:
    """L3: separates() is True just below gamma = (1-eta)/(1+eta) and False at and above it."""
    ok = True
    for eta in (Fraction(0), Fraction(1, 4), Fraction(1, 2)):
        g = float(gamma_target(eta))
        ok &= separates(g * (1 - 1e-9), eta) and not separates(g * (1 + 1e-9), eta)
    return CheckResult.of(ok, "boundary behaves at eta = 0, 1/4, 1/2")


def check_exact_decoding() -> CheckResult:
    """L3: exact attention + threshold tau recovers every bit (L=120, d=64, T_K=64, seed 2)."""
    from reduction.attention import attend
    from reduction.decode import decode_bits
    from reduction.keys import sample_keys

    n, t, d, eps, eta = 120, 64, 64, 0.75, 0.25
    rng = np.random.default_rng(2)
    key_rng, bit_rng = rng.spawn(2)
    keys = sample_keys(n, d, eps, rng=key_rng).keys
    bits = bit_rng.integers(0, 2, size=(n, d))
    c = c_min(n, t, eps, eta)
    z = attend(c * keys, np.vstack([keys, np.zeros((t, d))]),
               np.vstack([bits, np.zeros((t, d))]).astype(np.float64))
    threshold = tau(gamma(n, t, c, eps), eta)
    wrong = int((decode_bits(z, threshold) != bits).sum())
    return CheckResult.of(wrong == 0, f"{wrong} wrong bits of {n * d} at C_min = {c:.4f}, "
                          f"tau = {threshold:.6f}")


def check_tight_instance() -> CheckResult:
    """L3 is tight: L=2 keys with <s1,s2> = eps d decode at C_min and fail at the double below."""
    from proofs.tight_instance import TIGHT_ETAS, certify_tight

    failures, details = [], []
    for eta in TIGHT_ETAS:
        bad, detail = certify_tight(eta)
        failures += bad
        details.append(detail)
    return CheckResult.of(not failures, "; ".join(failures or details))


def perturbed_tight_instance() -> CheckResult:
    """L3 perturbed: the tight certificate fed C one ulp above C_min must fail (C^- decodes)."""
    import math

    from lowerbound.softmax import c_min as least_scale
    from proofs.tight_instance import TIGHT_ETAS, certify_tight, tight_instance

    inst = tight_instance()
    eta = TIGHT_ETAS[0]
    wrong = math.nextafter(least_scale(2, inst.last_tokens, inst.eps, eta), math.inf)
    failures, detail = certify_tight(eta, inst, c=wrong)
    return CheckResult.of(not failures, "; ".join(failures or [detail]))


LEMMAS = (
    Lemma(
        label="L3",
        title="Threshold decoding and the least query scale C_min",
        reference="arXiv 2503.14881, lemma number unknown",
        statement=(
            "Under entrywise relative error eta < 1 the threshold "
            "tau = ((1-eta) + (1+eta) gamma)/(2(1+gamma)) decodes every bit iff "
            "gamma < (1-eta)/(1+eta), which holds for every C >= C_min(L, T_K, eps, eta)."
        ),
        uses=("L2",),
        code=(
            "lowerbound.decoding.tau",
            "lowerbound.decoding.separates",
            "lowerbound.softmax.c_min",
            "lowerbound.softmax.gamma_target",
            "reduction.decode.decode_bits",
        ),
        tests=(
            "tests/lowerbound/test_lowerbound_properties.py::test_c_min_is_least_scale",
            "tests/lowerbound/test_lowerbound_properties.py::test_tau_separates_iff_gamma_below_target",
            "tests/proofs/test_tight_instance.py::test_the_tight_instance_decodes_at_c_min_only",
        ),
        checks=(
            Check("separation iff gamma < (1-eta)/(1+eta)", "proved",
                  check_separation_symbolic),
            Check("additive-error variant", "proved", check_additive_symbolic),
            Check("gamma_target matches the root", "bookkeeping", check_target_matches_code),
            Check("C_min and tau certified on the table", "certified", check_c_min_certified,
                  perturbed_c_min_certified),
            Check("separates() at the boundary", "consistency", check_separates_boundary),
            Check("exact attention decodes every bit", "sampled", check_exact_decoding),
            Check("tight instance: decodes at C_min, fails just below", "certified",
                  check_tight_instance, perturbed_tight_instance),
        ),
        coq=(
            *(CoqProof("L3_decoding.v", name) for name in (
                "l3_exact_ranges", "l3_separation_iff", "l3_tau_separates",
                "l3_decodes_relative", "l3_additive_iff", "l3_additive_half_separates",
                "l3_decodes_additive")),
            *(CoqProof("THM_assembly.v", name) for name in (
                "thm_threshold", "thm_c_min_exact", "thm_above_c_min", "thm_c_min_meets_l3")),
            CoqProof("CERT_instances.v", "cert_c_star_424"),
        ),
    ),
)
