"""FEASIBLE -- every compressor lies on the feasible side of L4 (ours).

Purpose: the registry entry and checks of Proposition FEASIBLE (docs/theorem.md#feasible):
for any compressor, budget and bit error rate p, message bits >= N (1 - H2(p)). A measured
point on the wrong side means the harness leaks or mis-measures. Proved in
docs/theorem.md (L4's steps need no correctness); the checks test the code that
evaluates it.

Main statement: L4 read backwards -- a message of m bits from which N uniform bits are
decoded with average error p has m >= N (1 - H2(p)), for every p in [0, 1].

References: docs/theorem.md#feasible and #fano (ours); Cover & Thomas section 2.10 (Fano).
"""

from __future__ import annotations

from fractions import Fraction

from lowerbound.entropy import information_bits
from lowerbound.intervals import Enclosure, enclose, iv_binary_entropy
from proofs.exhaustive import cached_exhaustive_table
from proofs.registry import Check, CheckResult, CoqProof, Lemma

__all__ = ["LEMMAS"]


def _near(value: float, enc: Enclosure, scale: int) -> bool:
    slack = Fraction(1, 10**12) * max(1, scale)
    return enc.lo - slack <= Fraction(value) <= enc.hi + slack


def check_every_tiny_protocol() -> CheckResult:
    """FEASIBLE: information_bits (float) agrees with the enclosure on every optimal protocol."""
    rows = cached_exhaustive_table(3)  # N <= 3 by enumeration; N = 4 is covered by L4's check
    ok = all(r.holds and _near(information_bits(r.n, float(r.average_error)),
                               r.information_bits, r.n) for r in rows)
    return CheckResult.of(ok, f"{len(rows)} (N, m) pairs, each the best of all protocols")


def _eviction(factor: Fraction) -> CheckResult:
    ok = True
    for k in range(0, 21):
        f = Fraction(k, 20)
        info = enclose(1 - iv_binary_entropy((1 - f) / 2))
        ok &= info.hi <= factor * f
    return CheckResult.of(ok, "f = 0, 1/20, ..., 1: information "
                          + ("never exceeds" if ok else "exceeds") + f" {factor} x the kept bits")


def check_eviction_prediction() -> CheckResult:
    """FEASIBLE: keeping a fraction f of the rows (error (1-f)/2) gives 1 - H2((1-f)/2) <= f."""
    return _eviction(Fraction(1))


def perturbed_eviction_prediction() -> CheckResult:
    """FEASIBLE (must fail): the same certificate for the claim 1 - H2((1-f)/2) <= 0.9 f."""
    return _eviction(Fraction(9, 10))


def check_raw_bits_protocol() -> CheckResult:
    """FEASIBLE: information_bits agrees with the enclosure for m raw bits of N = 64, p <= 1 too.

    Bob reads m bits from the message and guesses the other N - m (error (N-m)/(2N)); the
    inverted decoder answers the complement of the same guesses (error (N+m)/(2N) >= 1/2)
    and knows exactly as much. Fano's N (1 - H2(p)) is <= m for both, and the float
    information_bits is never clamped at p = 1/2.
    """
    n = 64
    ok = True
    for m in range(n + 1):
        for p in (Fraction(n - m, 2 * n), Fraction(n + m, 2 * n)):
            enc = enclose(n * (1 - iv_binary_entropy(p)))
            ok &= enc.hi <= m and _near(information_bits(n, float(p)), enc, n)
    ok &= information_bits(n, 1.0) == n  # wrong on every bit: knows every bit
    return CheckResult.of(ok, "m = 0..64, errors (N-m)/(2N) and (N+m)/(2N) (inverted)")


LEMMAS = (
    Lemma(
        label="FEASIBLE",
        title="Every compressor is on the feasible side (ours)",
        reference="ours, beyond the papers (docs/theorem.md#feasible)",
        statement=(
            "For any compressor with message m bits and observed average bit error p, "
            "m >= N (1 - H2(p)) up to sampling noise; a violation exposes a leak."
        ),
        uses=("L4",),
        code=(
            "lowerbound.entropy.information_bits",
            "lowerbound.fano.information_bits_lower_confidence",
            "lowerbound.fano.fano_information_bits",
            "lowerbound.fano.fano_information_lower_confidence",
            "reduction.isolation.parties.ProcessParties",
        ),
        tests=(
            "tests/proofs/test_proofs_checks.py::test_feasible_side_on_every_tiny_protocol",
            "tests/lowerbound/test_lowerbound_properties.py::test_information_bits_at_most_message",
            "tests/lowerbound/test_fano_exact.py::test_information_is_symmetric_and_never_clamped",
            "tests/lowerbound/test_fano_exact.py::test_a_decoder_wrong_on_every_bit_is_credited_with_every_bit",
            "tests/lowerbound/test_fano_exact.py::test_one_bit_confidence_is_the_min_over_its_one_sided_ends",
            "tests/reduction/test_hostile_caches.py::test_inverted_answers_are_a_leak",
            "tests/reduction/test_hostile_caches.py::test_a_lying_len_is_not_counted",
            "tests/reduction/test_hostile_caches.py::test_seed_recovery_without_side_channel_is_a_leak",
            "tests/reduction/test_hostile_caches.py::test_the_verifier_never_imports_the_cache",
            "tests/reduction/test_precision_reduction.py::test_a_file_leak_at_b8_is_caught",
            "tests/reduction/test_adversarial.py::test_adversarial_delta_errs_on_about_delta_and_reports_its_bound",
        ),
        checks=(
            Check("every tiny protocol", "consistency", check_every_tiny_protocol),
            Check("eviction keeps f of the information", "certified",
                  check_eviction_prediction, perturbed_eviction_prediction),
            Check("raw-bits protocol", "consistency", check_raw_bits_protocol),
        ),
        # The leak rule's false-alarm bound (Kraft + a union over messages and codes).
        coq=(
            *(CoqProof("LEAK_kraft.v", name) for name in (
                "kraft", "kraft_tail", "leak_union_bound", "leak_certificate_sound")),
            CoqProof("STATEMENTS.v", "leak_pinned"),
        ),
        origin="ours",
    ),
)
