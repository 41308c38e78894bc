"""The released VAR head (Lemma VAR-HEAD, docs/theorem.md#var-head): normalised q and k,
scale clamped at 100, every logit actually computed inside [-100, 100]."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from caches.exact import ExactCache
from kvbound.cli import main
from reduction.attention import record_logits
from reduction.attention32 import Float32KV, attend_float32
from reduction.isolation.frames import RES_OK, Frame
from reduction.isolation.parties import InlineParties, PartyFailure, _logit_claim
from reduction.parties import BobAnswer, alice_message, bob_outputs
from reduction.protocol import PublicParams, run_seed
from reduction.schedule import Schedule
from reduction.var_head import (
    clamped_scale,
    l2_normalise,
    max_abs_logit,
    var_head_attention,
)


def naive_var_attention(q_raw: np.ndarray, k_raw: np.ndarray, v: np.ndarray,
                        s: float) -> tuple[np.ndarray, np.ndarray]:
    """softmax(s q/|q| (k/max(|k|, 1e-12))^T) v, written out directly (no chunks)."""
    qn = q_raw / np.maximum(np.sqrt((q_raw**2).sum(1, keepdims=True)), 1e-12)
    kn = k_raw / np.maximum(np.sqrt((k_raw**2).sum(1, keepdims=True)), 1e-12)
    logits = s * qn @ kn.T
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)) @ v, logits


def test_normalise_like_f_normalize() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1e-13, 0.0], [-2.0, 0.0]])
    np.testing.assert_allclose(l2_normalise(x), [[0.6, 0.8], [0, 0], [0.1, 0], [-1, 0]])


def test_scale_is_clamped_at_100() -> None:
    assert clamped_scale(math.log(4.0)) == pytest.approx(4.0, rel=1e-15)
    assert clamped_scale(math.log(100.0)) == clamped_scale(50.0) == math.exp(math.log(100))
    assert 100.0 <= clamped_scale(50.0) <= 100.0 * (1 + 1e-15)
    with pytest.raises(ValueError, match="NaN"):
        clamped_scale(float("nan"))


def test_attention_matches_a_direct_softmax() -> None:
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(7, 16)), rng.normal(size=(30, 16)), rng.normal(size=(30, 3))
    k[4] = 0.0  # a zero key stays zero and scores 0
    z, top = var_head_attention(q, k, v, math.log(37.0))
    z_ref, logits = naive_var_attention(q, k, v, 37.0)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-14)
    assert top == pytest.approx(np.abs(logits).max(), rel=1e-13) and top <= 37.0 * (1 + 1e-12)
    assert max_abs_logit(37.0 * l2_normalise(q), l2_normalise(k)) == pytest.approx(top)


def test_bob_in_a_var_head_is_the_released_attention() -> None:
    """Bob's outputs = the VAR head's attention over the raw inputs: Alice's sign keys
    and bits (zero rows for unused tokens), his raw query sigma_i, log-scale ln C."""
    sched = Schedule.parse("1,2,3,4")
    pub = PublicParams(sched, 10, 0.75, 0.25, 0, "exact-fp64", carriers=9, var_head=True)
    bits = np.random.default_rng(1).integers(0, 2, size=(9, 10))
    z = bob_outputs(alice_message(bits, pub, 0), pub)
    signs = pub.key_family().signs.astype(float)
    k_raw = np.zeros((14 + 16, 10))
    k_raw[:9] = signs
    v = np.zeros((30, 10))
    v[:9] = bits
    z_ref, logits = naive_var_attention(signs, k_raw, v, clamped_scale(math.log(pub.scale)))
    # Bob's exact cache takes the float32 fast path: within its proved rounding bound of
    # the float64 head (rows it recomputed in float64 carry NaN there: float64 rounding)
    cache = ExactCache.from_bytes(alice_message(bits, pub, 0), pub.cache_params)
    bound = attend_float32(pub.bob_queries(np.arange(9)),
                           Float32KV.from_arrays(cache.keys, cache.values), zero_tokens=16,
                           threshold=pub.tau).bound
    bound = np.where(np.isnan(bound), 1e-12, bound)
    assert (np.abs(z - z_ref) <= bound[:, None] + 1e-15).all()
    assert float(bound.max()) < 1e-3  # a real check, not a vacuous one
    assert np.abs(logits).max() <= 100


@pytest.mark.parametrize("preset", ["var-256", "var-512"])
def test_actual_logits_stay_inside_the_cap(preset: str) -> None:
    """var-256 and var-512 at d = 64 in a VAR head: every bit decoded and every logit the
    exact (float16) cache computed in Bob's passes lies in [-100, 100]."""
    sched = Schedule.preset(preset)
    result = run_seed(sched, 64, 0.75, 0.25, 0, InlineParties(), var_head=True)
    assert result.bit_errors == 0 and result.logit_cap_respected
    pub = PublicParams(sched, 64, 0.75, 0.25, result.key_seed, var_head=True)
    bits = np.random.default_rng(2).integers(0, 2, size=(sched.cached_tokens, 64))
    message = alice_message(bits, pub, 0)
    with record_logits() as rec:
        z = bob_outputs(message, pub)
    # Bob's fast path queries his L rows only (no padded rows), each against the L cached
    # and the T_K zero tokens: every one of those scores is recorded
    assert rec.count == sched.cached_tokens * sched.total_tokens
    assert 0 < rec.max_abs <= 100
    assert rec.max_abs == pytest.approx(pub.scale, rel=1e-12)
    np.testing.assert_array_equal((z > pub.tau).astype(int), bits)


def test_must_show_var512_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """`kvbound verify --var-head --schedule var-512 --d 64 --json` (Bob in his own
    process): every bit decoded; the largest |logit| he reports is <= 100 and agrees with
    the verifier's recomputation from the public keys."""
    argv = ["verify", "--var-head", "--schedule", "var-512", "--d", "64", "--json", "--quiet"]
    assert main(argv) == 0
    j = json.loads(capsys.readouterr().out)
    logits = j["logits"]
    assert j["bit_errors"] == 0 and j["bits_decoded"] == 1216 * 64
    assert logits["var_head"] is True and logits["logit_cap"] == 100
    assert 0 < logits["max_abs_logit_claimed"] <= 100
    assert logits["max_abs_logit_claimed"] == pytest.approx(
        logits["max_abs_logit_recomputed"], rel=1e-12)
    assert logits["logit_cap_respected"] is True
    assert j["low_dimension"]["regime"] == "theorem"


class _BoastfulBob(InlineParties):
    """Honest outputs, but a claimed logit above the cap."""

    def bob_answer(self, message, public, tokens=None):  # type: ignore[no-untyped-def]
        return BobAnswer(super().bob_answer(message, public, tokens).outputs, 150.0)


def test_a_claim_above_the_cap_is_flagged() -> None:
    sched = Schedule.parse("1,2,3")
    run = run_seed(sched, 24, 0.75, 0.25, 0, _BoastfulBob(), var_head=True)
    assert run.max_abs_logit == 150.0 and not run.logit_cap_respected
    assert run.max_abs_logit_recomputed is not None and run.max_abs_logit_recomputed <= 100


@pytest.mark.parametrize("claim", ["abc", -1.0, True, [1]])
def test_malformed_claims_are_refused(claim: object) -> None:
    with pytest.raises(PartyFailure, match="max_abs_logit"):
        _logit_claim(Frame(RES_OK, {"max_abs_logit": claim}, []), "demo")
    assert _logit_claim(Frame(RES_OK, {"max_abs_logit": "inf"}, []), "demo") == math.inf
    assert _logit_claim(Frame(RES_OK, {}, []), "demo") is None


@pytest.mark.parametrize(("d", "carriers", "var_head", "cap"), [
    (24, None, False, 40.0), (24, None, True, None), (10, 9, True, None), (10, 9, False, 12.0)])
def test_the_closed_form_largest_logit_is_the_one_formed(d: int, carriers: int | None,
                                                         var_head: bool,
                                                         cap: float | None) -> None:
    """#cap: the verifier's closed form (the query scale) equals the largest |logit| of
    Bob's actual float64 queries against the cached keys, computed here the long way."""
    sched = Schedule.parse("1,2,3,4")
    pub = PublicParams(sched, d, 0.75, 0.25, 3, "exact", carriers=carriers,
                       var_head=var_head, logit_cap=cap)
    tokens = np.arange(pub.n_carriers)
    long_way = max_abs_logit(pub.bob_queries(tokens), pub.cached_keys())
    assert pub.max_abs_logit == pytest.approx(long_way, rel=1e-14)
    assert pub.max_abs_logit <= (pub.effective_cap or math.inf)
