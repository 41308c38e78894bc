"""EVICT-H and ALLOC -- the multi-head instance run: eviction on many heads, unused heads.

Purpose: the registry entries of Propositions EVICT-H (docs/theorem.md#c2-run) and ALLOC
(docs/theorem.md#alloc), both ours.

Main statements. EVICT-H: a cache that keeps r_j rows of head j exactly, chosen without
the dropped rows' values, has expected bit error rate (1 - f)/2, f = sum r_j / (D H L),
whatever the allocation. ALLOC: with U of the D H heads zero (a public seeded set),
(a) every (eta, delta)-correct cache needs (1 - H2(delta)) (D H - U) L d bits; (b) an
allocation blind to the zero heads loses (1 - f)/2, one over the carrying heads only
(1 - min(1, f/rho))/2, rho = (D H - U)/(D H); (c) live-heads reaches the second.

The checks run the protocol (inline parties, var-256, d = 64, 2 layers of 2 heads): they
are samples, evidence and not proof, except the sign of the gap, derived symbolically.
"""

from __future__ import annotations

import math

import sympy as sp

from lowerbound.bound import allocation_error_rates
from proofs.registry import Check, CheckResult, Lemma
from reduction.schedule import Schedule

__all__ = ["LEMMAS"]

_SCHEDULE = "var-256"
_D = 64
_SIGMAS = 6.0  # tolerance: 6 sd of Bin(evicted bits, 1/2)


def _run(cache: str, budget: float, unused: int = 0, seed: int = 0) -> tuple[float, int]:
    import caches  # noqa: F401  (installs the resolver of registered names)
    from reduction.protocol import run_verification

    r = run_verification(Schedule.parse(_SCHEDULE), _D, 0.75, 0.25, [seed], cache=cache,
                         options={"budget": budget}, isolation="inline", heads=2, layers=2,
                         unused_heads=unused)
    return r.error_rate, r.n_bits


def _within(rate: float, want: float, n_bits: int) -> bool:
    return abs(rate - want) <= _SIGMAS * math.sqrt(max(2 * want * n_bits, 1.0)) / 2 / n_bits


def check_uniform_law() -> CheckResult:
    """EVICT-H: the uniform split (streaming-llm on each of 2 x 2 heads) loses (1 - f)/2."""
    lines, ok = [], True
    for f in (0.25, 0.5):
        rate, n = _run("streaming-llm", f)
        ok &= _within(rate, (1 - f) / 2, n)
        lines.append(f"f={f}: p={rate:.4f} vs {(1 - f) / 2}")
    return CheckResult.of(ok, "; ".join(lines))


def check_allocation_gap() -> CheckResult:
    """ALLOC (b), (c): 2 of 4 heads unused, f = 1/4: blind 3/8, live-heads 1/4."""
    blind_want, aware_want = allocation_error_rates(0.25, 4, 2)
    blind, n = _run("snapkv", 0.25, unused=2)
    aware, _ = _run("live-heads", 0.25, unused=2)
    ok = _within(blind, blind_want, n) and _within(aware, aware_want, n)
    return CheckResult.of(ok, f"blind p={blind:.4f} (want {blind_want}), live-heads "
                              f"p={aware:.4f} (want {aware_want}), N'={n}")


def check_carrying_bits() -> CheckResult:
    """ALLOC (a): the instance has (D H - U) L d bits, the bound's N' (2 x 2 heads, U = 2)."""
    _, n = _run("live-heads", 1.0, unused=2)
    want = 2 * Schedule.parse(_SCHEDULE).cached_tokens * _D
    return CheckResult.of(n == want, f"N' = {n}, (D H - U) L d = {want}")


def check_gap_sign() -> CheckResult:
    """ALLOC (b): the gap (min(1, f/rho) - f)/2 is >= 0 for 0 <= f <= 1, 0 < rho <= 1."""
    f, r, s = sp.symbols("f r s", nonnegative=True)  # rho = 1/(1 + r), f = 1 - s
    below = sp.simplify((f * (1 + r) - f) / 2)  # f <= rho: min(1, f/rho) = f (1 + r)
    above = sp.simplify((1 - (1 - s)) / 2)  # f >= rho: min(1, f/rho) = 1
    ok = bool(below.is_nonnegative) and bool(above.is_nonnegative)
    return CheckResult.of(ok, f"f <= rho: gap = {below} with rho = 1/(1 + r); "
                              f"f >= rho: gap = {above} with f = 1 - s")


LEMMAS = (
    Lemma(
        label="EVICT-H",
        title="The eviction law on many heads",
        reference="ours",
        statement=(
            "A cache keeping r_j rows of head j exactly, chosen without the dropped rows' "
            "values, has expected bit error rate (1 - f)/2 with f = sum_j r_j/(D H L), "
            "whatever the allocation over heads, layers and scales."
        ),
        uses=("C2", "L3"),
        code=(
            "reduction.heads.heads_cached_keys",
            "reduction.cache.budget_rows",
            "caches.per_head.per_head_class",
            "kvbound.experiments.pooling.kept_fraction",
        ),
        tests=(
            "tests/caches/test_per_head.py::test_uniform_baseline_per_head_law",
            "tests/kvbound/test_attack_heads.py::"
            "test_every_budgeted_multi_head_cache_keeps_the_eviction_law",
        ),
        checks=(Check("uniform split loses (1 - f)/2", "sampled", check_uniform_law),),
        origin="ours",
        section="c2-run",
    ),
    Lemma(
        label="ALLOC",
        title="Unused heads: when allocation matters",
        reference="ours",
        statement=(
            "With U of the D H heads zero (public, seeded), every correct cache needs "
            "(1 - H2(delta)) (D H - U) L d bits; a blind allocation of the fraction f of "
            "all rows loses (1 - f)/2 of the carrying bits, one over the carrying heads "
            "(1 - min(1, f/rho))/2, rho = (D H - U)/(D H); live-heads reaches it."
        ),
        uses=("C2", "UNUSED", "EVICT-H"),
        code=(
            "reduction.heads.unused_head_set",
            "lowerbound.bound.allocation_error_rates",
            "caches.matching.allocation.LiveHeadCache",
        ),
        tests=(
            "tests/caches/test_allocation.py::"
            "test_the_value_aware_allocator_keeps_what_the_blind_one_loses",
            "tests/caches/test_allocation.py::test_at_rho_every_carrying_row_is_kept",
            "tests/kvbound/test_attack_heads.py::test_attack_unused_heads_shows_the_allocation_gap",
        ),
        checks=(
            Check("the gap is nonnegative", "proved", check_gap_sign),
            Check("carrying bits are the bound's N'", "bookkeeping", check_carrying_bits),
            Check("blind and live-head allocators as predicted", "sampled",
                  check_allocation_gap),
        ),
        origin="ours",
        section="alloc",
    ),
)
