"""CERT -- the leak rule as a compression certificate (ours).

Purpose: the registry entry and checks of Lemma CERT (docs/theorem.md#certificate): with a
family of prefix codes of X given Bob's output fixed before the run, a code shorter than
N - S - g(S/8) - log2(|family| / alpha) certifies a leak with false-alarm probability at
most alpha, with no model of the errors. Proved in docs/theorem.md (Kraft and a union
bound); the checks enumerate what the proof rests on.

Main statement: Pr[some code c has len_c(X | Y) <= N - S - g(S/8) - t] <= |family| 2^-t
whenever Y depends on X only through a message of S bits (S a whole number of bytes).

References: docs/theorem.md#certificate (ours); Cover & Thomas, Thm 5.2.1 (Kraft).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from lowerbound.certificate import family_size, message_allowance_bits
from lowerbound.codes import CODES, SymbolPair, code_lengths
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS"]

_SHAPES = ((1, (2, 4)), (2, (2, 2)), (3, (1, 3)))  # (b, tokens x d): 256, 256, 512 strings


def _kraft(shorten: int) -> CheckResult:
    """Kraft sums of every enumerative code over every x, for a few fixed y."""
    worst = Fraction(0)
    for b, shape in _SHAPES:
        q, n = 2**b, shape[0] * shape[1]
        xs = [np.array(v).reshape(shape) for v in itertools.product(range(q), repeat=n)]
        for y in (np.zeros(shape, dtype=int), np.arange(n).reshape(shape) % q):
            for name, code in CODES.items():
                if name == "lzma":  # a prefix code by construction (header + stream)
                    continue
                total = sum((Fraction(1, 2 ** (code(SymbolPair(x, y, b)) - shorten))
                             for x in xs), Fraction(0))
                worst = max(worst, total)
    return CheckResult.of(worst <= 1, f"largest Kraft sum {float(worst):.4f} over 3 "
                          "shapes x 2 outputs x 5 enumerative codes")


def check_kraft() -> CheckResult:
    """CERT: every enumerative code satisfies Kraft's inequality, by enumeration."""
    return _kraft(0)


def perturbed_kraft() -> CheckResult:
    """CERT (must fail): the same codes one bit shorter break Kraft's inequality."""
    return _kraft(1)


def _union_bound(bob: Callable[[np.ndarray, int], np.ndarray]) -> CheckResult:
    """Pr over all 2^8 strings x of (max slack >= t) against |family| 2^-t, t = 1..8."""
    n_bits, family = 8, family_size(1)
    ok, worst = True, 0.0
    for s in (0, 8):
        slacks = []
        for bits in itertools.product(range(2), repeat=n_bits):
            x = np.array(bits).reshape(2, 4)
            lengths = code_lengths(SymbolPair(x, bob(x, s), 1))
            slacks.append(n_bits - s - message_allowance_bits(s) - min(lengths.values()))
        for t in range(1, 9):
            rate = sum(d >= t for d in slacks) / 2**n_bits
            worst = max(worst, rate / (family * 2.0**-t))
            ok &= rate <= family * 2.0**-t
    return CheckResult.of(ok, f"largest ratio of Pr[slack >= t] to |family| 2^-t: {worst:.3f}")


def _honest(x: np.ndarray, s: int) -> np.ndarray:
    """Bob reads the message (the first s bits of x) and outputs zeros for the rest."""
    y = np.zeros_like(x).ravel()
    y[:s] = x.ravel()[:s]
    return y.reshape(x.shape)


def check_union_bound() -> CheckResult:
    """CERT: every x of 8 bits, messages of 0 and 8 bits, the lemma's bound holds."""
    return _union_bound(_honest)


def perturbed_union_bound() -> CheckResult:
    """CERT (must fail): a Bob who knows x outright from the message breaks the bound."""
    return _union_bound(lambda x, s: x.copy())


LEMMAS = (
    Lemma(
        label="CERT",
        title="The leak rule as a compression certificate (ours)",
        reference="ours, beyond the papers (docs/theorem.md#certificate)",
        statement=(
            "With a family C of prefix codes of X given Bob's output fixed in advance, "
            "min_c len_c(X | Y) < N - S - g(S/8) - log2(|C| / alpha) happens with "
            "probability at most alpha unless the cache leaks, whatever its errors."
        ),
        uses=(),
        code=(
            "lowerbound.codes.code_lengths",
            "lowerbound.certificate.certify",
            "lowerbound.certificate.certify_pooled",
            "lowerbound.certificate.exceeds",
            "lowerbound.certificate.message_allowance_bits",
            "reduction.leak.LeakLedger",
        ),
        tests=(
            "tests/lowerbound/test_certificate.py::test_every_enumerative_code_satisfies_kraft",
            "tests/lowerbound/test_certificate.py::test_lzma_code_is_a_prefix_code_that_decodes",
            "tests/lowerbound/test_certificate.py::test_the_verdict_is_exact_at_its_boundary",
            "tests/lowerbound/test_certificate.py::test_false_alarm_rate_on_honest_protocols_stays_below_alpha",
            "tests/lowerbound/test_certificate.py::test_every_non_empty_message_the_old_rule_flags_is_certified",
            "tests/reduction/test_structured_leaks.py::test_verify_certifies_structured_errors",
            "tests/reduction/test_structured_leaks.py::test_a_leak_outranks_a_later_failure",
            "tests/reduction/test_no_false_alarms.py::test_every_registered_cache_twenty_seeds_at_var256",
        ),
        checks=(
            Check("every enumerative code is a prefix code", "exhaustive", check_kraft,
                  perturbed_kraft),
            Check("the union bound on every 8-bit instance", "exhaustive", check_union_bound,
                  perturbed_union_bound),
        ),
        origin="ours",
        section="certificate",
    ),
)
