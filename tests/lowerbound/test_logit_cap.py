"""Lemmas CAP, UNUSED and WITNESS: the reduction under a logit cap (lowerbound.logit_cap)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvbound.cli import main
from lowerbound.bound import low_dimension_bound_bits, theorem_bound_bits
from lowerbound.decoding import tau
from lowerbound.families import distinct_keys_scale, eps_floor
from lowerbound.jl import d_min, max_keys
from lowerbound.logit_cap import (
    fits_under_cap,
    max_carrying_tokens,
    plan_under_cap,
)
from lowerbound.softmax import c_min, gamma, gamma_is_below, gamma_target, scale_for_gamma
from reduction.attention import attend
from reduction.decode import decode_bits
from reduction.keys import sample_keys


def test_cli_logit_cap_reports_eps_and_l_star(capsys: pytest.CaptureFixture[str]) -> None:
    """Must-show: constants --logit-cap 100 --schedule var-256 --d 64 --json: eps and L*."""
    assert main(["constants", "--logit-cap", "100", "--schedule", "var-256", "--d", "64",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    eps = Fraction(r["eps"])
    assert r["carrying_tokens"] == 424 and r["all_tokens_carry"] and r["certified"]
    assert d_min(424, eps) <= 64 < d_min(424, eps - Fraction(1, 1000))  # the best decimal
    assert r["c"] <= 100 and r["c"] == c_min(424, 256, eps, Fraction(1, 4))
    assert r["bound_bits"] == 424 * 64
    assert float(r["eps_floor"]["lo"]) < float(eps)


def test_cli_low_dimension_under_cap(capsys: pytest.CaptureFixture[str]) -> None:
    """d = 16 under the cap: no refusal; L* < L; one more token refuted by the certificate."""
    assert main(["constants", "--logit-cap", "100", "--d", "16", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert 0 < r["carrying_tokens"] < 424 and r["certified"]
    assert r["one_more_token_gamma_at_cap"] is not None
    assert float(r["one_more_token_gamma_at_cap"]["lo"]) >= 0.6
    assert r["carrying_tokens_by_family"]["gilbert-varshamov"] == 424
    assert main(["constants", "--d", "16"]) == 2  # without a cap the old refusal stands


@st.composite
def capped_instances(draw: st.DrawFn) -> tuple[int, int, int, Fraction, Fraction]:
    n = draw(st.integers(2, 400))
    t = draw(st.integers(1, 300))
    d = draw(st.integers(4, 80))
    cap = Fraction(draw(st.integers(5, 120)))
    eta = draw(st.sampled_from([Fraction(0), Fraction(1, 8), Fraction(1, 4), Fraction(1, 2)]))
    return n, t, d, cap, eta


def _grid_admits_more(n: int, t: int, k: int, d: int, cap: Fraction, target: Fraction) -> bool:
    """Whether some eps = i/2000 has d >= d_min(k, eps) and gamma(B) < target (float + exact)."""
    grid = np.arange(1, 2000) / 2000
    m = k * (k - 1) / 2
    if m <= 1:
        admissible = grid
    else:
        x = 2 * math.log(m) / grid**2
        near = np.abs(x - d) < 1e-6  # too close for floats: decide with lowerbound's d_min
        admissible = grid[(x < d) & ~near]
        admissible = np.concatenate(
            [admissible, [e for e in grid[near] if d_min(k, Fraction(e)) <= d]])
    if admissible.size == 0:
        return False
    g = (k - 1) * np.exp(-float(cap) * (1 - admissible)) + (t + n - k) * math.exp(-float(cap))
    if (g < float(target) * (1 - 1e-9)).any():
        return True
    close = admissible[np.abs(g - float(target)) <= 1e-9 * float(target)]
    return any(gamma_is_below(k, t, cap, Fraction(e), target, extra_zero_keys=n - k)
               for e in close)


@given(capped_instances())
def test_reported_plan_is_maximal_exactly_and_on_a_grid(
    case: tuple[int, int, int, Fraction, Fraction],
) -> None:
    """CAP: at the reported eps d >= d_min and C_min <= B; L* + 1 fits for no eps (exactly,
    by the closed-form floor, and on a grid of step 1/2000)."""
    n, t, d, cap, eta = case
    target = gamma_target(eta)
    plan = plan_under_cap(n, t, d, eta, cap)
    k = plan.carrying_tokens
    if k >= 1:
        assert plan.eps is not None and plan.scale is not None
        assert d_min(k, plan.eps) <= d
        assert c_min(k, t, plan.eps, eta, extra_zero_keys=n - k) <= cap
        assert gamma_is_below(k, t, plan.scale, plan.eps, target, extra_zero_keys=n - k)
    if k < n:
        floor = eps_floor(k + 1, d)
        assert not floor.exists or not gamma_is_below(
            k + 1, t, cap, floor.lo, target, extra_zero_keys=n - k - 1)
        assert not fits_under_cap(n, t, k + 1, d, target, cap)
        assert not _grid_admits_more(n, t, k + 1, d, cap, target)


def test_no_cap_reduces_to_theorem_and_c1() -> None:
    """CAP with B = None and a fixed eps: L* = max_keys(d, eps) (C1), = L at d >= d_min (THM)."""
    eps = Fraction(3, 4)
    for d in range(4, 70, 3):
        plan = plan_under_cap(424, 256, d, Fraction(1, 4), None, eps=eps)
        assert plan.carrying_tokens == max_keys(d, eps, cap=424)
        assert plan.bound_bits() == low_dimension_bound_bits(d, 424, eps)
        if d >= d_min(424, eps):
            assert plan.bound_bits() == theorem_bound_bits(d, 424, eps)
    # with eps free and no cap, only eps0 < 1 matters: L'(L'-1)/2 < e^{d/2}
    assert max_carrying_tokens(10**6, 1, 20, Fraction(3, 5), None) == max_keys(20, 1 - Fraction(
        1, 10**12))


def test_zero_keys_enter_gamma_like_last_scale() -> None:
    """UNUSED: Z zero-key tokens add Z e^{-C}: the same as Z more last-scale tokens."""
    assert gamma(50, 7, 12.0, 0.5, extra_zero_keys=3) == gamma(50, 10, 12.0, 0.5)
    assert scale_for_gamma(50, 7, 0.5, Fraction(1, 3), extra_zero_keys=3) == scale_for_gamma(
        50, 10, 0.5, Fraction(1, 3))
    assert c_min(50, 7, 0.5, 0.25, extra_zero_keys=3) == c_min(50, 10, 0.5, 0.25)
    with pytest.raises(ValueError, match="extra_zero_keys=-1"):
        gamma(50, 7, 12.0, 0.5, extra_zero_keys=-1)


@given(st.integers(4, 80), st.integers(1, 32), st.integers(8, 40), st.integers(10, 60),
       st.sampled_from([Fraction(0), Fraction(1, 4)]), st.integers(0, 2**32 - 1))
def test_end_to_end_decodes_under_the_cap(
    n: int, t: int, d: int, cap: int, eta: Fraction, seed: int
) -> None:
    """UNUSED + CAP: whenever lowerbound says L* tokens fit, exact float64 attention with the
    other tokens zeroed decodes every bit at C <= B, every logit in [-B, B]."""
    plan = plan_under_cap(n, t, d, eta, cap)
    k, z = plan.carrying_tokens, plan.zero_key_tokens
    if k == 0:
        return
    assert plan.eps is not None and plan.scale is not None
    key_rng, bit_rng = np.random.default_rng(seed).spawn(2)
    keys = sample_keys(k, d, float(plan.eps), key_rng, require_d_min=False).keys
    bits = bit_rng.integers(0, 2, size=(k, d))
    all_keys = np.vstack([keys, np.zeros((z + t, d))])
    values = np.vstack([bits, np.zeros((z + t, d))]).astype(np.float64)
    queries = plan.scale * keys
    assert np.abs(queries @ all_keys.T).max() <= cap
    out = attend(queries, all_keys, values)
    g = gamma(k, t, plan.scale, float(plan.eps), extra_zero_keys=z)
    assert (decode_bits(out, tau(g, float(eta))) == bits).all()


def test_gilbert_varshamov_family_beats_union_bound() -> None:
    """WITNESS: at d = 16 the greedy code carries all 424 tokens; the union bound 54."""
    target = gamma_target(Fraction(1, 4))
    assert max_carrying_tokens(424, 256, 16, target, 100) == 54
    assert max_carrying_tokens(424, 256, 16, target, 100, family="binomial") == 362
    assert max_carrying_tokens(424, 256, 16, target, 100, family="gilbert-varshamov") == 424
    assert eps_floor(424, 16, "gilbert-varshamov").lo == Fraction(5, 8)


def test_distinct_keys_need_only_log2_l() -> None:
    """CAP (unbounded queries): L <= 2^d distinct keys decode at eps = 1 - 2/d, C ~ (d/2) ln L."""
    c = distinct_keys_scale(424, 256, 9, 0.25)  # 2^9 = 512 >= 424
    assert gamma_is_below(424, 256, c, Fraction(7, 9), Fraction(3, 5))
    assert not gamma_is_below(424, 256, math.nextafter(c, 0), Fraction(7, 9), Fraction(3, 5))
    assert c == pytest.approx(4.5 * math.log(423 / 0.6), rel=0.01)  # (d/2) ln((L-1)/target)
    assert c <= 100  # so at d = 9 all of var-256 fits even under VAR's cap
    assert max_carrying_tokens(424, 256, 9, Fraction(3, 5), 100,
                               family="gilbert-varshamov") == 424
    with pytest.raises(ValueError, match="need d >= 9"):
        distinct_keys_scale(424, 256, 8, 0.25)


def test_models_under_cap(capsys: pytest.CaptureFixture[str]) -> None:
    """--model is repeatable; each VAR model reports the eps under its cap of 100."""
    assert main(["constants", "--model", "var-d16", "--model", "var-d36", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["var-d16", "var-d36"]
    for r in rows:
        cap = r["under_cap"]
        assert cap["logit_cap"] == "100" and cap["certified"] and cap["all_tokens_carry"]
        assert cap["d_min_at_eps"] <= cap["head_dim"] == 64
        assert cap["bound_bits_whole_model"] == r["whole_model"]["bound_bits"]
        assert cap["c"] <= 100
    # Infinity clamps at 100 too (infinity/models/basic.py L220, L282-L284): its 6425
    # cached tokens all fit under the cap at head dimension 128
    assert main(["constants", "--model", "infinity-2b", "--json"]) == 0
    inf = json.loads(capsys.readouterr().out)
    assert inf["under_cap"]["logit_cap"] == "100" and inf["under_cap"]["all_tokens_carry"]


def test_certificate_rejects_wrong_plans() -> None:
    """The interval certificate fails for a plan claiming one token too many or too few."""
    import dataclasses

    from proofs.cap_certificates import certify_cap_plan

    plan = plan_under_cap(424, 256, 16, Fraction(1, 4), 100)
    assert certify_cap_plan(plan).holds
    fewer = dataclasses.replace(plan, carrying_tokens=plan.carrying_tokens - 1)
    more = dataclasses.replace(plan, carrying_tokens=plan.carrying_tokens + 1)
    assert not certify_cap_plan(fewer).holds  # L* + 1 (the true L*) fits: not maximal
    assert not certify_cap_plan(more).holds  # the family or gamma(C) < target fails
    assert plan.scale is not None
    over = dataclasses.replace(plan, scale=101.0)  # gamma is smaller, but C exceeds B
    assert certify_cap_plan(over).failures == (f"C=101.0 exceeds the cap {plan.logit_cap}",)


@pytest.mark.parametrize("family", ["hoeffding", "binomial", "gilbert-varshamov"])
@pytest.mark.parametrize("d", [12, 16, 24, 64])
def test_reported_eps_is_the_best(family: str, d: int) -> None:
    """CAP: the eps reported is the smallest admissible one (closed families: the floor
    itself; hoeffding: the first 3-decimal value above it), so C is the least possible."""
    from lowerbound.intervals import enclose
    from proofs.cap_certificates import family_floor_iv

    plan = plan_under_cap(424, 256, d, Fraction(1, 4), 100, family=family)  # type: ignore[arg-type]
    assert plan.eps is not None and plan.carrying_tokens >= 1
    floor_iv, problems = family_floor_iv(family, plan.carrying_tokens, d)
    floor = enclose(floor_iv)
    assert problems == []
    if family == "hoeffding":
        assert floor.hi < plan.eps and plan.eps - Fraction(1, 1000) <= floor.lo
    else:
        assert floor.contains(plan.eps) and floor.hi - floor.lo < Fraction(1, 10**50)
