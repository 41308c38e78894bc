"""L1 -- near-orthogonality of random sign keys (Hoeffding + union bound).

Purpose: the registry entry and checks of Lemma L1 (docs/theorem.md#l1).

Main statement (L1): for L uniform sign vectors sigma_i in {+-1}^d,
P(exists i != j: <sigma_i, sigma_j> > eps d) <= L(L-1)/2 * exp(-eps^2 d / 2) =: p_JL,
so a family with every off-diagonal inner product <= eps d exists as soon as p_JL < 1,
i.e. for d >= d_min(L, eps) = floor(2 ln(L(L-1)/2) / eps^2) + 1.

References: arXiv 2503.14881 (lemma number unknown); W. Hoeffding (1963); Johnson &
Lindenstrauss (1984).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.intervals import IV, enclose, iv_fraction
from lowerbound.jl import binomial_tail, d_min, pair_count
from proofs.certificates import PARAMETER_TABLE, certify_d_min
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def check_union_bound_symbolic() -> CheckResult:
    """L1: with M = L(L-1)/2, M exp(-eps^2 d/2) equals 1 at d* = 2 ln M/eps^2 and decreases in d."""
    m, e, d = sp.symbols("M epsilon d", positive=True)
    p = m * sp.exp(-(e**2) * d / 2)
    d_star = 2 * sp.log(m) / e**2
    at_star = sp.simplify(p.subs(d, d_star))
    slope = sp.diff(p, d)
    ok = at_star == 1 and bool(slope.is_negative)
    return CheckResult.of(
        ok, f"p_JL(d*) simplifies to {at_star}; dp_JL/dd = {slope} is negative, so "
        "p_JL < 1 exactly for d > d*, and d_min = floor(d*) + 1",
    )


def check_formula_against_sympy() -> CheckResult:
    """L1: lowerbound's d_min equals sympy's floor(2 ln(L(L-1)/2)/eps^2) + 1 on a grid."""
    bad = []
    n_cases = 0
    for n_keys in (3, 4, 10, 100, 424, 1216, 2240, 6425):
        for eps in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(9, 10)):
            m = pair_count(n_keys)
            expected = int(sp.floor(2 * sp.log(m) / sp.Rational(eps.numerator,
                                                              eps.denominator) ** 2)) + 1
            n_cases += 1
            if d_min(n_keys, eps) != expected:
                bad.append((n_keys, eps, d_min(n_keys, eps), expected))
    return CheckResult.of(not bad, f"{n_cases} (L, eps) pairs agree" if not bad else
                          f"disagreements (L, eps, ours, sympy): {bad}")


def _d_min_table(offset: int) -> CheckResult:
    lines, ok = [], True
    for p in PARAMETER_TABLE:
        if offset:
            c = certify_d_min(p.cached_tokens, p.eps, claimed=d_min(p.cached_tokens, p.eps)
                              + offset)
        else:
            c = certify_d_min(p.cached_tokens, p.eps)
        ok &= c.holds
        lines.append(f"{p.name}: L={p.cached_tokens} eps={p.eps} d_min={c.d_min} "
                     f"(2 ln M/eps^2 in {c.threshold}) d_min_exact={c.d_min_exact}"
                     + ("" if c.holds else f" FAILED {c.failures}"))
    return CheckResult.of(ok, "; ".join(lines))


def check_d_min_certified() -> CheckResult:
    """L1: for every parameter row, d_min and d_min_exact are proved by interval arithmetic."""
    return _d_min_table(0)


def perturbed_d_min_certified() -> CheckResult:
    """L1 (must fail): the same certificates for the claim d_min - 1 on every row."""
    return _d_min_table(-1)


def _issue_example(claimed: int | None) -> CheckResult:
    c = certify_d_min(2240, Fraction(3, 4), claimed=claimed)
    ok = c.holds and c.d_min == 53 and c.d_min_exact < 53
    return CheckResult.of(ok, f"d_min={c.d_min} with 2 ln(L(L-1)/2)/eps^2 in {c.threshold}; "
                          f"d_min_exact={c.d_min_exact} (exact union bound "
                          f"{float(c.exact_union_at):.6g} < 1)")


def check_issue_example() -> CheckResult:
    """L1: for L = 2240, eps = 3/4, d_min = 53 (Hoeffding); the exact-binomial one is smaller."""
    return _issue_example(None)


def perturbed_issue_example() -> CheckResult:
    """L1 (must fail): the certificate of the claim d_min(2240, 3/4) = 54."""
    return _issue_example(54)


def _tail_below(rate: Fraction) -> CheckResult:
    worst = Fraction(0)
    ok = True
    for eps in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)):
        for d in range(1, 97):
            tail = binomial_tail(d, eps)
            hoeff = enclose(IV.exp(-iv_fraction(rate * eps * eps * d)))
            ok &= tail <= hoeff.lo
            worst = max(worst, tail / hoeff.hi)
    return CheckResult.of(ok, f"288 (d, eps) pairs; largest ratio exact/exp(-{rate} eps^2 d) "
                          f"{float(worst):.4f}" + (" <= 1" if ok else " > 1"))


def check_binomial_below_hoeffding() -> CheckResult:
    """L1: P(Bin(d,1/2) > d(1+eps)/2) <= exp(-eps^2 d/2) for d <= 96 and eps in {1/4,1/2,3/4}."""
    return _tail_below(Fraction(1, 2))


def perturbed_binomial_below_hoeffding() -> CheckResult:
    """L1 (must fail): the same comparison with the exponent doubled, exp(-eps^2 d)."""
    return _tail_below(Fraction(1))


def check_sampled_family() -> CheckResult:
    """L1: a sampled family (seed 0) of L = 424 keys in d = 64 has max <k_i, k_j> <= 3/4."""
    from reduction.keys import max_inner_product, sample_keys

    fam = sample_keys(424, 64, 0.75, rng=np.random.default_rng(0))
    mip = max_inner_product(fam.signs)
    norms = np.linalg.norm(fam.keys, axis=1)
    ok = mip <= 0.75 and bool(np.allclose(norms, 1.0))
    return CheckResult.of(ok, f"max inner product {mip:.4f} after {fam.rounds} round(s); "
                          f"unit keys: {bool(np.allclose(norms, 1.0))}; "
                          f"p_JL bound {pair_count(424) * math.exp(-0.5625 * 32):.3g}")


LEMMAS = (
    Lemma(
        label="L1",
        title="Near-orthogonality of sign keys (Hoeffding + union bound)",
        reference="arXiv 2503.14881, lemma number unknown; Hoeffding (1963)",
        statement=(
            "L uniform sign vectors in {+-1}^d have every pairwise inner product <= eps*d "
            "with probability >= 1 - L(L-1)/2 exp(-eps^2 d/2), which is positive for "
            "d >= d_min(L, eps) = floor(2 ln(L(L-1)/2)/eps^2) + 1."
        ),
        uses=(),
        code=(
            "lowerbound.jl.d_min",
            "lowerbound.jl.d_min_exact",
            "lowerbound.jl.binomial_tail",
            "reduction.keys.sample_keys",
            "reduction.keys.max_inner_product",
        ),
        tests=(
            "tests/lowerbound/test_lowerbound_properties.py::test_d_min_is_least_satisfying_dimension",
            "tests/lowerbound/test_lowerbound_properties.py::test_d_min_exact_at_most_hoeffding",
            "tests/lowerbound/test_lowerbound_properties.py::test_binomial_tail_below_hoeffding",
            "tests/proofs/test_proofs_checks.py::test_issue_example_l2240",
        ),
        checks=(
            Check("union bound at d*", "proved", check_union_bound_symbolic),
            Check("d_min formula vs sympy", "consistency", check_formula_against_sympy),
            Check("d_min certified on the table", "certified", check_d_min_certified,
                  perturbed_d_min_certified),
            Check("L=2240, eps=3/4 gives 53", "certified", check_issue_example,
                  perturbed_issue_example),
            Check("exact tail below Hoeffding", "certified", check_binomial_below_hoeffding,
                  perturbed_binomial_below_hoeffding),
            Check("sampled family is near-orthogonal", "sampled", check_sampled_family),
        ),
        coq=(
            # Hoeffding for one pair under the uniform measure (a finite sum), proved.
            *(CoqProof("Rademacher.v", name) for name in (
                "cosh_le_exp_sq", "Pr_total", "Pr_point", "rademacher_mgf", "ex_mgf_pair",
                "hoeffding_pair")),
            *(CoqProof("L1_union_bound.v", name) for name in (
                "l1_algebra", "l1_algebra_iff", "l1_d_min_least", "l1_union_bound",
                "l1_good_family_exists", "l1_good_family_at_d_min")),
            CoqProof("STATEMENTS.v", "Pr_pinned"),
            CoqProof("STATEMENTS.v", "hoeffding_pinned"),
            CoqProof("STATEMENTS.v", "l1_union_pinned"),
            CoqProof("STATEMENTS.v", "l1_family_pinned"),
            CoqProof("CERT_instances.v", "cert_d_min_424"),
            CoqProof("CERT_instances.v", "cert_d_min_1216"),
            CoqProof("STATEMENTS.v", "d_min_1216_pinned"),
            # L_K of var-512, the often-quoted non-theorem value (docs/theorem.md, Subtleties)
            CoqProof("CERT_instances.v", "cert_d_min_2240"),
        ),
    ),
)
