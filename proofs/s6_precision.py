"""PREC -- values on 2^b levels: a bound that grows with the accuracy asked for (ours).

Purpose: the registry entry and checks of Lemma PREC (docs/theorem.md#prec), implemented
in :mod:`lowerbound.precision` and :mod:`lowerbound.fano` (docs/theorem.md#fano).

Main statement (PREC): with values m 2^-b and target weight >= 1/(1+gamma), the observed
ranges of all adjacent levels are disjoint under relative error eta iff
gamma < (1 - eta (2^(b+1) - 3)) / ((1+eta) 2^b V) (the top pair binds); as gamma -> 0,
iff eta < 1/(2^(b+1) - 3). Additive error: iff gamma (V + 2 eta) < 2^-b - 2 eta. Bob
decodes with the 2^b - 1 gap midpoints; Fano for 2^b symbols gives
L d (b - H2(delta) - delta log2(2^b - 1)) bits; fp16 holds every level for b <= 11.

References: docs/theorem.md#prec, #fano; Cover & Thomas Thm 2.10.1; IEEE 754-2019.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.fano import fano_information_bits, worst_error_rate
from lowerbound.precision import (
    VALUE_DTYPE_BITS,
    bits_per_value_auto,
    level_gamma_target,
    level_ranges,
    level_thresholds,
    levels_separate,
    multilevel_bound_bits,
)
from lowerbound.softmax import gamma_is_below, scale_for_gamma
from proofs._intervals import IV, enclose, iv_binary_entropy, iv_fraction
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS"]


def check_top_pair_symbolic() -> CheckResult:
    """PREC: (1+eta)(m/q + gamma V) < (1-eta)(m+1)/q iff gamma < (1-eta-2 eta m)/((1+eta) q V)."""
    m, q, g, eta, v = sp.symbols("m q gamma eta V", positive=True)
    pair = (1 - eta) * (m + 1) / q - (1 + eta) * (m / q + g * v)
    solved = sp.solve(sp.Eq(pair, 0), g)
    bound = ((1 - eta) - 2 * eta * m) / ((1 + eta) * q * v)
    ok = len(solved) == 1 and sp.simplify(solved[0] - bound) == 0
    ok &= sp.simplify(sp.diff(pair, g) + (1 + eta) * v) == 0  # pair decreases in gamma
    ok &= sp.simplify(sp.diff(bound, m) + 2 * eta / ((1 + eta) * q * v)) == 0  # binds at top
    top = sp.simplify(bound.subs(m, q - 2) * q * v * (1 + eta))
    limit = sp.solve(sp.Eq(top, 0), eta)
    ok &= sp.simplify(limit[0] - 1 / (2 * q - 3)) == 0
    return CheckResult.of(ok, f"root gamma = {solved[0]}; decreasing in m; at m = q-2, "
                          f"gamma -> 0 needs eta < {limit[0]}")


def check_additive_symbolic() -> CheckResult:
    """PREC: additive eta separates iff gamma (V + 2 eta) < 1/q - 2 eta, the same for every m."""
    m, q, g, eta, v = sp.symbols("m q gamma eta V", positive=True)
    gap = (m + 1) / (q * (1 + g)) - eta - ((m / q + g * v) / (1 + g) + eta)
    numerator = sp.simplify(gap * (1 + g))
    expected = 1 / q - 2 * eta - g * (v + 2 * eta)
    ok = sp.simplify(numerator - expected) == 0 and sp.diff(expected, m) == 0
    return CheckResult.of(ok, f"(1+gamma) * gap = {sp.expand(numerator)}, free of m")


def check_all_pairs_exhaustive() -> CheckResult:
    """PREC: for b <= 6 and a grid of (gamma, eta), levels_separate = every pair disjoint."""
    cases = 0
    for b in range(1, 7):
        for eta in [Fraction(k, 512) for k in range(0, 40, 3)]:
            for g in [Fraction(k, 4096) for k in range(0, 400, 7)]:
                for additive in (False, True):
                    if additive and eta >= Fraction(1, 2):
                        continue
                    r = level_ranges(b, g, eta, additive=additive)
                    pairs = all(r[m][1] < r[m + 1][0] for m in range(len(r) - 1))
                    if pairs != levels_separate(b, g, eta, additive=additive):
                        return CheckResult.of(False, f"b={b} gamma={g} eta={eta}")
                    if pairs:
                        t = level_thresholds(b, g, eta, additive=additive)
                        if not all(r[m][1] < t[m] < r[m + 1][0] for m in range(len(t))):
                            return CheckResult.of(False, f"threshold outside gap b={b}")
                    cases += 1
    return CheckResult.of(True, f"{cases} (b, gamma, eta, error kind) cases")


def check_auto_b_boundary() -> CheckResult:
    """PREC: auto b is the largest with eta < 1/(2^(b+1)-3): b separates, b+1 never does."""
    ok, lines = True, []
    for k in range(1, 13):
        eta = Fraction(1, 2**k) + Fraction(1, 10**6)
        b = bits_per_value_auto(eta, dtype="float64")
        ok &= level_gamma_target(b, eta) > 0 >= level_gamma_target(b + 1, eta)
        ok &= not levels_separate(b + 1, 0, eta) and levels_separate(
            b, level_gamma_target(b, eta) / 2, eta)
        lines.append(f"eta=2^-{k}+1e-6: b={b}")
    return CheckResult.of(ok, "; ".join(lines))


def check_eta_one_percent() -> CheckResult:
    """PREC: eta = 1/100 gives b = 5; at var-256, eps = 3/4 the run's C keeps gamma below 5's."""
    eta = Fraction(1, 100)
    b = bits_per_value_auto(eta)
    target = level_gamma_target(b, eta)
    c = scale_for_gamma(424, 256, Fraction(3, 4), target / 2)  # the simulation's margin
    below = gamma_is_below(424, 256, c, Fraction(3, 4), target)
    ok = b == 5 and below and level_gamma_target(6, eta) < 0
    capped = bits_per_value_auto(eta, logit_cap=100, cached_tokens=424, last_tokens=256, d=64)
    return CheckResult.of(ok and capped == 5, f"b={b}, target {target}, C={c:.6f} keeps "
                          f"gamma below it: {below}; b=6 target {level_gamma_target(6, eta)}; "
                          f"under the cap 100 at d=64: b={capped}")


def check_dtype_exhaustive() -> CheckResult:
    """PREC: every m 2^-b (m < 2^b) is exact iff b <= VALUE_DTYPE_BITS: fp16 11, bf16 8, fp32 24."""
    def exact(b: int, cast: str) -> bool:
        for start in range(0, 2**b, 2**20):
            m = np.arange(start, min(2**b, start + 2**20), dtype=np.float64) / 2.0**b
            if cast == "float16":
                back = m.astype(np.float16).astype(np.float64)
            elif cast == "float32":
                back = m.astype(np.float32).astype(np.float64)
            else:  # bfloat16 = float32 with the low 16 bits cleared (round toward zero)
                bits = m.astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
                back = bits.view(np.float32).astype(np.float64)
            if not np.array_equal(back, m):
                return False
        return True

    tops = {name: VALUE_DTYPE_BITS[name] for name in ("float16", "bfloat16", "float32")}
    results = {name: (exact(top, name), exact(top + 1, name)) for name, top in tops.items()}
    ok = all(at and not above for at, above in results.values())
    return CheckResult.of(ok, "; ".join(f"{k}: b={v} exact, b+1 not" for k, v in tops.items()))


def check_fano_certified() -> CheckResult:
    """PREC: N(b - H2(p) - p log2(2^b-1)) enclosed for b <= 11, p on a grid; >= 0; 0 at p*."""
    ok, worst = True, 0.0
    for b in range(1, 12):
        for k in range(0, 33):
            p = Fraction(k, 32)
            loss = iv_binary_entropy(p) + iv_fraction(p) * IV.log(IV.mpf(2**b - 1)) / IV.log(2)
            enc = enclose(1000 * (b - loss))
            got = fano_information_bits(1000, float(p), b)
            ok &= enc.hi >= 0 and (enc.lo - Fraction(1, 10**6) <= Fraction(got)
                                   <= enc.hi + Fraction(1, 10**6) or (got == 0 and enc.lo <= 0))
            worst = max(worst, float(abs(Fraction(got) - enc.lo)))
        star = worst_error_rate(b)
        ok &= abs(fano_information_bits(10**6, float(star), b)) < 1e-6
        if b <= 8:
            ok &= multilevel_bound_bits(100, b, 0) == 100 * b
    return CheckResult.of(ok, f"33 rates x 11 b enclosed, largest deviation {worst:.2e}; "
                          "information 0 at p* = (2^b-1)/2^b")


def check_multilevel_end_to_end() -> CheckResult:
    """PREC: b = 3, exact attention, outputs scaled by 1 +- eta, decoded by midpoints: 0 errors."""
    from reduction.attention import attend
    from reduction.keys import sample_keys

    n, t, d, b, eta = 60, 16, 48, 3, Fraction(1, 20)  # eta < 1/13 = 1/(2^4 - 3)
    target = level_gamma_target(b, eta)
    c = scale_for_gamma(n, t, Fraction(3, 4), target / 2)
    key_rng, sym_rng = np.random.default_rng(9).spawn(2)
    keys = sample_keys(n, d, 0.75, key_rng).keys
    sym = sym_rng.integers(0, 2**b, size=(n, d))
    values = np.vstack([sym / 2**b, np.zeros((t, d))])
    out = attend(c * keys, np.vstack([keys, np.zeros((t, d))]), values)
    thresholds = np.array([float(x) for x in level_thresholds(b, target / 2, eta)])
    e = float(eta)
    worst_case = []
    for sign in (1 + e, 1 - e):  # the adversary's two extreme relative errors
        decoded = np.searchsorted(thresholds, out * sign, side="left")
        worst_case.append(int((decoded != sym).sum()))
    ok = sum(worst_case) == 0
    return CheckResult.of(ok, f"L={n}, d={d}, b={b}, eta={eta}: errors {worst_case} at "
                          f"C={c:.4f}")


LEMMAS = (
    Lemma(
        label="PREC",
        title="Precision: 2^b value levels and Fano for 2^b symbols (ours)",
        reference="docs/theorem.md#prec (beyond the papers)",
        statement=(
            "Values m 2^-b separate under relative error eta iff gamma < "
            "(1 - eta (2^(b+1)-3))/((1+eta) 2^b V) (as gamma -> 0: eta < 1/(2^(b+1)-3)); "
            "every algorithm with symbol error <= delta keeps "
            ">= L d (b - H2(delta) - delta log2(2^b-1)) bits."
        ),
        uses=("L2", "L3", "L4"),
        code=("lowerbound.precision.level_gamma_target", "lowerbound.precision.levels_separate",
              "lowerbound.precision.level_thresholds",
              "lowerbound.precision.bits_per_value_auto",
              "lowerbound.precision.multilevel_bound_bits",
              "lowerbound.fano.fano_information_bits",
              "lowerbound.fano.fano_information_lower_confidence"),
        tests=("tests/test_precision.py::test_b_plus_one_levels_fail_exactly",
               "tests/test_precision.py::test_eta_one_percent_gives_five_bits",
               "tests/test_precision.py::test_fano_information_every_rate"),
        checks=(
            Check("the top pair binds", "proved", check_top_pair_symbolic),
            Check("additive error", "proved", check_additive_symbolic),
            Check("all pairs = top pair, thresholds in gaps", "exhaustive",
                  check_all_pairs_exhaustive),
            Check("auto b and b + 1", "exhaustive", check_auto_b_boundary),
            Check("eta = 1/100 gives b = 5", "sampled", check_eta_one_percent),
            Check("value formats hold the levels", "exhaustive", check_dtype_exhaustive),
            Check("Fano for 2^b symbols enclosed", "certified", check_fano_certified),
            Check("multi-level decoding end to end", "sampled", check_multilevel_end_to_end),
        ),
        origin="ours",
    ),
)
