"""PREC -- values on 2^b levels: a bound that grows with the accuracy asked for (ours).

Purpose: the registry entry and checks of Lemma PREC (docs/theorem.md#prec), implemented
in :mod:`lowerbound.precision` and :mod:`lowerbound.fano` (docs/theorem.md#fano); the
Fano checks live in :mod:`proofs.prec_fano`.

Main statement (PREC): with values m 2^-b and target weight >= 1/(1+gamma), the observed
ranges of all adjacent levels are disjoint under relative error eta iff
gamma < (1 - eta (2^(b+1) - 3)) / ((1+eta) 2^b V) (the top pair binds); as gamma -> 0,
iff eta < 1/(2^(b+1) - 3). Additive error: iff gamma (V + 2 eta) < 2^-b - 2 eta. Bob
decodes with the 2^b - 1 gap midpoints; Fano for 2^b symbols gives
L d (b - H2(delta) - delta log2(2^b - 1)) bits; fp16 holds every level for b <= 11.

References: docs/theorem.md#prec, #fano; Cover & Thomas Thm 2.10.1; IEEE 754-2019.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import sympy as sp

from lowerbound.precision import (
    VALUE_DTYPE_BITS,
    bits_per_value_auto,
    level_gamma_target,
    level_ranges,
    level_thresholds,
    levels_separate,
)
from lowerbound.softmax import gamma_is_below, scale_for_gamma
from proofs._perturb import all_caught
from proofs.prec_fano import (
    check_fano_float,
    check_fano_symbolic,
    check_fano_zero_certified,
    perturbed_fano_zero_certified,
)
from proofs.registry import Check, CheckResult, CoqProof, Lemma

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


Separates = Callable[[int, Fraction, Fraction, bool], bool]
Thresholds = Callable[[int, Fraction, Fraction, bool], tuple[Fraction, ...]]


def _top_pair(b: int, g: Fraction, eta: Fraction, additive: bool) -> bool:
    return levels_separate(b, g, eta, additive=additive)


def _bottom_pair(b: int, g: Fraction, eta: Fraction, additive: bool) -> bool:
    """The wrong claim that the pair (0, 1) binds (additive: the factor 2 on eta dropped)."""
    q = 2**b
    if additive:
        return g * (1 + eta) < Fraction(1, q) - eta
    return g < (1 - eta) / ((1 + eta) * q)


def _bob(b: int, g: Fraction, eta: Fraction, additive: bool) -> tuple[Fraction, ...]:
    return level_thresholds(b, g, eta, additive=additive)


def _gap_tops(b: int, g: Fraction, eta: Fraction, additive: bool) -> tuple[Fraction, ...]:
    """Wrong thresholds: at the top end of each gap (the bottom of the next range)."""
    r = level_ranges(b, g, eta, additive=additive)
    return tuple(r[m + 1][0] for m in range(len(r) - 1))


def _all_pairs(separates: Separates, thresholds: Thresholds) -> CheckResult:
    """Enumerate (b, gamma, eta, kind): ``separates`` = every adjacent pair disjoint, and
    each of ``thresholds`` lies strictly inside its gap."""
    cases = 0
    for b in range(1, 7):
        for eta in [Fraction(k, 512) for k in range(0, 40, 3)]:
            for g in [Fraction(k, 4096) for k in range(0, 400, 7)]:
                for additive in (False, True):
                    if additive and eta >= Fraction(1, 2):
                        continue
                    r = level_ranges(b, g, eta, additive=additive)
                    pairs = all(r[m][1] < r[m + 1][0] for m in range(len(r) - 1))
                    if pairs != separates(b, g, eta, additive):
                        return CheckResult.of(False, f"separation wrong at b={b} gamma={g} "
                                              f"eta={eta} additive={additive}")
                    if pairs:
                        t = thresholds(b, g, eta, additive)
                        if not all(r[m][1] < t[m] < r[m + 1][0] for m in range(len(t))):
                            return CheckResult.of(False, f"threshold outside gap b={b}")
                    cases += 1
    return CheckResult.of(True, f"{cases} (b, gamma, eta, error kind) cases")


def check_all_pairs_exhaustive() -> CheckResult:
    """PREC: for b <= 6 on a grid of (gamma, eta) (exact arithmetic, not every real gamma
    and eta), levels_separate = every pair disjoint."""
    return _all_pairs(_top_pair, _bob)


def perturbed_all_pairs_exhaustive() -> CheckResult:
    """PREC (must fail): the enumeration with the bottom pair claimed binding, and with
    thresholds at the top of each gap instead of its midpoint."""
    return all_caught(("bottom pair binds", _all_pairs(_bottom_pair, _bob)),
                      ("thresholds at the gap's top", _all_pairs(_top_pair, _gap_tops)))


_AUTO_ETAS = tuple(Fraction(1, 2**k) + Fraction(1, 10**6) for k in range(1, 13))


def _auto_b(shift: int) -> CheckResult:
    """Each claimed b (auto b + shift) separates at gamma -> 0, and b + 1 never does."""
    ok, lines = True, []
    for k, eta in enumerate(_AUTO_ETAS, start=1):
        b = bits_per_value_auto(eta, dtype="float64") + shift
        if b < 1:
            ok = False
            lines.append(f"eta=2^-{k}+1e-6: b={b} < 1")
            continue
        target = level_gamma_target(b, eta)
        ok &= (target > 0 >= level_gamma_target(b + 1, eta)
               and not levels_separate(b + 1, 0, eta) and levels_separate(b, target / 2, eta))
        lines.append(f"eta=2^-{k}+1e-6: b={b}")
    return CheckResult.of(ok, "; ".join(lines))


def check_auto_b_boundary() -> CheckResult:
    """PREC: auto b is the largest with eta < 1/(2^(b+1)-3): b separates, b+1 never does."""
    return _auto_b(0)


def perturbed_auto_b_boundary() -> CheckResult:
    """PREC (must fail): the same exact tests with b + 1 (and b - 1) claimed as auto b."""
    return all_caught(("b + 1", _auto_b(1)), ("b - 1", _auto_b(-1)))


def _eta_one_percent(claimed: int) -> CheckResult:
    eta = Fraction(1, 100)
    b = bits_per_value_auto(eta)
    target = level_gamma_target(claimed, eta)
    if target <= 0:
        return CheckResult.of(False, f"b={claimed}: target {target} <= 0, no C separates")
    c = scale_for_gamma(424, 256, Fraction(3, 4), target / 2)  # the simulation's margin
    below = gamma_is_below(424, 256, c, Fraction(3, 4), target)
    largest = level_gamma_target(claimed + 1, eta) <= 0
    capped = bits_per_value_auto(eta, logit_cap=100, cached_tokens=424, last_tokens=256, d=64)
    ok = b == claimed == capped and below and largest
    return CheckResult.of(ok, f"auto b={b}, claimed {claimed}: target {target}, C={c:.6f} "
                          f"keeps gamma below it: {below}; b={claimed + 1} target "
                          f"{level_gamma_target(claimed + 1, eta)}; under the cap 100 at "
                          f"d=64: b={capped}")


def check_eta_one_percent() -> CheckResult:
    """PREC: eta = 1/100 gives b = 5; at var-256, eps = 3/4 the run's C keeps gamma below 5's."""
    return _eta_one_percent(5)


def perturbed_eta_one_percent() -> CheckResult:
    """PREC (must fail): the same certificate for the claims b = 6 and b = 4 at eta = 1/100."""
    return all_caught(("b = 6", _eta_one_percent(6)), ("b = 4", _eta_one_percent(4)))


def _exact_levels(b: int, cast: str) -> bool:
    """Whether every m 2^-b, m < 2^b, survives the round trip through ``cast``."""
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


def _dtype_table(shift: int) -> CheckResult:
    tops = {name: VALUE_DTYPE_BITS[name] + shift for name in ("float16", "bfloat16",
                                                              "float32")}
    results = {name: (_exact_levels(top, name), _exact_levels(top + 1, name))
               for name, top in tops.items()}
    ok = all(at and not above for at, above in results.values())
    return CheckResult.of(ok, "; ".join(
        f"{k}: b={v} {'exact' if results[k][0] else 'NOT exact'}, b+1 "
        f"{'exact' if results[k][1] else 'not'}" for k, v in tops.items()))


def check_dtype_exhaustive() -> CheckResult:
    """PREC: every m 2^-b (m < 2^b) is exact iff b <= VALUE_DTYPE_BITS: fp16 11, bf16 8, fp32 24."""
    return _dtype_table(0)


def perturbed_dtype_exhaustive() -> CheckResult:
    """PREC (must fail): the enumeration for each format claimed to hold one more bit (and
    one fewer)."""
    return all_caught(("one more bit", _dtype_table(1)), ("one fewer bit", _dtype_table(-1)))


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
              "lowerbound.fano.fano_information_lower_confidence",
              "reduction.public.PublicParams.thresholds", "reduction.decode.decode_symbols"),
        tests=("tests/lowerbound/test_precision.py::test_b_plus_one_levels_fail_exactly",
               "tests/lowerbound/test_precision.py::test_eta_one_percent_gives_five_bits",
               "tests/lowerbound/test_precision.py::test_fano_information_every_rate",
               "tests/reduction/test_precision_reduction.py::test_must_show_b11_exact_fp16",
               "tests/reduction/test_precision_reduction.py::test_must_show_auto_at_eta_001",
               "tests/reduction/test_precision_reduction.py::test_auto_b_is_the_largest_that_separates",
               "tests/reduction/test_precision_reduction.py::test_exact_cache_decodes_every_level",
               "tests/reduction/test_precision_reduction.py::test_a_quantiser_coarser_than_the_levels_loses_symbols"),
        checks=(
            Check("the top pair binds", "proved", check_top_pair_symbolic),
            Check("additive error", "proved", check_additive_symbolic),
            # Exact arithmetic, but on a grid of (gamma, eta): evidence; the proof for all
            # parameters is P2 (the symbolic check above and PREC_levels.v).
            Check("all pairs = top pair, thresholds in gaps (exact, on a grid)", "sampled",
                  check_all_pairs_exhaustive, perturbed_all_pairs_exhaustive),
            # exact rationals on 12 given eta: a certificate, not an enumeration
            Check("auto b and b + 1", "certified", check_auto_b_boundary,
                  perturbed_auto_b_boundary),
            Check("eta = 1/100 gives b = 5", "certified", check_eta_one_percent,
                  perturbed_eta_one_percent),
            Check("value formats hold the levels", "exhaustive", check_dtype_exhaustive,
                  perturbed_dtype_exhaustive),
            Check("Fano's information is 0 at p*", "proved", check_fano_symbolic),
            Check("Fano for 2^b symbols: zero only at p*", "certified",
                  check_fano_zero_certified, perturbed_fano_zero_certified),
            # a float compared with an enclosure: two computations agree, nothing certified
            Check("Fano for 2^b symbols: float = enclosure", "consistency", check_fano_float),
            Check("multi-level decoding end to end", "sampled", check_multilevel_end_to_end),
        ),
        coq=(
            *(CoqProof("PREC_levels.v", name) for name in (
                "prec_exact_range", "prec_top_pair_binding", "prec_all_pairs_disjoint",
                "prec_decodes", "prec_threshold_decoder", "prec_top_pair_pow2",
                "prec_gamma_zero")),
            CoqProof("STATEMENTS.v", "prec_decoder_pinned"),
        ),
        origin="ours",
    ),
)
