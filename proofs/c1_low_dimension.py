"""C1 -- the low-dimension regime: Omega(d min{L, e^{Theta(d)}}) bits.

Purpose: the registry entry and checks of Corollary C1 (docs/theorem.md#c1).

Main statement (C1): with d < d_min only L' = max{L' <= L : L'(L'-1)/2 e^{-eps^2 d/2} < 1}
near-orthogonal keys are guaranteed, so the reduction embeds N = L' d bits and every
(eta, delta)-correct algorithm keeps >= (1 - H2(delta)) d L' bits; L' = e^{Theta(d)}.

References: arXiv 2502.15955 (Haris & Onak; lemma number unknown); docs/theorem.md#c1.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from lowerbound.bound import low_dimension_bound_bits, theorem_bound_bits
from lowerbound.jl import d_min, max_keys
from proofs.certificates import PARAMETER_TABLE, certify_max_keys
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS"]


def check_growth_symbolic() -> CheckResult:
    """C1: the root x* of x(x-1)/2 = e^{eps^2 d/2} has ln x* / d -> eps^2/4: L' = e^{Theta(d)}."""
    x, d, e = sp.symbols("x d epsilon", positive=True)
    roots = [r for r in sp.solve(x * (x - 1) / 2 - sp.exp(e**2 * d / 2), x)]
    positive = [r for r in roots if r.subs({d: 1, e: sp.Rational(1, 2)}).evalf() > 0]
    if len(positive) != 1:
        return CheckResult.of(False, f"expected one positive root, got {roots}")
    lim = sp.limit(sp.log(positive[0]) / d, d, sp.oo)
    return CheckResult.of(sp.simplify(lim - e**2 / 4) == 0, f"x* = {positive[0]}; "
                          f"lim ln x*/d = {lim}")


def _max_keys_table(offset: int) -> CheckResult:
    lines, ok = [], True
    for eps in (Fraction(1, 2), Fraction(3, 4)):
        for d in range(8, 49, 8):
            claimed = max_keys(d, eps) + offset if offset else None
            lp, failures = certify_max_keys(d, eps, claimed=claimed)
            ok &= not failures
            lines.append(f"eps={eps} d={d}: L'={lp}" + (f" FAILED {failures}" if failures
                                                       else ""))
    return CheckResult.of(ok, "; ".join(lines))


def check_max_keys_certified() -> CheckResult:
    """C1: L'(L'-1)/2 < e^{eps^2 d/2} <= (L'+1)L'/2, proved for d = 8, 16, ..., 48."""
    return _max_keys_table(0)


def perturbed_max_keys_certified() -> CheckResult:
    """C1 (must fail): the same certificates for the claim L' + 1 on every row."""
    return _max_keys_table(1)


def check_agrees_with_theorem() -> CheckResult:
    """C1: at d >= d_min the C1 bound equals the theorem's; below it, it is L' d < L d."""
    ok, lines = True, []
    for p in PARAMETER_TABLE:
        dm = d_min(p.cached_tokens, p.eps)
        same = low_dimension_bound_bits(dm, p.cached_tokens, p.eps) == theorem_bound_bits(
            dm, p.cached_tokens, p.eps)
        below = low_dimension_bound_bits(dm - 1, p.cached_tokens, p.eps)
        lp = max_keys(dm - 1, p.eps, cap=p.cached_tokens)
        ok &= same and below == lp * (dm - 1) and lp < p.cached_tokens
        lines.append(f"{p.name}: at d_min-1={dm - 1}, L'={lp} < L={p.cached_tokens}")
    return CheckResult.of(ok, "; ".join(lines))


LEMMAS = (
    Lemma(
        label="C1",
        title="Low dimension: Omega(d min{L, e^{Theta(d)}})",
        reference="arXiv 2502.15955 (Haris & Onak), lemma number unknown",
        statement=(
            "For any d, the reduction on the L' = max_keys(d, eps) <= L tokens whose keys "
            "L1 still guarantees gives >= (1 - H2(delta)) d L' bits, with L' = e^{Theta(d)}."
        ),
        uses=("L1", "THM"),
        code=("lowerbound.jl.max_keys", "lowerbound.bound.low_dimension_bound_bits",
              "reduction.regime.plan_regime",
              "reduction.regime.Regime"),
        tests=(
            "tests/lowerbound/test_lowerbound_properties.py::test_max_keys_inverts_d_min",
            "tests/lowerbound/test_lowerbound_properties.py::test_low_dimension_bound_at_most_theorem",
            "tests/reduction/test_low_dimension.py::test_must_show_var256_at_d16",
            "tests/reduction/test_low_dimension.py::test_planned_runs_decode_every_bit",
            "tests/reduction/test_low_dimension.py::test_attack_sweep_runs_below_d_min",
        ),
        checks=(
            Check("L' = e^{Theta(d)}", "proved", check_growth_symbolic),
            Check("max_keys certified", "certified", check_max_keys_certified,
                  perturbed_max_keys_certified),
            Check("agrees with the theorem at d_min", "consistency", check_agrees_with_theorem),
        ),
    ),
)
