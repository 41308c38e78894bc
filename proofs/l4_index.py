"""L4 -- the Index lower bound, explicit: (1 - H2(delta)) N message bits.

Purpose: the registry entry and checks of Lemma L4 (docs/theorem.md#l4).

Main statement (L4): for uniform x in {0,1}^N, if Bob recovers every bit x_j from
Alice's single m-bit message with error <= delta < 1/2 (public coins allowed), then
m >= (1 - H2(delta)) N. Proof chain: m >= H(M) >= I(X; M) = sum_j I(X_j; M | X_<j)
>= sum_j (1 - H(X_j | M)) >= sum_j (1 - H2(delta_j)) >= N (1 - H2(delta_bar)) (Fano per
bit, then concavity of H2), and H2 increases on [0, 1/2].

References: Kremer, Nisan & Ron (1999) for Omega(N); Cover & Thomas, section 2.10
(Fano); docs/theorem.md#l4 (the explicit form). Lemma number in arXiv 2503.14881 unknown.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from proofs._perturb import all_caught
from proofs.certificates import PARAMETER_TABLE, certify_bound
from proofs.exhaustive import brute_force_errors, cached_exhaustive_table, dp_errors
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def check_entropy_shape() -> CheckResult:
    """L4: H2'' = -1/(p(1-p) ln 2) < 0 (concave) and H2' = log2((1-p)/p) > 0 on (0, 1/2)."""
    p = sp.symbols("p", positive=True)
    h2 = -(p * sp.log(p) + (1 - p) * sp.log(1 - p)) / sp.log(2)
    second = sp.simplify(sp.diff(h2, p, 2) + 1 / (p * (1 - p) * sp.log(2)))
    first = sp.simplify(sp.diff(h2, p) - sp.log((1 - p) / p) / sp.log(2))
    first = sp.simplify(sp.expand_log(first, force=True))
    q = sp.symbols("q", positive=True)  # p = 1/(2 + q) covers (0, 1/2)
    slope_at = sp.simplify(sp.log((1 - p) / p).subs(p, 1 / (2 + q)))
    ok = second == 0 and first == 0 and bool(slope_at.is_positive)
    return CheckResult.of(ok, f"H2'' + 1/(p(1-p) ln 2) = {second}; H2' - log2((1-p)/p) = "
                          f"{first}; log((1-p)/p) at p = 1/(2+q) is {slope_at} > 0")


def _exhaustive(strength: Fraction, enumerated_only: bool = False) -> CheckResult:
    """Every row of the table (or only the rows 0 < m < N, whose optimum comes from the
    enumeration, not from the identity protocol) against strength x the bound."""
    rows = tuple(r for r in cached_exhaustive_table()
                 if not enumerated_only or 0 < r.m < r.n)
    ok = all(r.holds_at(strength) for r in rows)
    lossy = [r for r in cached_exhaustive_table() if 0 < r.m < r.n]
    slack = min(Fraction(r.m) / r.information_bits.hi for r in lossy)
    parts = [f"N={r.n} m={r.m}: {r.average_error} ({r.method}), N(1-H2) in "
             f"{r.information_bits} <= {r.m}" for r in rows]
    parts.append(f"m / (N(1-H2)) is 1 at m = N (the bound is attained, so any stronger "
                 f"bound fails there) and >= {float(slack):.4f} for 0 < m < N (Fano's slack)")
    if strength != 1:
        parts.append(f"checked against {strength} x the bound: "
                     + ("holds" if ok else "fails"))
    return CheckResult.of(ok, "; ".join(parts))


def check_exhaustive() -> CheckResult:
    """L4: over every protocol with N <= 4, m <= N: least average bit error >= H2^{-1}(1 - m/N)."""
    return _exhaustive(Fraction(1))


def perturbed_exhaustive() -> CheckResult:
    """L4 (must fail): the same enumeration against a bound 1.6 times too strong (refuted
    by the identity protocol at m = N), and, on the enumerated rows 0 < m < N alone,
    against one 1.7 times too strong (refuted by an enumerated optimum: Fano's slack there
    is 1.64, so the enumeration itself must catch it)."""
    return all_caught(("1.6 x, every row", _exhaustive(Fraction(8, 5))),
                      ("1.7 x, enumerated rows only", _exhaustive(Fraction(17, 10),
                                                                 enumerated_only=True)))


def check_methods_agree() -> CheckResult:
    """L4: the subset DP equals the literal enumeration of every f for N <= 3, m < N."""
    pairs = [(n, m) for n in range(1, 4) for m in range(n)]
    bad = [(n, m) for n, m in pairs if dp_errors(n, m) != brute_force_errors(n, m)]
    return CheckResult.of(not bad, f"{len(pairs)} (N, m) pairs agree" if not bad
                          else f"disagree at {bad}")


def check_bound_certified() -> CheckResult:
    """L4: lowerbound's float (1 - H2(delta)) N lies in its enclosure, delta in {0, 1/10, 1/4}."""
    lines, ok = [], True
    for p in PARAMETER_TABLE[:3]:
        for delta in (Fraction(0), Fraction(1, 10), Fraction(1, 4)):
            cert = certify_bound(p.cached_tokens * p.d, delta)
            ok &= cert.holds
            lines.append(f"N={cert.n_bits} delta={delta}: {cert.bits}")
    return CheckResult.of(ok, "; ".join(lines))


LEMMAS = (
    Lemma(
        label="L4",
        title="Index lower bound, explicit",
        reference="Kremer, Nisan & Ron (1999); arXiv 2503.14881, lemma number unknown",
        statement=(
            "If Bob learns each of Alice's N uniform bits with error <= delta < 1/2 from "
            "one message (public coins allowed), the message has >= (1 - H2(delta)) N bits."
        ),
        uses=(),
        code=(
            "lowerbound.bound.index_lower_bound_bits",
            "lowerbound.entropy.binary_entropy",
            "lowerbound.entropy.binary_entropy_inverse",
            "proofs.exhaustive.index_optimum",
        ),
        tests=(
            "tests/proofs/test_proofs_checks.py::test_exhaustive_index_check_is_fast_and_holds",
            "tests/proofs/test_proofs_checks.py::test_dp_matches_enumeration",
            "tests/lowerbound/test_lowerbound_properties.py::test_index_bound_decreases_in_delta",
        ),
        checks=(
            Check("H2 concave and increasing on [0, 1/2]", "proved", check_entropy_shape),
            Check("every protocol for N <= 4", "exhaustive", check_exhaustive,
                  perturbed_exhaustive),
            Check("DP equals enumeration", "consistency", check_methods_agree),
            Check("(1 - H2(delta)) N float vs enclosure", "consistency",
                  check_bound_certified),
        ),
        coq=(
            *(CoqProof("L4_entropy.v", name) for name in (
                "l4_gibbs", "l4_jensen", "l4_h2_sym", "l4_fano_identity", "l4_fano_one_bit",
                "l4_h2_half", "l4_h2_monotone", "l4_average_bits")),
            # The counting form for deterministic protocols (Hamming ball bound).
            *(CoqProof("INDEX_counting.v", name) for name in (
                "ball_center", "index_counting", "ball_entropy_bound", "index_bound")),
            CoqProof("STATEMENTS.v", "fano_pinned"),
            CoqProof("STATEMENTS.v", "index_pinned"),
        ),
    ),
)
