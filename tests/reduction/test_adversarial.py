"""The approximate case attacked: the worst (eta, delta)-correct caches, at C = C_min.

``adversarial-eta`` moves every output entry by exactly eta towards tau; Lemma L3
(docs/theorem.md#l3) says tau still separates every bit at C_min, and that a threshold of
1/2 does not (for eta >= 1/2). ``adversarial-delta`` makes about a delta fraction of
errors, and the bound reported is (1 - H2(delta)) N (Lemma L4, docs/theorem.md#l4).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from caches.adversaries.adversarial import move_towards, worst_value
from kvbound.cli import main
from lowerbound.bound import index_lower_bound_bits
from lowerbound.softmax import gamma, gamma_target
from reduction.decode import decode_bits
from reduction.instance import make_instance
from reduction.parties import alice_message, bob_outputs
from reduction.protocol import SIMULATION_GAMMA_FRACTION, PublicParams, run_verification
from reduction.schedule import Schedule

V256 = Schedule.preset("var-256")
EPS = 0.75
ETAS = (0.25, 0.5, 0.9)


@pytest.mark.parametrize("eta", ETAS)
def test_adversarial_eta_decodes_every_bit_at_c_min(eta: float) -> None:
    result = run_verification(V256, 64, EPS, eta, 1, cache="adversarial-eta", at_c_min=True,
                              isolation="inline")
    assert result.public.scale == result.public.c_min
    assert result.bit_errors == 0
    # the adversary really moved the outputs: the margin shrinks with eta (Lemma L3 gives
    # at least (1 - eta)(1 - 1/(1 + gamma_max)) ... here just: below the unmoved margin)
    assert 0 < result.runs[0].decoding_margin < 1 - eta


@pytest.mark.parametrize("eta", (0.5, 0.9))
def test_tau_matters_a_threshold_of_one_half_fails(eta: float) -> None:
    """The same outputs decoded at tau: no error; at 1/2: many (a 1 bit sits below 1/2)."""
    public = PublicParams(V256, 64, EPS, eta, key_seed=7, cache="adversarial-eta",
                          at_c_min=True)
    instance = make_instance(V256.cached_tokens, 64, np.random.default_rng(3))
    z = bob_outputs(alice_message(instance.bits, public, 0), public)
    assert int((decode_bits(z, public.tau) != instance.bits).sum()) == 0
    wrong_at_half = int((decode_bits(z, 0.5) != instance.bits).sum())
    assert wrong_at_half > 0.4 * instance.n_bits  # nearly every 1 bit is read as 0


@pytest.mark.parametrize("eps", (0.5, 0.75))
@pytest.mark.parametrize("at_c_min", (True, False))
def test_bobs_scale_is_the_least_c_for_the_runs_eps(eps: float, at_c_min: bool) -> None:
    """C depends on eps (and eta): gamma(C) < target <= gamma(C^-) with the run's eps."""
    public = PublicParams(V256, 128, eps, 0.5, 0, at_c_min=at_c_min)
    fraction = 1 if at_c_min else SIMULATION_GAMMA_FRACTION
    target = float(gamma_target(0.5) * fraction)
    c, L, t = public.scale, V256.cached_tokens, V256.last_scale_tokens
    assert gamma(L, t, c, eps) < target <= gamma(L, t, math.nextafter(c, 0), eps)


def test_at_c_min_crosses_to_bob_as_json() -> None:
    public = PublicParams(V256, 64, EPS, 0.5, 3, "adversarial-delta", at_c_min=True, delta=0.1)
    again = PublicParams.from_json(json.loads(json.dumps(public.to_json())))
    assert again == public and again.scale == public.c_min
    assert again.cache_params == public.cache_params


def test_adversarial_delta_errs_on_about_delta_and_reports_its_bound() -> None:
    delta = 0.05
    result = run_verification(V256, 64, EPS, 0.5, 2, cache="adversarial-delta",
                              at_c_min=True, delta=delta, isolation="inline")
    bits = result.n_bits * len(result.runs)
    # Binomial(bits, delta): 6 standard deviations either side
    spread = 6 * math.sqrt(bits * delta * (1 - delta))
    assert abs(result.bit_errors - delta * bits) < spread
    assert result.lower_bound_bits == index_lower_bound_bits(result.n_bits, delta)
    assert result.to_json()["lower_bound_bits"] < result.n_bits
    assert not result.leak


def test_adversarial_delta_coins_differ_between_passes_and_repeat_per_query() -> None:
    public = PublicParams(V256, 64, EPS, 0.25, 1, "adversarial-delta", delta=0.3)
    instance = make_instance(V256.cached_tokens, 64, np.random.default_rng(0))
    message = alice_message(instance.bits, public, 0)
    z = bob_outputs(message, public)
    again = bob_outputs(message, public)
    np.testing.assert_array_equal(z, again)  # a function of the bytes and the query
    wrong = decode_bits(z, public.tau) != instance.bits
    t = V256.last_scale_tokens
    assert not np.array_equal(wrong[:t][: V256.cached_tokens - t], wrong[t:])


def test_cli_adversarial_eta_at_c_min_exits_0_with_zero_errors(capsys) -> None:
    code = main(["verify", "--cache", "adversarial-eta", "--eta", "0.5", "--at-c-min",
                 "--json", "--quiet"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["bit_errors"] == 0 and record["at_c_min"] is True
    assert record["C"] == record["C_min"]


def test_cli_adversarial_delta_reports_the_delta_bound(capsys) -> None:
    code = main(["verify", "--cache", "adversarial-delta", "--eta", "0.25", "--delta", "0.1",
                 "--at-c-min", "--json", "--quiet", "--isolation", "inline"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["lower_bound_bits"] == pytest.approx(
        record["instance_bits"] * (1 - (-(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9)))))
    assert 0 < record["bit_errors"] < 0.2 * record["bits_decoded"]


def test_protocol_quantities_cannot_be_given_by_hand() -> None:
    with pytest.raises(ValueError, match="takes tau from the protocol"):
        _ = PublicParams(V256, 64, EPS, 0.5, 0, "adversarial-eta", {"tau": 0.5}).cache_params


@given(st.floats(-2, 2), st.floats(0, 1), st.floats(0, 0.99), st.booleans())
def test_move_towards_moves_by_exactly_eta_towards_tau(z: float, tau: float, eta: float,
                                                       additive: bool) -> None:
    moved = float(move_towards(np.array([z]), tau, eta, additive=additive)[0])
    allowed = eta if additive else eta * abs(z)
    assert math.isclose(abs(moved - z), allowed, rel_tol=1e-12, abs_tol=1e-15)
    assert (moved <= z) if z > tau else (moved >= z)


def test_worst_value_is_on_the_other_side_of_tau() -> None:
    z = np.array([0.0, 0.3, 0.5, 0.51, 1.0])
    w = worst_value(z, 0.5)
    assert ((w > 0.5) == (z <= 0.5)).all() and set(w.tolist()) <= {0.0, 1.0}


def test_multi_index_counts_errors_only_on_the_asked_bits() -> None:
    """With errors present (adversarial-delta), the count is over Bob's T bits only,
    recounted here bit by bit from his raw outputs."""
    from reduction.isolation.parties import InlineParties
    from reduction.protocol import run_seed

    seen: list[tuple[PublicParams, np.ndarray]] = []
    d, t = 64, 500
    inst = make_instance(V256.cached_tokens, d, np.random.default_rng(9), num_queries=t)
    assert inst.queries is not None
    run = run_seed(V256, d, EPS, 0.25, 4, InlineParties(), cache="adversarial-delta", delta=0.3,
                   instance=inst, observe=lambda pub, z, truth: seen.append((pub, z)))
    public, z = seen[0]
    tokens = sorted({int(q) // d for q in inst.queries})
    wrong = 0
    for q in inst.queries.tolist():
        token, col = divmod(q, d)
        read = int(z[tokens.index(token), col] > public.tau)
        wrong += read != int(inst.bits[token, col])
    assert run.n_bits == t and run.bit_errors == wrong
    assert 0.15 * t < wrong < 0.45 * t  # Binomial(500, 0.3): mean 150, sd ~10


def test_decoding_is_strict_at_tau() -> None:
    """x_hat = [Z_hat > tau] (Lemma L3): an output sitting exactly on tau reads 0."""
    assert decode_bits(np.array([[0.375, np.nextafter(0.375, 1.0)]]), 0.375).tolist() == [[0, 1]]
