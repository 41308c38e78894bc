"""THM -- the explicit theorem: (1 - H2(delta)) d L_{K-1} bits of KV cache.

Purpose: the registry entry and checks of the explicit theorem (docs/theorem.md#thm).

Main statement: for any schedule, any eps < 1 with d >= d_min(L_{K-1}, eps), any eta < 1
and delta < 1/2, every (eta, delta)-correct streaming attention algorithm keeps
>= (1 - H2(delta)) d L_{K-1} bits; the reduction runs with C = C_min(L_{K-1}, T_K, eps,
eta). If the second-to-last map has side >= n/rho this is >= (1 - H2(delta)) d n^2/rho^2,
and d_min = O(log n) for fixed eps: Omega(n^2 d) for d = Omega(log n).

References: arXiv 2503.14881 (main theorem; number unknown); arXiv 2502.15955.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from lowerbound.bound import theorem_bound_bits
from proofs.certificates import PARAMETER_TABLE, certify_bound, certify_c_min, certify_d_min
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def check_chain_symbolic() -> CheckResult:
    """THM: N = L d bits of Index; L >= T_{K-1} >= (n/rho)^2 gives (1-H2(delta)) d n^2/rho^2."""
    d, n_keys, side, n, rho, h = sp.symbols("d L s n rho h", positive=True)
    bound = (1 - h) * d * n_keys  # L4 applied to N = L d, with h = H2(delta) < 1
    # L >= s^2 (the second-to-last map alone) and s >= n / rho:
    lower = bound.subs(n_keys, side**2).subs(side, n / rho)
    ok = sp.simplify(lower - (1 - h) * d * n**2 / rho**2) == 0
    return CheckResult.of(ok, f"(1-h) d L >= (1-h) d s^2 >= {lower}")


def check_d_min_logarithmic() -> CheckResult:
    """THM: d*(L = n^2) = 2 ln(L(L-1)/2)/eps^2 ~ (8/eps^2) ln n, so d_min = O(log n)."""
    n, e = sp.symbols("n epsilon", positive=True)
    d_star = 2 * sp.log(n**2 * (n**2 - 1) / 2) / e**2
    lim = sp.limit(d_star / sp.log(n), n, sp.oo)
    return CheckResult.of(sp.simplify(lim - 8 / e**2) == 0, f"lim d*/ln n = {lim}")


def _table(below_d_min: bool) -> CheckResult:
    lines, ok = [], True
    for p in PARAMETER_TABLE:
        dm = certify_d_min(p.cached_tokens, p.eps)
        cm = certify_c_min(p.cached_tokens, p.last_tokens, p.eps, p.eta)
        d = dm.d_min - 1 if below_d_min else p.d
        n_bits = p.cached_tokens * d
        bd = certify_bound(n_bits, p.delta)
        # theorem_bound_bits refuses d < d_min, so the claim below d_min cannot be certified
        reported = (theorem_bound_bits(d, p.cached_tokens, p.eps, p.delta)
                    if d >= dm.d_min else None)
        row_ok = (dm.holds and cm.holds and bd.holds and reported is not None
                  and bd.bits.lo == bd.bits.hi == reported == n_bits)
        ok &= row_ok
        lines.append(f"{p.name}: d={d} >= d_min={dm.d_min}, C_min={float(cm.c):.6g}, "
                     f"bound {bd.bits} bits" + ("" if row_ok else " FAILED"))
    return CheckResult.of(ok, "; ".join(lines))


def check_table_certified() -> CheckResult:
    """THM: on every row d >= d_min, C_min certified, and the bound is exactly L d (delta=0)."""
    return _table(below_d_min=False)


def perturbed_table_certified() -> CheckResult:
    """THM (must fail): the same certificates for the claim at d = d_min - 1 on every row."""
    return _table(below_d_min=True)


def check_end_to_end() -> CheckResult:
    """THM: the protocol on schedule 1,2,4 (d=16, exact cache, seed 0) decodes all N bits."""
    from reduction.protocol import run_verification
    from reduction.schedule import Schedule

    result = run_verification(Schedule.parse("1,2,4"), 16, 0.75, 0.25, seeds=1,
                              isolation="inline")
    run = result.runs[0]
    bound = theorem_bound_bits(16, 5, Fraction(3, 4))
    ok = run.bit_errors == 0 and run.message_bits >= bound
    return CheckResult.of(ok, f"{run.bit_errors} errors of {run.n_bits}; message "
                          f"{run.message_bits} bits >= bound {bound:.0f}")


LEMMAS = (
    Lemma(
        label="THM",
        title="Explicit theorem: Omega(n^2 d) bits of KV cache",
        reference="arXiv 2503.14881, main theorem (number unknown)",
        statement=(
            "For d >= d_min(L_{K-1}, eps), eta < 1 and delta < 1/2, every "
            "(eta, delta)-correct algorithm keeps >= (1 - H2(delta)) d L_{K-1} bits, "
            "which is Omega(n^2 d) when the second-to-last map has side Theta(n)."
        ),
        uses=("L1", "L2", "L3", "L4"),
        code=(
            "lowerbound.bound.theorem_bound_bits",
            "reduction.protocol.run_verification",
            "reduction.parties.alice_message",
            "reduction.parties.bob_outputs",
        ),
        tests=(
            "tests/lowerbound/test_lowerbound_properties.py::test_theorem_bound_is_n_at_delta_zero",
            "tests/lowerbound/test_lowerbound_properties.py::test_theorem_rejects_d_below_d_min",
            "tests/kvbound/test_constants_cli.py::test_constants_default_json",
        ),
        checks=(
            Check("from L4 to the bit count", "bookkeeping", check_chain_symbolic),
            Check("d_min = O(log n)", "proved", check_d_min_logarithmic),
            Check("constants certified on the table", "certified", check_table_certified,
                  perturbed_table_certified),
            Check("end-to-end protocol", "sampled", check_end_to_end),
        ),
        coq=(
            # exists one family, for all C >= C_min: every bit decodes (L1 + L2 + L3)
            CoqProof("THM_assembly.v", "thm_main"),
            CoqProof("THM_assembly.v", "thm_reduction_decodes"),
            CoqProof("THM_assembly.v", "decodes_on_family"),
            CoqProof("STATEMENTS.v", "thm_main_pinned"),
            CoqProof("STATEMENTS.v", "thm_reduction_pinned"),
        ),
    ),
)
