"""CAP and UNUSED -- the reduction under a logit cap, with unused tokens zeroed (ours).

Purpose: the registry entries and checks of Lemma CAP (docs/theorem.md#cap) and Lemma
UNUSED (docs/theorem.md#unused), implemented in :mod:`lowerbound.logit_cap`.

Main statements.
- UNUSED: if only L' of the L cached tokens carry bits and the others get zero keys and
  zero values, Bob's target weight is >= 1/(1+gamma) with
  gamma = (L'-1) e^{-C(1-eps)} + (L - L' + T_K) e^{-C}, and Lemma L3 decodes every bit
  once gamma < (1-eta)/(1+eta): the zero-valued tokens only add weight to 0.
- CAP: with every logit in [-B, B] (C <= B), L' tokens fit iff eps0(L') < 1 and
  gamma(B) at eps0(L') < target; fitting is monotone in L', so L*(d, B) is exact, and every
  (eta, delta)-correct algorithm keeps >= (1 - H2(delta)) d L* bits.

References: docs/theorem.md#cap, #unused; arXiv 2503.14881 (whose queries are unbounded);
FoundationVision/VAR models/basic_var.py (the cap of 100).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.bound import low_dimension_bound_bits, theorem_bound_bits
from lowerbound.families import FAMILIES, eps_floor
from lowerbound.jl import d_min, max_keys
from lowerbound.logit_cap import CapPlan, fits_under_cap, max_carrying_tokens, plan_under_cap
from lowerbound.softmax import gamma, gamma_is_below, gamma_target
from proofs._perturb import all_caught
from proofs.cap_certificates import certify_cap_plan
from proofs.registry import Check, CheckResult, CoqProof, Lemma
from reduction.schedule import Schedule

__all__ = ["LEMMAS", "CAP_TABLE"]

#: (schedule, d, cap) rows the certified check runs on (eta = 1/4, every key family).
CAP_TABLE: tuple[tuple[str, int, Fraction], ...] = tuple(
    (s, d, Fraction(100)) for s in ("var-256", "var-512") for d in (12, 16, 24, 32, 64))


def check_monotone_symbolic() -> CheckResult:
    """CAP: gamma_{L'} - gamma_{L'-1} = e^{-B(1-eps)} - e^{-B} >= 0 and d gamma/d eps > 0."""
    k, z, b, e = sp.symbols("L_prime Z B epsilon", positive=True)
    g = (k - 1) * sp.exp(-b * (1 - e)) + z * sp.exp(-b)
    # one carrying key traded for a zero key: L' -> L'-1, Z -> Z+1
    diff = sp.simplify(g - g.subs({k: k - 1, z: z + 1}))
    ok_diff = sp.simplify(diff - (sp.exp(-b * (1 - e)) - sp.exp(-b))) == 0
    # diff = e^{-B} (e^u - 1) with u = B eps > 0; e^u - 1 is 0 at u = 0 and increasing.
    u = sp.symbols("u", positive=True)
    ok_sign = (sp.simplify(diff * sp.exp(b) - (sp.exp(b * e) - 1)) == 0
               and (sp.exp(u) - 1).subs(u, 0) == 0 and bool(sp.diff(sp.exp(u) - 1, u).is_positive))
    deriv = sp.diff(g, e)
    ok_deriv = sp.simplify(deriv - (k - 1) * b * sp.exp(-b * (1 - e))) == 0
    return CheckResult.of(ok_diff and ok_sign and ok_deriv,
                          f"gamma_L' - gamma_(L'-1) = {diff}; d gamma/d eps = {deriv}")


def _floors_table(strictly: bool) -> CheckResult:
    """Every family, d in {5, 8, 12, 16}, L' = 1 .. 2^d + 1 (600 at d = 16): the eps floor
    of L' + 1 keys is not below that of L' keys (``strictly``: strictly above it)."""
    cases = 0
    for family in FAMILIES:
        for d, top in ((5, 2**5 + 1), (8, 2**8 + 1), (12, 600), (16, 600)):
            floors = [eps_floor(k, d, family) for k in range(1, top + 1)]
            for k, (a, b) in enumerate(zip(floors, floors[1:]), start=1):
                ok = (a.hi < b.lo) if strictly else (a.lo <= b.lo and a.hi <= b.hi)
                if not ok:
                    return CheckResult.of(False, f"{family} d={d}: eps0({k}) = [{float(a.lo)}, "
                                          f"{float(a.hi)}], eps0({k + 1}) = [{float(b.lo)}, "
                                          f"{float(b.hi)}]")
                cases += 1
    return CheckResult.of(True, f"{cases} pairs (L', L' + 1), three families, eps0 never "
                          "decreases")


def check_floor_monotone_exhaustive() -> CheckResult:
    """CAP-4, the floor half: eps0(L' - 1) <= eps0(L') for every family, small d, every L'."""
    return _floors_table(strictly=False)


def perturbed_floor_monotone_exhaustive() -> CheckResult:
    """CAP (must fail): the same enumeration asked to certify that eps0 strictly increases
    with every key (false: the closed floors move in steps of 2/d)."""
    return _floors_table(strictly=True)


def check_floor_symbolic() -> CheckResult:
    """CAP: M e^{-eps^2 d/2} < 1 iff eps > sqrt(2 ln M / d) (the Hoeffding eps floor)."""
    m, d, e = sp.symbols("M d epsilon", positive=True)
    roots = sp.solve(sp.Eq(m * sp.exp(-e**2 * d / 2), 1), e)
    expected = sp.sqrt(2 * sp.log(m) / d)
    ok = any(sp.simplify(r - expected) == 0 for r in roots)
    slope = sp.diff(m * sp.exp(-e**2 * d / 2), e)
    ok &= sp.simplify(slope + m * d * e * sp.exp(-e**2 * d / 2)) == 0  # strictly decreasing
    return CheckResult.of(ok, f"roots {roots}; the union bound decreases in eps")


def _shifted(plan: CapPlan, shift: int) -> CapPlan:
    """The plan with L* replaced by L* + shift (L* - 1 instead when L* + 1 > L)."""
    k = plan.carrying_tokens + shift
    if k > plan.cached_tokens:
        k = plan.carrying_tokens - shift
    return dataclasses.replace(plan, carrying_tokens=k)


def _plans_table(shift: int) -> tuple[list[bool], list[str]]:
    """Certify every plan of CAP_TABLE (L* moved by ``shift``): one verdict per plan."""
    verdicts, lines = [], []
    for name, d, cap in CAP_TABLE:
        s = Schedule.preset(name)
        for family in ("hoeffding", "binomial", "gilbert-varshamov"):
            plan = plan_under_cap(s.cached_tokens, s.last_scale_tokens, d, Fraction(1, 4),
                                  cap, family=family)  # type: ignore[arg-type]
            if shift:
                plan = _shifted(plan, shift)
            cert = certify_cap_plan(plan)
            verdicts.append(cert.holds)
            if family == "hoeffding" or cert.holds != (shift == 0):
                lines.append(f"{name} d={d} {family}: L*={plan.carrying_tokens} "
                             f"eps={plan.eps}" + ("" if cert.holds
                                                  else f" refuted: {cert.failures[0]}"))
    return verdicts, lines


def check_plans_certified() -> CheckResult:
    """CAP: every plan on CAP_TABLE (3 key families) re-proved with intervals, L*+1 refuted."""
    verdicts, lines = _plans_table(0)
    return CheckResult.of(all(verdicts), "; ".join(lines))


def perturbed_plans_certified() -> CheckResult:
    """CAP (must fail): each plan of CAP_TABLE with L*+1 (L*-1 when L* = L) claimed."""
    verdicts, lines = _plans_table(1)
    # every wrong plan must be refuted: "passed" if even one was certified
    return CheckResult.of(any(verdicts), f"{verdicts.count(False)}/{len(verdicts)} wrong "
                          "plans refuted; " + "; ".join(lines[:3]))


def _bisection_table(offset: int) -> CheckResult:
    cases = 0
    for n in (6, 15, 40):
        for d in (4, 8, 12):
            for cap in (Fraction(5), Fraction(12), Fraction(30)):
                for family in ("hoeffding", "gilbert-varshamov"):
                    fits = [fits_under_cap(n, 3, k, d, Fraction(3, 5), cap,
                                           family=family)  # type: ignore[arg-type]
                            for k in range(n + 1)]
                    scan = max(k for k in range(n + 1) if fits[k])
                    monotone = all(fits[k - 1] or not fits[k] for k in range(1, n + 1))
                    got = max_carrying_tokens(n, 3, d, Fraction(3, 5), cap,
                                              family=family) + offset  # type: ignore[arg-type]
                    if not monotone or got != scan:
                        return CheckResult.of(False, f"L={n} d={d} B={cap} {family}: "
                                              f"monotone={monotone}, bisection {got} != {scan}")
                    cases += 1
    return CheckResult.of(True, f"{cases} cases, every L' in [0, L] tested")


def check_bisection_exhaustive() -> CheckResult:
    """CAP: for small (L, T_K, d, B) fitting is monotone in L' and bisection finds L* exactly."""
    return _bisection_table(0)


def perturbed_bisection_exhaustive() -> CheckResult:
    """CAP (must fail): the same enumeration against a bisection off by one (+1 and -1)."""
    return all_caught(("bisection + 1", _bisection_table(1)),
                      ("bisection - 1", _bisection_table(-1)))


def check_one_more_token_grid() -> CheckResult:
    """CAP: at L*+1 no eps in a grid of step 1/4000 has d >= d_min and gamma(B) < target."""
    lines, ok = [], True
    target = gamma_target(Fraction(1, 4))
    for name, d in (("var-256", 16), ("var-256", 24), ("var-512", 20)):
        s = Schedule.preset(name)
        n, t = s.cached_tokens, s.last_scale_tokens
        k = max_carrying_tokens(n, t, d, target, 100)
        grid = [Fraction(i, 4000) for i in range(1, 4000)]
        admissible = [e for e in grid if d_min(k + 1, e) <= d]
        bad = [e for e in admissible
               if gamma_is_below(k + 1, t, 100, e, target, extra_zero_keys=n - k - 1)]
        ok &= not bad and any(gamma_is_below(k, t, 100, e, target, extra_zero_keys=n - k)
                              for e in grid if d_min(k, e) <= d)
        lines.append(f"{name} d={d}: L*={k}; {len(admissible)} grid eps admissible for L*+1, "
                     f"none under the cap")
    return CheckResult.of(ok, "; ".join(lines))


def check_no_cap_is_theorem_and_c1() -> CheckResult:
    """CAP: with B = None and eps fixed, L* = max_keys(d, eps) <= L: the theorem and C1."""
    ok, lines = True, []
    eps = Fraction(3, 4)
    for d in (8, 16, 30, 41, 64):
        plan = plan_under_cap(424, 256, d, Fraction(1, 4), None, eps=eps)
        ok &= plan.carrying_tokens == max_keys(d, eps, cap=424)
        ok &= plan.bound_bits() == low_dimension_bound_bits(d, 424, eps)
        if d >= d_min(424, eps):
            ok &= plan.bound_bits() == theorem_bound_bits(d, 424, eps)
        lines.append(f"d={d}: L*={plan.carrying_tokens}")
    return CheckResult.of(ok, "; ".join(lines))


def check_unused_symbolic() -> CheckResult:
    """UNUSED: a zero key scores 0, trailing Bob's target (score C) by C: weight term e^{-C}."""
    c, e = sp.symbols("C epsilon", positive=True)
    k_i = sp.Matrix([1, 0])  # a unit key; the query is C k_i
    target, zero_key, other = (c * k_i).dot(k_i), (c * k_i).dot(sp.zeros(2, 1)), c * e
    w_terms = [sp.exp(zero_key - target), sp.exp(other - target)]
    ok = sp.simplify(w_terms[0] - sp.exp(-c)) == 0 and sp.simplify(
        w_terms[1] - sp.exp(-c * (1 - e))) == 0
    return CheckResult.of(ok, f"zero key: {w_terms[0]}; carrying key at <= eps: {w_terms[1]}")


def check_unused_end_to_end() -> CheckResult:
    """UNUSED: exact attention with L - L* zero tokens decodes every bit at C <= B (seed 5)."""
    from lowerbound.decoding import tau
    from reduction.attention import attend
    from reduction.decode import decode_bits
    from reduction.keys import sample_keys

    n, t, d, cap, eta = 120, 64, 14, Fraction(40), Fraction(1, 4)
    plan = plan_under_cap(n, t, d, eta, cap)
    k, z = plan.carrying_tokens, plan.zero_key_tokens
    assert plan.eps is not None and plan.scale is not None
    key_rng, bit_rng = np.random.default_rng(5).spawn(2)
    keys = sample_keys(k, d, float(plan.eps), key_rng, require_d_min=False).keys
    bits = bit_rng.integers(0, 2, size=(k, d))
    all_keys = np.vstack([keys, np.zeros((z + t, d))])
    values = np.vstack([bits, np.zeros((z + t, d))]).astype(np.float64)
    queries = plan.scale * keys
    logits = queries @ all_keys.T
    out = attend(queries, all_keys, values)
    g = gamma(k, t, plan.scale, float(plan.eps), extra_zero_keys=z)
    wrong = int((decode_bits(out, tau(g, float(eta))) != bits).sum())
    ok = 0 < z and wrong == 0 and float(np.abs(logits).max()) <= cap
    return CheckResult.of(ok, f"L={n}, L*={k}, {z} zero tokens, C={plan.scale:.4f} <= {cap}, "
                          f"max |logit| = {np.abs(logits).max():.4f}, {wrong} wrong bits")


_TESTS_CAP = (
    "tests/lowerbound/test_logit_cap.py::test_cli_logit_cap_reports_eps_and_l_star",
    "tests/lowerbound/test_logit_cap.py::test_reported_plan_is_maximal_exactly_and_on_a_grid",
    "tests/lowerbound/test_logit_cap.py::test_no_cap_reduces_to_theorem_and_c1",
    "tests/lowerbound/test_logit_cap.py::test_reported_eps_is_the_best",
    "tests/lowerbound/test_logit_cap.py::test_certificate_rejects_wrong_plans",
    "tests/reduction/test_low_dimension.py::test_regime_under_a_cap_keeps_c_below_b",
    "tests/reduction/test_low_dimension.py::test_exact_eps_guarantees_more_than_any_grid_eps",
    "tests/reduction/test_low_dimension.py::test_guaranteed_is_l_star_and_fits_at_its_eps",
    "tests/reduction/test_low_dimension.py::test_fitting_reductions_decode_every_bit",
    "tests/reduction/test_var_head.py::test_actual_logits_stay_inside_the_cap",
    "tests/reduction/test_var_head.py::test_must_show_var512_cli",
    "tests/reduction/test_var_head.py::test_a_claim_above_the_cap_is_flagged",
)

LEMMAS = (
    Lemma(
        label="UNUSED",
        title="Unused cached tokens carry zero keys and values (ours)",
        reference="docs/theorem.md#unused (beyond the papers)",
        statement=(
            "With L' of L cached tokens carrying bits and the rest zero keys and values, "
            "gamma = (L'-1) e^{-C(1-eps)} + (L - L' + T_K) e^{-C} and L3 decodes every bit "
            "once gamma < (1-eta)/(1+eta)."
        ),
        uses=("L2", "L3"),
        code=("lowerbound.softmax.gamma", "lowerbound.softmax.scale_for_gamma",
              "lowerbound.softmax.c_min", "reduction.regime.plan_regime",
              "reduction.public.PublicParams.zero_key_tokens",
              "reduction.public.PublicParams.cached_keys"),
        tests=("tests/lowerbound/test_logit_cap.py::test_zero_keys_enter_gamma_like_last_scale",
               "tests/lowerbound/test_logit_cap.py::test_end_to_end_decodes_under_the_cap",
               "tests/reduction/test_low_dimension.py::test_zero_key_tokens_enter_gamma",
               "tests/reduction/test_low_dimension.py::test_single_carrier_decodes_with_zero_tokens_around"),
        checks=(
            # The two weight terms are read off the definitions (a zero key scores 0):
            # the formula of gamma restated, not a derivation.
            Check("zero keys trail by C", "bookkeeping", check_unused_symbolic),
            Check("end to end with zero tokens", "sampled", check_unused_end_to_end),
        ),
        origin="ours",
    ),
    Lemma(
        label="CAP",
        title="The logit cap: L*(d, B) bit-carrying tokens, exactly (ours)",
        reference="docs/theorem.md#cap (beyond the papers)",
        statement=(
            "With every logit in [-B, B], L' tokens fit iff some eps has a family of L' "
            "keys (d >= d_min(L', eps)) and C_min(L', T_K + L - L', eps, eta) <= B; fitting "
            "is monotone in L', and the bound is (1 - H2(delta)) d L*(d, B)."
        ),
        uses=("L1", "UNUSED", "THM", "C1"),
        code=("lowerbound.logit_cap.plan_under_cap", "lowerbound.logit_cap.fits_under_cap",
              "lowerbound.logit_cap.max_carrying_tokens",
              "lowerbound.logit_cap.max_tokens_under_cap", "lowerbound.families.eps_floor",
              "lowerbound.families.distinct_keys_scale",
              "reduction.regime.plan_regime",
              "reduction.var_head.var_head_attention",
              "reduction.public.PublicParams.max_abs_logit",
              "reduction.public.PublicParams.scale"),
        tests=_TESTS_CAP,
        checks=(
            Check("fitting is monotone in L': the gamma half", "proved",
                  check_monotone_symbolic),
            Check("fitting is monotone in L': the eps floor half", "exhaustive",
                  check_floor_monotone_exhaustive, perturbed_floor_monotone_exhaustive),
            Check("Hoeffding eps floor", "proved", check_floor_symbolic),
            Check("plans certified, L*+1 refuted", "certified", check_plans_certified,
                  perturbed_plans_certified),
            Check("bisection = scan, small cases", "exhaustive", check_bisection_exhaustive,
                  perturbed_bisection_exhaustive),
            # A grid scan and the exact search agree: evidence, and no certificate.
            Check("L*+1 fails on a fine grid", "consistency", check_one_more_token_grid),
            # plan_under_cap against lowerbound.jl.max_keys and the C1/theorem bounds.
            Check("no cap: theorem and C1", "consistency", check_no_cap_is_theorem_and_c1),
        ),
        coq=(
            CoqProof("THM_assembly.v", "thm_cap_iff"),
            CoqProof("THM_assembly.v", "thm_c_min_le_cap"),
            CoqProof("CERT_instances.v", "cert_var_cap_256"),
            CoqProof("CERT_instances.v", "cert_var_cap_512"),
        ),
        origin="ours",
    ),
)
