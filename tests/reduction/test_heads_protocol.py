"""The multi-head, multi-layer instance (docs/theorem.md#c2-run) through the one protocol.

D * H heads, each with its own instance and key family, one message; Bob answers every
head in the same passes. Checked here: N = (D H - U) L' d and every bit back through the
exact cache at every shape hypothesis draws; one head unchanged; the exact cache's own
multi-head code agrees with the per-head wrapper of the one-head class; Bob's float32 fast
path decodes as his process path; per-head families are the spawned ones; unused heads
carry nothing; the verifier's O(L d) logit recomputation equals the full Gram maximum.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches.exact import ExactCache, exact_cache_bits
from caches.per_head import per_head_class
from lowerbound.validation import InvalidArgument
from reduction.heads import (
    carrying_heads,
    heads_bob_queries,
    heads_cached_keys,
    heads_values,
    recomputed_max_abs_logit,
    unused_head_set,
)
from reduction.keys import sample_key_families, sample_keys
from reduction.parties import alice_states, bob_answer
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule
from reduction.var_head import max_abs_logit

SMALL = Schedule.parse("1,2,3,4")  # L = 14, T_K = 16, d_min(14, 3/4) = 17
VAR256 = Schedule.parse("var-256")


def _public(heads: int, layers: int, unused: int = 0, key_seed: int = 11, d: int = 24,
            schedule: Schedule = SMALL, cache: str = "exact") -> PublicParams:
    return PublicParams(schedule, d, 0.75, 0.25, key_seed, cache, heads=heads, layers=layers,
                        unused_heads=unused)


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 3), st.integers(0, 50))
def test_exact_recovers_every_bit_of_every_head(heads: int, layers: int, unused: int,
                                                seed: int) -> None:
    unused = min(unused, heads * layers - 1)
    r = run_verification(SMALL, 24, 0.75, 0.25, [seed], isolation="inline", heads=heads,
                         layers=layers, unused_heads=unused)
    j = r.to_json()
    carrying = heads * layers - unused
    assert j["instance_bits"] == carrying * SMALL.cached_tokens * 24
    assert j["bit_errors"] == 0 and j["bound_respected"]
    assert j["message_bits"] == exact_cache_bits(SMALL.cached_tokens, 24, heads=heads * layers)
    per_head = r.runs[0].head_symbol_errors
    if heads * layers == 1:
        assert per_head is None
    else:
        assert per_head is not None and sum(e is None for e in per_head) == unused
        assert all(e == 0 for e in per_head if e is not None)


def test_one_head_is_the_one_head_reduction() -> None:
    """D = H = 1: the family is sampled from key_seed itself (no spawn), the exact message
    has the one-head header, and the bits are Alice's (L', d) matrix."""
    pub = _public(1, 1)
    fam = sample_keys(SMALL.cached_tokens, 24, 0.75, np.random.default_rng(11))
    assert np.array_equal(pub.key_family().signs, fam.signs)
    assert pub.bit_rows == pub.n_carriers == SMALL.cached_tokens
    bits = np.random.default_rng(0).integers(0, 2, (pub.bit_rows, 24), dtype=np.uint8)
    states = alice_states(bits, pub, 0)
    assert 8 * len(states[-1]) == exact_cache_bits(SMALL.cached_tokens, 24)
    assert pub.cache_params.block_prefix == ()


def test_head_families_are_the_spawned_ones_and_differ() -> None:
    pub = _public(3, 2)
    children = np.random.SeedSequence(11).spawn(6)
    for j, child in enumerate(children):
        want = sample_keys(SMALL.cached_tokens, 24, 0.75, np.random.default_rng(child))
        assert np.array_equal(pub.key_family(j).signs, want.signs)
    assert not np.array_equal(pub.key_family(0).signs, pub.key_family(1).signs)
    with pytest.raises(InvalidArgument, match="head=6"):
        pub.key_family(6)


def test_batched_families_equal_one_by_one_including_repairs() -> None:
    """sample_key_families redoes a family with an offending pair through sample_keys: at
    L = 5, d = d_min(5, 3/4) = 9 some first draws need repair (checked here, so the redo
    path runs), and every family equals the one-by-one result."""
    seeds = np.random.SeedSequence(3).spawn(40)
    batch = sample_key_families(5, 9, 0.75, seeds)
    one = [sample_keys(5, 9, 0.75, np.random.default_rng(s)) for s in seeds]
    assert any(f.rounds > 1 for f in one)
    for a, b in zip(batch, one, strict=True):
        assert np.array_equal(a.signs, b.signs)
        assert (a.max_inner_product, a.rounds) == (b.max_inner_product, b.rounds)


def test_unused_heads_are_zero_public_and_skipped() -> None:
    pub = _public(4, 2, unused=3)
    unused = unused_head_set(pub)
    assert len(unused) == 3 and unused == unused_head_set(_public(4, 2, unused=3))
    assert set(unused).isdisjoint(carrying_heads(pub).tolist())
    keys = heads_cached_keys(pub)
    bits = np.ones((pub.bit_rows, 24), dtype=np.uint8)
    values = heads_values(pub, bits)
    for j in range(8):
        layer, head = divmod(j, 4)
        zero = j in unused
        assert (not keys[layer, head].any()) == zero
        assert (not values[layer, head].any()) == zero
    assert pub.bit_rows == 5 * SMALL.cached_tokens
    with pytest.raises(InvalidArgument, match="leaves no head"):
        _public(2, 1, unused=2)


def test_exact_cache_agrees_with_the_per_head_wrapper() -> None:
    """The native multi-head exact cache and the one-head exact class run head by head by
    the wrapper give the same outputs on Alice's and Bob's blocks (bit for bit)."""

    class OneHeadExact(ExactCache):  # rewrites process: it does not inherit MULTI_HEAD
        def process(self, queries: np.ndarray, keys: np.ndarray,
                    values: np.ndarray) -> np.ndarray:
            return ExactCache.process(self, queries, keys, values)

    pub = _public(2, 2)
    params = pub.cache_params
    wrapped = per_head_class(OneHeadExact)
    a, b = ExactCache(params), wrapped(params)
    keys, rng = heads_cached_keys(pub), np.random.default_rng(1)
    values = heads_values(pub, rng.integers(0, 2, (pub.bit_rows, 24)))
    for start, stop in SMALL.block_bounds[:-1]:
        q = rng.normal(size=(2, 2, stop - start, 24))
        za = a.process(q, keys[:, :, start:stop], values[:, :, start:stop])
        zb = b.process(q, keys[:, :, start:stop], values[:, :, start:stop])
        assert np.array_equal(za, zb)
    back = wrapped.from_bytes(b.to_bytes(), params)
    q = rng.normal(size=(2, 2, 16, 24))
    zero = np.zeros_like(q)
    assert np.array_equal(back.process(q, zero, zero), a.process(q, zero, zero))


@pytest.mark.parametrize("workers", [1, 2])
def test_fast_path_decodes_as_the_process_path(workers: int) -> None:
    """Bob's float32 fast path on every head (threads sharing the heads) decodes every bit
    as the float64 process path of the same cache does, and does not depend on
    ``workers``."""
    pub = _public(2, 3)
    bits = np.random.default_rng(5).integers(0, 2, (pub.bit_rows, 24), dtype=np.uint8)
    message = alice_states(bits, pub, 0)[-1]
    fast = bob_answer(message, pub, workers=workers).outputs
    assert np.array_equal((fast > pub.tau).astype(np.uint8), bits)
    assert np.array_equal(fast, bob_answer(message, pub, workers=1).outputs)
    cache = ExactCache.from_bytes(message, pub.cache_params)
    t = SMALL.last_scale_tokens
    q = np.zeros((3, 2, t, 24))
    q[:, :, : SMALL.cached_tokens] = heads_bob_queries(pub, np.arange(SMALL.cached_tokens))
    slow = cache.process(q, np.zeros_like(q), np.zeros_like(q))[:, :, : SMALL.cached_tokens]
    slow_rows = slow.reshape(6 * SMALL.cached_tokens, 24)
    assert np.array_equal(slow_rows > pub.tau, fast > pub.tau)
    np.testing.assert_allclose(fast, slow_rows, atol=1e-5)


def test_bob_answers_only_the_rows_asked() -> None:
    pub = _public(2, 2)
    bits = np.random.default_rng(2).integers(0, 2, (pub.bit_rows, 24), dtype=np.uint8)
    message = alice_states(bits, pub, 0)[-1]
    rows = np.array([0, 13, 14, 40, 55])
    out = bob_answer(message, pub, rows).outputs
    assert out.shape == (5, 24)
    assert np.array_equal((out > pub.tau).astype(np.uint8), bits[rows])
    with pytest.raises(InvalidArgument, match="rows must lie"):
        bob_answer(message, pub, [pub.bit_rows])


@pytest.mark.parametrize("var_head", [False, True])
def test_recomputed_logit_is_the_gram_maximum(var_head: bool) -> None:
    pub = PublicParams(SMALL, 24, 0.75, 0.25, 4, heads=2, layers=2, unused_heads=1,
                       var_head=var_head)
    rows = np.arange(pub.bit_rows)
    brute = 0.0
    for j in carrying_heads(pub):
        tokens = np.arange(pub.n_carriers)
        brute = max(brute, max_abs_logit(pub.bob_queries(tokens, int(j)),
                                         pub.cached_keys(int(j))))
    assert recomputed_max_abs_logit(pub, rows) == pytest.approx(brute, rel=1e-12)


def test_process_parties_on_many_heads() -> None:
    """The worker processes carry the stacked bits and Bob's stacked answer."""
    r = run_verification(SMALL, 24, 0.75, 0.25, 1, heads=3, layers=1, isolation="process")
    assert r.to_json()["bit_errors"] == 0 and r.n_bits == 3 * SMALL.cached_tokens * 24


def test_same_seed_same_run() -> None:
    kw = dict(isolation="inline", heads=2, layers=2, cache="snapkv", options={"budget": 0.5})
    a = run_verification(VAR256, 64, 0.75, 0.25, [3], **kw).to_json()
    b = run_verification(VAR256, 64, 0.75, 0.25, [3], **kw).to_json()
    assert a["runs"] == b["runs"]


def test_multi_index_and_levels_on_many_heads() -> None:
    """Multi-Index (Bob asks for T random bits of the stacked matrix) and 2^b value levels
    go through the head grid unchanged."""
    r = run_verification(SMALL, 24, 0.75, 0.25, [1], isolation="inline", heads=2, layers=2,
                         num_queries=200)
    assert r.bits_checked == 200 and r.bit_errors == 0 and r.n_bits == 4 * 14 * 24
    r = run_verification(SMALL, 24, 0.75, 0.0, [1], isolation="inline", heads=2, layers=2,
                         bits_per_value=2)
    assert r.bit_errors == 0 and r.n_bits == 4 * 14 * 24 * 2
