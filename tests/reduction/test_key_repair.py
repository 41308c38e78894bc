"""Key repair (Lemma L1, docs/theorem.md#l1) below d_min, where the first sample fails.

At L = 424, eps = 3/4, d = 24 (below the Hoeffding d_min 41 and the exact-binomial 29)
a random family has ~1.6 pairs with <sigma_i, sigma_j> > eps d in expectation
(L(L-1)/2 * P(Bin(24, 1/2) > 21)), so the first sample usually fails: the rows of the
offending pairs are resampled, and the family returned is still certified.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lowerbound.jl import d_min, d_min_exact, exact_failure_bound
from reduction import keys as keys_module
from reduction import public as public_module
from reduction.isolation.parties import InlineParties
from reduction.keys import bad_rows, replay_keys, sample_keys
from reduction.protocol import run_seed
from reduction.public import PublicParams
from reduction.schedule import Schedule

L, D, EPS = 424, 24, 0.75


def _brute_max(signs: np.ndarray) -> int:
    g = signs.astype(np.int64) @ signs.T.astype(np.int64)
    np.fill_diagonal(g, -signs.shape[1] - 1)
    return int(g.max())


def test_the_regime_is_below_d_min_and_a_bad_pair_is_expected() -> None:
    assert D < d_min_exact(L, EPS) < d_min(L, EPS)
    assert exact_failure_bound(L, EPS, D) > 1  # expected bad pairs of one sample


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_repair_runs_more_than_one_round_and_certifies_the_family(seed: int) -> None:
    family = sample_keys(L, D, EPS, np.random.default_rng(seed), require_d_min=False)
    assert family.rounds > 1  # the first sample had a pair above eps d
    assert family.max_inner_product <= EPS
    assert _brute_max(family.signs) <= EPS * D  # checked again, independently
    assert bad_rows(family.signs, EPS).size == 0
    assert family.signs.shape == (L, D) and set(np.unique(family.signs)) == {-1, 1}


def test_below_d_min_is_refused_in_the_theorems_regime() -> None:
    with pytest.raises(ValueError, match="need d >= 41"):
        sample_keys(L, D, EPS, 1)


@pytest.mark.parametrize("seed", range(6))
def test_a_replayed_family_is_the_sampled_one(seed: int) -> None:
    """The workers rebuild the family from the generator and the repair log (no Gram
    pass): the same signs, rounds and certificate as the verifier's sample."""
    fam = sample_keys(L, D, EPS, np.random.default_rng(seed), require_d_min=False)
    again = replay_keys(L, D, EPS, np.random.default_rng(seed), fam.repairs,
                        fam.max_inner_product)
    assert np.array_equal(again.signs, fam.signs) and again.rounds == fam.rounds
    assert _brute_max(again.signs) == round(fam.max_inner_product * D) <= EPS * D


def test_a_malformed_certificate_is_refused() -> None:
    fam = sample_keys(L, D, EPS, np.random.default_rng(1), require_d_min=False)
    assert fam.repairs, "the test needs a family that was repaired"
    with pytest.raises(ValueError, match="increasing"):
        replay_keys(L, D, EPS, 1, ((5, 3),), fam.max_inner_product)
    with pytest.raises(ValueError, match="rows of 0"):
        replay_keys(L, D, EPS, 1, ((L,),), fam.max_inner_product)
    with pytest.raises(ValueError, match="not an integer"):
        replay_keys(L, D, EPS, 1, fam.repairs, 0.76)
    with pytest.raises(ValueError, match="integer row indices"):
        PublicParams.from_json({**_public().to_json(), "key_repairs": [[True]],
                                "key_max_inner_product": 0.5})


def _public() -> PublicParams:
    return PublicParams(Schedule.preset("var-256"), 64, 0.75, 0.25, 11, "exact")


class _RecordingParties(InlineParties):
    """Inline parties that keep the public parameters each party was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[PublicParams] = []

    def alice_states(self, bits, public, cache_seed):  # type: ignore[no-untyped-def]
        self.sent.append(public)
        return super().alice_states(bits, public, cache_seed)

    def bob_answer(self, message, public, tokens=None):  # type: ignore[no-untyped-def]
        self.sent.append(public)
        return super().bob_answer(message, public, tokens)


def test_the_family_is_certified_once_per_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """One seed: the Gram pass of the key check runs once, in the verifier. Alice and Bob
    are sent the certificate, and rebuilding the family from what they were sent (a fresh
    process: empty caches) runs no Gram pass and gives the verifier's signs."""
    calls = []
    original = keys_module._column_maxima

    def counting(signs: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        calls.append(signs.shape)
        return original(signs, *args, **kwargs)

    monkeypatch.setattr(keys_module, "_column_maxima", counting)
    public_module._key_family_cached.cache_clear()
    parties = _RecordingParties()
    run = run_seed(Schedule.preset("var-256"), 64, 0.75, 0.25, 5, parties)
    assert run.bit_errors == 0 and calls == [(424, 64)]
    verifier_signs = public_module._key_family_cached(424, 64, 0.75, run.key_seed).signs
    assert len(parties.sent) == 2
    for sent in parties.sent:
        assert sent.key_repairs is not None
        back = PublicParams.from_json(json.loads(json.dumps(sent.to_json())))
        public_module._key_family_cached.cache_clear()
        public_module._key_family_replayed.cache_clear()
        assert back == sent and np.array_equal(back.key_family().signs, verifier_signs)
    assert calls == [(424, 64)]
