"""The sparsity variants S1-S4 end to end (variants, docs/theorem.md#s1 ... #s4).

Must-show properties, one per variant (hypothesis over small schedules, d >= d_min):
the matching cache decodes every bit with message bits <= 1.3 * bound + n ceil(log2(L+1))
+ 256 (n = tokens carrying bits; the constant of variants.runner), and no
registered cache in the attack suite lands on the infeasible side of the variant's bound.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches import CACHES, CacheEntry
from lowerbound.entropy import binary_entropy
from lowerbound.jl import d_min
from lowerbound.softmax import gamma, gamma_target
from lowerbound.sparsity import (
    low_rank_keys,
    low_rank_switch,
    support_symbol_bits,
    window_bound_bits,
    window_visible_tokens,
)
from reduction.cache import CacheParams
from reduction.schedule import Schedule
from tests.leaky_cache import GlobalLeakyCache
from tests.strategies import small_schedules
from variants import s1, s2, s3, s4
from variants.runner import (
    MATCH_FACTOR,
    VariantReport,
    attack_suite,
    bob_rows,
    match_allowance_bits,
    run_cache,
)

EPS, ETA = 0.75, 0.25
PROPERTY = settings(max_examples=6, deadline=None)


@st.composite
def regimes(draw: Any, min_d: int = 8) -> tuple[Schedule, int]:
    """(schedule, d) with d >= d_min(L_{K-1}, 3/4): valid by construction."""
    schedule = draw(small_schedules(max_scales=4, max_side=6))
    low = max(d_min(schedule.cached_tokens, EPS), min_d)
    return schedule, draw(st.integers(low, low + 12))


def assert_matches_and_feasible(rep: VariantReport) -> None:
    """The must-show property of every variant."""
    m = rep.matching
    assert m.status == "ok", m.reason
    assert m.bit_errors == 0 and m.symbol_errors == 0
    n = m.n_bits // max(1, rep.parameters["d"]) if rep.variant != "s2" else m.n_symbols
    allowance = match_allowance_bits(n, Schedule(tuple(map(tuple, rep.parameters["shapes"])))
                                     .cached_tokens)
    assert m.message_bits is not None
    assert m.message_bits <= MATCH_FACTOR * rep.bound_bits + allowance
    assert m.within_match
    assert not rep.failures, [(r.cache, r.reason) for r in rep.failures]
    ran = [r for r in rep.attack if r.status == "ok"]
    assert ran and all(r.feasible for r in ran), [r.cache for r in rep.leaks]
    assert all(r.reason for r in rep.attack if r.status == "skipped")
    assert all(rep.checks.values()), rep.checks
    assert rep.ok


# -- S1 --------------------------------------------------------------------------------------
@PROPERTY
@given(regime=regimes(), k=st.integers(1, 4), seed=st.integers(0, 3))
def test_s1_property_matching_and_attack(regime: tuple[Schedule, int], k: int, seed: int) -> None:
    schedule, d = regime
    rep = s1.run(schedule, d, EPS, ETA, seed, k=k)
    assert rep.bound_bits == schedule.cached_tokens * d
    assert_matches_and_feasible(rep)
    topk = rep.measurements["topk_cache"]
    assert topk["bit_errors"] == 0 and topk["message_bits"] >= rep.bound_bits


def test_s1_promise_and_topk_cache() -> None:
    """var-256, d=64: one-hot within the guarantees; the top-1 cache pays 32x the bound."""
    rep = s1.run(Schedule.preset("var-256"), 64, EPS, ETA, 0, k=1, attack=False)
    m = rep.measurements
    assert min(m["min_target_weight"], m["alice_min_target_weight"]) >= m["target_weight_bound"]
    assert max(m["max_off_target_mass"], m["max_outside_top_k"],
               m["alice_max_outside_top_k"]) <= m["off_target_mass_bound"]
    assert m["truncation_error"] <= m["off_target_mass_bound"]
    assert m["max_entropy_bits"] <= m["entropy_bound_bits"] < m["uniform_entropy_bits"]
    assert m["promise_kept"] and rep.matching.decoded_all
    assert m["topk_cache"]["bit_errors"] == 0
    assert m["topk_message_over_bound"] > 31  # every K and V at float16: 32 d bits a token


def test_s1_profile_detects_a_broken_promise() -> None:
    """At a small query scale Bob's rows spread: the promise check must say so."""
    inst = s1.make_instance(Schedule.parse("1,2,3"), 24, EPS, ETA, 0)
    spread = dataclasses.replace(inst, scale=0.5)
    profile = s1.attention_profile(spread, 1, ETA)
    assert not profile["promise_kept"]
    assert profile["max_weights_above_tol"] > 1 and profile["truncation_error"] > ETA
    assert s1.attention_profile(inst, 1, ETA)["promise_kept"]
    zero_alice = s1.attention_profile(dataclasses.replace(inst, alice_scale=0.0), 1, ETA)
    assert not zero_alice["promise_kept"]  # section 3's zero queries: Alice's rows are flat
    assert zero_alice["alice_min_target_weight"] == pytest.approx(1 / 5)  # L_2 = 1 + 4
    flat = s1.attention_profile(dataclasses.replace(inst, scale=0.0), 1, ETA)
    m = inst.schedule.cached_tokens + inst.schedule.last_scale_tokens
    assert flat["max_entropy_bits"] == pytest.approx(math.log2(m), rel=1e-12)  # uniform rows
    assert flat["min_target_weight"] == pytest.approx(1 / m, rel=1e-12)


# -- S2 --------------------------------------------------------------------------------------
@PROPERTY
@given(regime=regimes(), data=st.data(), signed=st.booleans())
def test_s2_property_matching_and_attack(regime: tuple[Schedule, int], data: Any,
                                         signed: bool) -> None:
    schedule, d = regime
    s = data.draw(st.integers(1, d // 2), label="s")
    rep = s2.run(schedule, d, EPS, ETA, 0, s=s, s_values=[1, d // 2], signed=signed)
    b = math.comb(d, s).bit_length() - 1 + (s if signed else 0)
    assert rep.bound_bits == schedule.cached_tokens * b == schedule.cached_tokens * \
        support_symbol_bits(d, s, signed=signed)
    assert_matches_and_feasible(rep)
    assert [r["s"] for r in rep.sweep] == sorted({1, s, d // 2})


def test_s2_packer_skips_signed_values_with_its_reason() -> None:
    rep = s2.run(Schedule.parse("1,2,3,4"), 24, EPS, ETA, 0, s=3, s_values=[], signed=True,
                 caches=["packer", "exact"])
    packer, exact = rep.attack
    assert packer.status == "skipped" and "0/1 values" in (packer.reason or "")
    assert exact.status == "ok" and exact.bit_errors == 0


# -- S3 --------------------------------------------------------------------------------------
@PROPERTY
@given(regime=regimes(), data=st.data())
def test_s3_property_matching_and_attack(regime: tuple[Schedule, int], data: Any) -> None:
    schedule, d = regime
    w = data.draw(st.integers(1, schedule.num_scales + 1), label="w")
    rep = s3.run(schedule, d, EPS, ETA, 0, w=w, w_values=[])
    visible = sum(schedule.tokens[max(0, schedule.num_scales - w) : schedule.num_scales - 1])
    assert rep.bound_bits == d * visible
    assert_matches_and_feasible(rep)
    assert (w == 1) == (rep.bound_bits == 0) == (s3.W_ONE_NOTE in rep.notes)


def test_s3_var512_w2_bound_window_and_ratio() -> None:
    """Must-show: w = 2 on var-512: bound = (1 - H2(delta)) d T_{K-1}, window cache meets it."""
    schedule, d = Schedule.preset("var-512"), 64
    t_prev = schedule.tokens[-2]
    assert t_prev == 576
    for delta in (Fraction(0), Fraction(1, 100), Fraction(1, 10)):
        exact = (1 - binary_entropy(float(delta))) * d * t_prev
        assert float(window_bound_bits(schedule.tokens, d, 2, delta)) == pytest.approx(
            exact, rel=1e-12)
    rep = s3.run(schedule, d, EPS, ETA, 0, w=2, w_values=[], caches=["exact", "h2o"])
    assert rep.bound_bits == d * t_prev
    assert rep.matching.cache == "window" and rep.matching.decoded_all
    assert rep.matching.message_bits is not None
    assert d * t_prev <= rep.matching.message_bits <= d * t_prev * (1 + 3 / d) + 256
    assert rep.measurements["bound_over_n2d_exact"] == "9/16"  # T_{K-1} / n^2 = 24^2 / 32^2
    assert rep.ok


def test_s3_query_scale_serves_windowed_and_full_attention() -> None:
    """C makes gamma < half of L3's target counting the older scales' zero keys too, so a
    full-attention cache decodes the S3 instance as well as a windowed one."""
    schedule = Schedule.preset("var-256")
    inst = s3.make_instance(schedule, 64, 2, EPS, ETA, 0)
    visible = inst.carriers
    full = gamma(visible, schedule.last_scale_tokens + schedule.cached_tokens - visible,
                 inst.scale, EPS)
    assert full < float(gamma_target(ETA)) / 2
    assert not (inst.keys[: schedule.cached_tokens - visible].any()
                or inst.values[: schedule.cached_tokens - visible].any())


# -- S4 --------------------------------------------------------------------------------------
@PROPERTY
@given(regime=regimes(), data=st.data())
def test_s4_property_matching_and_attack(regime: tuple[Schedule, int], data: Any) -> None:
    schedule, d = regime
    r = data.draw(st.integers(1, d), label="r")
    rep = s4.run(schedule, d, EPS, ETA, 0, r=r, r_values=[])
    codes = low_rank_keys(r, EPS, schedule.cached_tokens)
    assert rep.bound_bits == d * codes == rep.matching.n_bits
    assert rep.measurements["keys_rank"] <= r
    assert_matches_and_feasible(rep)
    packer = next(x for x in rep.attack if x.cache == "packer")
    assert (packer.status == "skipped") == (codes < schedule.cached_tokens)


def test_s4_bound_switches_regime() -> None:
    """L'(r) = e^{Theta(r)} below r* = d_min(L, eps), = L from r* on (var-256, eps 3/4)."""
    n = Schedule.preset("var-256").cached_tokens
    star = low_rank_switch(n, EPS)
    assert star == d_min(n, EPS) == 41
    for r in range(1, 65):
        lp = low_rank_keys(r, EPS, n)
        assert (lp < n) == (r < star)
        if r < star:  # maximality and validity of L': (L'-1)L'/2 < e^{eps^2 r/2} <= L'(L'+1)/2
            assert lp * (lp - 1) / 2 < math.exp(EPS**2 * r / 2) <= lp * (lp + 1) / 2
    rep = s4.run(Schedule.preset("var-256"), 64, EPS, ETA, 0, r=21, r_values=[8, 41, 64],
                 attack=False)
    regimes_seen = {row["regime"] for row in rep.sweep}
    assert regimes_seen == {"e^Theta(r)", "L"}
    measured = [row for row in rep.sweep if "message_bits" in row]
    assert [row["r"] for row in measured] == [8, 21, 41, 64]
    assert all(row["bit_errors"] == 0 for row in measured)
    small = next(row for row in measured if row["r"] == 8)
    assert small["message_bits"] < n * 64 / 10  # memory tracks d L'(r), not d L


# -- the runner ---------------------------------------------------------------------------------
def test_runner_flags_a_cache_that_keeps_state_outside_its_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In one process a module-global leak decodes everything from 64 bits: infeasible."""
    monkeypatch.setitem(CACHES, "leaky-global", CacheEntry(GlobalLeakyCache, {}, "test"))
    inst = s1.make_instance(Schedule.parse("1,2,3"), 24, EPS, ETA, 0)
    run = run_cache(inst, "leaky-global", {}, 0)
    assert run.bit_errors == 0 and run.message_bits == 64
    assert run.feasible is False


def test_runner_says_when_a_cache_misses_the_match() -> None:
    """The exact cache decodes S1 but spends 32 d bits a token: not within 1.3x the bound."""
    inst = s1.make_instance(Schedule.parse("1,2,3"), 24, EPS, ETA, 0)
    run = run_cache(inst, "exact", {}, 0)
    assert run.decoded_all and run.feasible and run.within_match is False


def test_runner_uses_the_protocols_bytes_rule_and_refuses_unregistered_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Smuggler(bytes):
        hidden: object = None

    class SmugglingCache(GlobalLeakyCache):
        def to_bytes(self) -> bytes:
            return Smuggler(super().to_bytes())

    monkeypatch.setitem(CACHES, "smuggler", CacheEntry(SmugglingCache, {}, "test"))
    inst = s1.make_instance(Schedule.parse("1,2,3"), 24, EPS, ETA, 0)
    run = run_cache(inst, "smuggler", {}, 0)
    # the same rule as verify (reduction.parties.normalise_message): a bytes subclass is
    # copied to plain bytes, so what is counted is its buffer; the global it leaks through
    # is then caught by the leak rule
    assert run.status == "ok" and not run.feasible
    with pytest.raises(ValueError, match="registered caches only"):
        run_cache(inst, "tests.leaky_cache:LeakyCache")
    with pytest.raises(ValueError, match="unknown cache"):
        attack_suite(inst, 0, ["nope"])


def test_same_seed_same_report() -> None:
    a = s4.run(Schedule.parse("1,2,3,4"), 24, EPS, ETA, 5, r=6, r_values=[2])
    b = s4.run(Schedule.parse("1,2,3,4"), 24, EPS, ETA, 5, r=6, r_values=[2])
    assert a.to_json() == b.to_json()


def test_bad_parameters_name_the_value() -> None:
    sched = Schedule.parse("1,2,3,4")
    with pytest.raises(ValueError, match=r"s=13 must be <= d/2"):
        s2.run(sched, 24, s=13)
    with pytest.raises(ValueError, match=r"rank r=25 must be <= d=24"):
        s4.run(sched, 24, r=25)
    with pytest.raises(ValueError, match=r"w=0 must be an integer >= 1"):
        s3.run(sched, 24, w=0)
    with pytest.raises(ValueError, match=r"need d >= "):
        s1.run(Schedule.preset("var-256"), 16)
    with pytest.raises(ValueError, match="eps"):
        s1.run(sched, 24, eps=1.5)


def test_window_visible_tokens_counts_the_current_scale() -> None:
    tokens = Schedule.preset("var-256").tokens
    assert window_visible_tokens(tokens, 1) == 0
    assert window_visible_tokens(tokens, 2) == tokens[-2] == 169
    assert window_visible_tokens(tokens, 3) == 169 + 100
    assert window_visible_tokens(tokens, 99) == Schedule.preset("var-256").cached_tokens


def test_s4_keys_lie_in_an_r_dimensional_subspace() -> None:
    inst, facts = s4.make_instance(Schedule.parse("1,2,3,4,5"), 32, 5, EPS, ETA, 1)
    sv = np.linalg.svd(inst.keys, compute_uv=False)
    assert facts["keys_rank"] <= 5 and (sv[5:] < 1e-9).all()
    assert np.allclose(np.linalg.norm(inst.keys, axis=1), 1.0)


@pytest.mark.parametrize("eta", [0.0, 0.25, 0.5, 0.9])
def test_s2_signed_query_scale_keeps_the_simulation_margin(eta: float) -> None:
    """docs/theorem.md#s2: the signed top-s decoder is safe under relative eta iff
    (1 - eta)(1 - gamma) > (1 + eta) gamma, i.e. gamma < (1 - eta)/2, and the code halves
    that target as the main simulation does. So at the instance's gamma the worst-case gap
    (1 - eta)(1 - gamma) - (1 + eta) gamma is at least (1 - eta)/2 (what gamma <= (1-eta)/4
    leaves), and the worst (eta, 0)-correct outputs of the actual rows decode every bit."""
    schedule, d, s = Schedule.parse("1,2,3,4"), 24, 3
    inst = s2.make_instance(schedule, d, s, EPS, eta, 0, signed=True)
    g = inst.gamma
    assert g == pytest.approx(gamma(schedule.cached_tokens, schedule.last_scale_tokens,
                                    inst.scale, EPS), rel=1e-12)
    assert (1 - eta) * (1 - g) - (1 + eta) * g >= (1 - eta) / 2 - 1e-12
    rows = bob_rows(CACHES["exact"].cls, _exact_message(inst), _params(inst), inst)
    support = inst.values[inst.bob_tokens] != 0
    worst = np.where(support, rows * (1 - eta), rows * (1 + eta))  # the adversary of ADV
    np.testing.assert_array_equal(inst.decode(worst), inst.truth)


def _params(inst: Any) -> CacheParams:
    return CacheParams(inst.d, inst.schedule)


def _exact_message(inst: Any) -> bytes:
    cache = CACHES["exact"].cls(_params(inst), np.random.default_rng(0))
    for start, stop in inst.schedule.block_bounds[:-1]:
        k = inst.keys[start:stop]
        cache.process(np.zeros_like(k), k, inst.values[start:stop])
    return bytes(cache.to_bytes())
