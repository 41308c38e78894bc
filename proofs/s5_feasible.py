"""FEASIBLE -- every compressor lies on the feasible side of L4 (ours, section 5).

Purpose: the registry entry and checks of the section-5 claim that for any compressor,
budget and observed bit error rate p, message bits >= N (1 - H2(p)) up to sampling noise.
A measured point on the wrong side means the harness leaks or mis-measures. *Stated*;
the checks are evidence.

Main statement: L4 read backwards -- a message of m bits from which N uniform bits are
decoded with average error p has m >= N (1 - H2(min(p, 1/2))).

References: THEOREM.md section 5 (ours); Cover & Thomas section 2.10 (Fano).
"""

from __future__ import annotations

from fractions import Fraction

from lowerbound.entropy import information_bits
from proofs._intervals import enclose, iv_binary_entropy
from proofs.exhaustive import cached_exhaustive_table
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS"]


def check_every_tiny_protocol() -> CheckResult:
    """FEASIBLE: every protocol with N <= 4, m < N has m >= N (1 - H2(p)) at its best p."""
    rows = cached_exhaustive_table(3)  # N <= 3 by enumeration; N = 4 is covered by L4's check
    ok = all(r.holds and information_bits(r.n, float(r.average_error)) <= r.m + 1e-12
             for r in rows)
    return CheckResult.of(ok, f"{len(rows)} (N, m) pairs, each the best of all protocols")


def check_eviction_prediction() -> CheckResult:
    """FEASIBLE: keeping a fraction f of the rows (error (1-f)/2) gives 1 - H2((1-f)/2) <= f."""
    ok = True
    for k in range(0, 21):
        f = Fraction(k, 20)
        info = enclose(1 - iv_binary_entropy((1 - f) / 2))
        ok &= info.hi <= f
    return CheckResult.of(ok, "f = 0, 1/20, ..., 1: information never exceeds the kept bits")


def check_raw_bits_protocol() -> CheckResult:
    """FEASIBLE: sending m raw bits (error (N-m)/(2N)) is on the feasible side for N = 64."""
    n = 64
    ok = all(information_bits(n, (n - m) / (2 * n)) <= m + 1e-9 for m in range(n + 1))
    return CheckResult.of(ok, "m = 0..64")


LEMMAS = (
    Lemma(
        label="FEASIBLE",
        title="Every compressor is on the feasible side (ours)",
        reference="THEOREM.md section 5 (beyond the papers)",
        statement=(
            "For any compressor with message m bits and observed average bit error p, "
            "m >= N (1 - H2(p)) up to sampling noise; a violation exposes a leak."
        ),
        uses=("L4",),
        code=(
            "lowerbound.entropy.information_bits",
            "lowerbound.entropy.information_bits_lower_confidence",
        ),
        tests=(
            "tests/test_proofs_checks.py::test_feasible_side_on_every_tiny_protocol",
            "tests/test_lowerbound_properties.py::test_information_bits_at_most_message",
        ),
        checks=(
            Check("every tiny protocol", "exhaustive", check_every_tiny_protocol),
            Check("eviction keeps f of the information", "certified",
                  check_eviction_prediction),
            Check("raw-bits protocol", "example", check_raw_bits_protocol),
        ),
        origin="ours",
    ),
)
