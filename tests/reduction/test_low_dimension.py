"""The C1 variant end to end: d below d_min, zero-key tokens, the logit cap (issue 8).

Lemmas C1, UNUSED, WITNESS, CAP (docs/theorem.md#c1, #unused, #witness, #cap).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvbound.cli import main
from kvbound.experiments import run_sweep
from lowerbound.jl import d_min, max_keys
from lowerbound.logit_cap import fits_under_cap, max_carrying_tokens, max_tokens_under_cap
from lowerbound.softmax import c_min, gamma, gamma_is_below, gamma_target
from reduction.attention import record_logits, softmax_rows
from reduction.parties import alice_message, bob_outputs
from reduction.protocol import PublicParams, run_verification
from reduction.public import SIMULATION_CAP_FRACTION, run_cap
from reduction.regime import WITNESS_KEY_SEED, plan_regime
from reduction.schedule import Schedule
from tests.strategies import small_schedules

V256 = Schedule.preset("var-256")


def test_must_show_var256_at_d16(capsys: pytest.CaptureFixture[str]) -> None:
    """`kvbound verify --schedule var-256 --d 16 --json`: no refusal, every carrying
    token's bits decoded, C1 bounds for both families reported, each <= message bits."""
    assert main(["verify", "--schedule", "var-256", "--d", "16", "--json", "--quiet"]) == 0
    j = json.loads(capsys.readouterr().out)
    low = j["low_dimension"]
    assert low["regime"] == "low-dimension" and low["d_min"] == 41
    assert low["carriers_guaranteed"] == max_keys(16, 0.75, cap=424) == 13
    assert low["carriers_witnessed"] == 424 > low["carriers_guaranteed"]
    assert j["instance_bits"] == j["bits_decoded"] == 16 * low["carriers_witnessed"]
    assert j["bit_errors"] == 0
    assert low["bound_guaranteed_bits"] == 16 * 13
    assert low["bound_witnessed_bits"] == 16 * 424
    assert low["bound_guaranteed_bits"] <= low["bound_witnessed_bits"] <= j["message_bits"]
    assert low["bounds_at_most_message_bits"] is True
    assert j["max_inner_product"] <= 0.75


def _mass_ratios(public: PublicParams) -> np.ndarray:
    """sum_{j != i} e^{s_j - s_i} for Bob's query of every carrier i over every cached key
    and the last scale's T_K zero keys, from the attention weights themselves."""
    keys = np.vstack([public.cached_keys(), np.zeros((public.schedule.last_scale_tokens,
                                                      public.d))])
    tokens = np.arange(public.n_carriers)
    w = softmax_rows(public.bob_queries(tokens) @ keys.T)
    target = w[tokens, tokens]
    return (1.0 - target) / target


@pytest.mark.parametrize("carriers", [1, 5, 50, 424])
def test_zero_key_tokens_enter_gamma(carriers: int) -> None:
    """UNUSED: the mass outside Bob's target is <= gamma with T_K + L - L' zero keys; with
    one carrier every other score is 0 and it is exactly gamma (sharp), more than a gamma
    that forgets the L - L' zero-key tokens."""
    pub = PublicParams(V256, 16, 0.75, 0.25, WITNESS_KEY_SEED, "exact-fp64",
                       carriers=carriers)
    assert pub.zero_key_tokens == 424 - carriers
    ratios = _mass_ratios(pub)
    g = gamma(carriers, 256 + 424 - carriers, pub.scale, pub.eps)
    assert pub.gamma == g <= float(gamma_target(0.25)) / 2 * (1 + 1e-12)
    assert ratios.max() <= g * (1 + 1e-12)
    if carriers == 1:
        assert ratios[0] == pytest.approx(g, rel=1e-12)
        assert ratios[0] > gamma(1, 256, pub.scale, pub.eps)


def test_single_carrier_decodes_with_zero_tokens_around() -> None:
    pub = PublicParams(V256, 16, 0.75, 0.25, WITNESS_KEY_SEED, "exact", carriers=1)
    bits = np.random.default_rng(3).integers(0, 2, size=(1, 16))
    z = bob_outputs(alice_message(bits, pub, 0), pub)
    np.testing.assert_array_equal((z > pub.tau).astype(int), bits)


def test_cap_limit_is_the_largest_fitting_count() -> None:
    """CAP: gamma(C = B) < target at the returned L', not at L' + 1 (checked at C = B)."""
    target = gamma_target(0.25)
    for cap in (8.0, 12.0, 20.0, 25.0):
        n = max_tokens_under_cap(424, 256, 0.75, target, cap)
        assert 0 < n < 424
        assert gamma(n, 256 + 424 - n, cap, 0.75) < target
        assert gamma(n + 1, 256 + 423 - n, cap, 0.75) >= target


def test_guaranteed_under_cap_is_exact_and_beats_every_grid_eps() -> None:
    """L*(d, B) of the plan is exact in eps (lowerbound.logit_cap): 54 carriers fit at the
    reported eps, 55 fit at no eps at all, and in particular at no eps = k/1000."""
    target = gamma_target(0.25)
    r = plan_regime(V256, 16, 0.75, 0.25, logit_cap=100.0)
    assert (r.carriers_guaranteed, r.eps_guaranteed) == (54, 0.954)
    assert fits_under_cap(424, 256, 54, 16, target, 100.0, eps=r.eps_guaranteed)
    assert not fits_under_cap(424, 256, 55, 16, target, 100.0)
    for k in range(1, 1000, 7):  # no grid eps fits 55 carriers
        e = k / 1000
        assert not (16 >= d_min(55, e)
                    and gamma_is_below(55, 256, 100.0, e, target, extra_zero_keys=369))


@pytest.mark.parametrize("schedule,d,cap,eta", [
    ("var-256", 24, 100.0, 0.25),  # the former search on eps = k/1000 guaranteed 277: now 279
    ("var-512", 32, 40.0, 0.0),  # 440: now 444
    ("var-256", 16, 12.02, 0.0),  # 16 carriers, at eps 0.7736 (no k/1000 reaches 16)
])
def test_exact_eps_guarantees_more_than_any_grid_eps(schedule: str, d: int, cap: float,
                                                     eta: float) -> None:
    """The plan's L'_guaranteed is exact in eps: it fits under B' = B(1 - 2^-9) (the cap
    the run keeps C below) at the reported eps, L' + 1 fits at no eps, and no
    eps = k/1000 fits L' itself (a search on that grid stops short)."""
    s = Schedule.preset(schedule)
    n, t = s.cached_tokens, s.last_scale_tokens
    r = plan_regime(s, d, 0.75, eta, logit_cap=cap)
    k, target, room = r.carriers_guaranteed, gamma_target(eta), run_cap(cap)
    assert fits_under_cap(n, t, k, d, target, room, eps=r.eps_guaranteed)
    assert not fits_under_cap(n, t, k + 1, d, target, room)
    on_grid = [e / 1000 for e in range(1, 1000) if d >= d_min(k, e / 1000)]
    assert not any(gamma_is_below(k, t, room, e, target, extra_zero_keys=n - k)
                   for e in on_grid)


@pytest.mark.parametrize("d", [8, 12, 16, 24])
@pytest.mark.parametrize("cap", [8.0, 12.0, 20.0, 100.0])
def test_guaranteed_is_l_star_and_fits_at_its_eps(d: int, cap: float) -> None:
    """CAP: L'_guaranteed is L*(d, B') of lowerbound.logit_cap, B' = B(1 - 2^-9) (no eps
    fits one more), and it fits, keys and cap both, at the eps reported with it."""
    n, t, target = 424, 256, gamma_target(0.25)
    r = plan_regime(V256, d, 0.75, 0.25, logit_cap=cap)
    room = run_cap(cap)
    assert fits_under_cap(n, t, r.carriers_guaranteed, d, target, room, eps=r.eps_guaranteed)
    assert not fits_under_cap(n, t, r.carriers_guaranteed + 1, d, target, room)
    assert r.carriers_guaranteed <= max_carrying_tokens(n, t, d, target, cap)


def test_regime_under_a_cap_keeps_c_below_b() -> None:
    r = plan_regime(V256, 16, 0.75, 0.25, logit_cap=20.0)
    assert r.low_dimension and r.carriers_guaranteed == 21 and r.eps_guaranteed == 0.818
    pub = r.public(0, "exact-fp64")
    assert pub.carriers == r.carriers_witnessed == max_tokens_under_cap(
        424, 256, 0.75, gamma_target(0.25), run_cap(20.0))
    assert pub.c_min <= pub.scale <= run_cap(20.0)
    result = run_verification(V256, 16, 0.75, 0.25, 1, cache="exact-fp64",
                              isolation="inline", logit_cap=20.0)
    logits = result.to_json()["logits"]
    assert result.bit_errors == 0
    assert logits["max_abs_logit_recomputed"] <= 20.0
    assert logits["max_abs_logit_claimed"] <= 20.0 and logits["logit_cap_respected"]


def test_refusals_name_what_would_work() -> None:
    with pytest.raises(ValueError, match=r"B=5 leaves .* below C_min = 7.03.*raise B to >= "
                                         r"7.04"):
        plan_regime(V256, 16, 0.75, 0.25, logit_cap=5.0)
    with pytest.raises(ValueError, match=r"need C_min = 26.23.* > B\(1 - 2\^-9\) = 19.96.* "
                                         r"for the logit cap B=20"):
        PublicParams(V256, 64, 0.75, 0.25, 0, logit_cap=20.0)


@pytest.mark.parametrize("var_head", [False, True])
def test_the_knife_edge_rule_holds_when_c_min_is_just_below_b(var_head: bool) -> None:
    """docs/theorem.md#cap: whatever C_min is, C <= B' = B(1 - 2^-9), so a cache storing
    keys and queries at float16 computes logits inside [-B, B]. Caps just above C_min
    (where the old rule ran at (C_min + B)/2 > B') leave the theorem's regime at the
    requested eps (the plan lowers eps or the carriers), and the float16 logits of the
    plan's C stay inside the cap."""
    c_min_all = PublicParams(V256, 64, 0.75, 0.25, 0).c_min
    for cap in (c_min_all * (1 + 2.0**-12), c_min_all * (1 + 2.0**-10), c_min_all):
        r = plan_regime(V256, 64, 0.75, 0.25, logit_cap=cap, var_head=var_head)
        pub = r.public(0, "exact")
        assert pub.c_min <= pub.scale <= run_cap(cap) < cap
        if cap < c_min_all / float(SIMULATION_CAP_FRACTION):
            assert r.low_dimension
        signs = pub.key_family().signs.astype(np.float64)
        q16 = (pub.bob_queries(np.arange(signs.shape[0]))).astype(np.float16).astype(float)
        k16 = pub.cached_keys().astype(np.float16).astype(float)
        assert np.abs(q16 @ k16.T).max() <= cap
    with pytest.raises(ValueError, match=r"or give carriers=L' < L"):
        PublicParams(V256, 16, 0.75, 0.25, 0)


def test_attack_sweep_runs_below_d_min() -> None:
    sched = Schedule.parse("1,2,3,4")  # L = 14, d_min(14, 3/4) = 17
    result = run_sweep(sched, 6, 0.75, 0.25, caches=["exact-fp64", "uniform-q2"], seeds=1,
                       isolation="inline")
    assert result.regime is not None and result.regime.low_dimension
    assert result.n_bits == 6 * result.regime.carriers_witnessed
    exact = result.points[0]
    assert exact.bit_errors == 0 and exact.n_bits == result.n_bits
    assert result.all_feasible
    assert result.to_json()["low_dimension"]["carriers_guaranteed"] == max_keys(6, 0.75, 14)


@st.composite
def capped_fits(draw: Any) -> tuple[Schedule, int, float, float, int, float]:
    """(schedule, d, eps, eta, L', B) for which lowerbound says L' carriers fit under B:
    d >= d_min(L', eps) and C_min(L', T_K + L - L', eps, eta) <= B."""
    schedule = draw(small_schedules())
    n, t = schedule.cached_tokens, schedule.last_scale_tokens
    eps = draw(st.sampled_from([0.5, 0.625, 0.75]))
    eta = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5]))
    carriers = draw(st.integers(1, n))
    d = draw(st.integers(max(2, d_min(carriers, eps)), d_min(carriers, eps) + 6))
    c = c_min(carriers, t, eps, eta, extra_zero_keys=n - carriers)
    # B >= 1.003 C_min: the run keeps C <= B(1 - 2^-9) (the knife-edge rule), and at
    # C = C_min itself the two decoding ranges of Lemma L3 are ~1e-16 apart, below float64
    # resolution (the exact statement still holds there).
    cap = max(c, 0.5) * draw(st.sampled_from([1.003, 1.01, 1.2, 2.0, 5.0]))
    return schedule, d, eps, eta, carriers, cap


@given(case=capped_fits(), seed=st.integers(0, 2**32))
@settings(max_examples=15)
def test_fitting_reductions_decode_every_bit(case: tuple[Any, ...], seed: int) -> None:
    """CAP + C1: whenever lowerbound says L' carriers fit under B(1 - 2^-9) in dimension d,
    the exact float64 cache decodes every bit, and every logit computed lies in [-B, B]."""
    schedule, d, eps, eta, carriers, cap = case
    try:
        pub = PublicParams(schedule, d, eps, eta, seed % 1000, "exact-fp64",
                           carriers=carriers, logit_cap=cap)
        family = pub.key_family()
    except ValueError as exc:  # only the search may come up short of L' (never seen)
        pytest.fail(f"{case}: {exc}")
    assert family.max_inner_product <= eps
    bits = np.random.default_rng(seed).integers(0, 2, size=(carriers, d))
    message = alice_message(bits, pub, seed)
    with record_logits() as rec:
        z = bob_outputs(message, pub)
    assert pub.scale <= cap and rec.max_abs <= cap
    np.testing.assert_array_equal((z > pub.tau).astype(int), bits)


@given(schedule=small_schedules(), d=st.integers(2, 14),
       cap=st.one_of(st.none(), st.floats(3.0, 120.0)),
       eta=st.sampled_from([0.0, 0.25, 0.5]), seed=st.integers(0, 1000))
@settings(max_examples=12)
def test_planned_runs_decode_every_bit(schedule: Schedule, d: int, cap: float | None,
                                       eta: float, seed: int) -> None:
    """The verifier's own plan (any d, any cap): either refused with C_min > B for a
    single carrier, or every carrying token's bits decoded under the cap."""
    try:
        r = plan_regime(schedule, d, 0.75, eta, logit_cap=cap)
    except ValueError:
        n, t = schedule.cached_tokens, schedule.last_scale_tokens
        assert cap is not None
        assert not gamma_is_below(1, t, cap, 0.75, gamma_target(eta), extra_zero_keys=n - 1)
        return
    result = run_verification(schedule, d, 0.75, eta, [seed], cache="exact-fp64",
                              isolation="inline", logit_cap=cap)
    assert result.bit_errors == 0 and result.logit_cap_respected
    assert result.n_bits == d * r.carriers_witnessed
    assert r.carriers_guaranteed <= r.carriers_witnessed or r.eps != r.eps_requested
    recomputed = result.to_json()["logits"]["max_abs_logit_recomputed"]
    assert (recomputed is None) if cap is None else math.isfinite(recomputed)
