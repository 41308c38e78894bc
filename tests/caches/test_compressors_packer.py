"""The instance-optimal packer (docs/theorem.md#tight) and its hash, routing and codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches._bitstream import BitReader, BitWriter, leb128, read_leb128
from caches._mph import build_mph, decode_mph, fingerprints, sign_words
from caches._routing import Router
from caches.matching.packer import PackerCache, pack_ratio
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError, frame, unframe
from reduction.protocol import run_verification
from reduction.schedule import Schedule
from tests.corruption import assert_rejects_corruption

EPS, ETA = 0.7, 0.1


@pytest.mark.parametrize(
    ("schedule", "d", "seeds"),
    [("var-256", 64, 2), ("var-256", 128, 1), ("var-512", 64, 1), ("var-512", 128, 1)],
)
def test_packer_decodes_every_bit_within_one_plus_twelve_over_d(schedule, d, seeds):
    result = run_verification(Schedule.preset(schedule), d, EPS, ETA, seeds, cache="packer",
                              isolation="inline")
    assert result.bit_errors == 0
    assert result.message_bits <= result.n_bits * (1 + 12 / d)
    assert not result.leak


def test_packer_decodes_every_bit_with_bob_in_another_process():
    result = run_verification(Schedule.preset("var-256"), 64, EPS, ETA, 1, cache="packer",
                              isolation="process")
    assert result.bit_errors == 0
    assert result.message_bits <= result.n_bits * (1 + 12 / 64)


def _alice(d: int = 64, schedule: str = "var-256",
           seed: int = 0) -> tuple[PackerCache, CacheParams]:
    params = CacheParams(d, Schedule.preset(schedule))
    rng = np.random.default_rng(seed)
    cache = PackerCache(params)
    for start, stop in params.schedule.block_bounds[:-1]:
        t = stop - start
        keys = rng.choice([-1.0, 1.0], size=(t, d)) / np.sqrt(d)
        cache.process(np.zeros((t, d)), keys, rng.integers(0, 2, size=(t, d)).astype(float))
    return cache, params


def test_pack_ratio_and_overhead_agree():
    cache, params = _alice()
    ratio = pack_ratio(cache.to_bytes(), params)
    assert ratio == pytest.approx(1 + cache.overhead_bits_per_token() / params.d)
    assert 1.0 < ratio <= 1 + 12 / params.d


def test_restored_packer_routes_each_key_to_its_values_and_zero_queries_to_zeros():
    params = CacheParams(32, Schedule.preset("var-256"))
    rng = np.random.default_rng(0)
    n = params.schedule.cached_tokens
    keys = rng.choice([-1.0, 1.0], size=(n, 32)) / np.sqrt(32)
    values = rng.integers(0, 2, size=(n, 32)).astype(float)
    cache = PackerCache(params)
    for start, stop in params.schedule.block_bounds[:-1]:
        cache.process(np.zeros((stop - start, 32)), keys[start:stop], values[start:stop])
    restored = PackerCache.from_bytes(cache.to_bytes(), params)
    queries = np.concatenate([25.0 * keys[::4], np.zeros((3, 32))])
    zeros = np.zeros_like(queries)
    out = restored.process(queries, zeros, zeros)
    np.testing.assert_array_equal(out[:-3], values[::4])
    np.testing.assert_array_equal(out[-3:], 0.0)
    assert restored.to_bytes() == cache.to_bytes()


def test_packer_rejects_non_binary_values_and_duplicate_keys_in_a_scale():
    params = CacheParams(4, Schedule.from_sides([1, 2, 3]))
    cache = PackerCache(params)
    with pytest.raises(ValueError, match="0/1 values"):
        cache.process(np.zeros((1, 4)), np.ones((1, 4)), np.full((1, 4), 0.5))
    with pytest.raises(ValueError, match="zero key"):
        cache.process(np.zeros((1, 4)), np.zeros((1, 4)), np.ones((1, 4)))
    with pytest.raises(ValueError, match="fingerprint"):
        cache.process(np.zeros((2, 4)), np.ones((2, 4)), np.ones((2, 4)))


def test_empty_packer_round_trips():
    params = CacheParams(8, Schedule.from_sides([1, 2]))
    restored = PackerCache.from_bytes(PackerCache(params).to_bytes(), params)
    assert restored.process(np.ones((2, 8)), np.zeros((2, 8)), np.zeros((2, 8))).sum() == 0


def test_packer_rejects_truncations_and_bit_flips():
    cache, params = _alice(d=32)
    message = cache.to_bytes()
    assert_rejects_corruption(PackerCache, message, params, step=37, flips=40, seed=1)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_packer_parses_any_correctly_framed_payload_or_raises_value_error(payload):
    params = CacheParams(8, Schedule.from_sides([1, 2, 3]))
    try:
        PackerCache.from_bytes(frame(PackerCache.TAG, payload), params)
    except ValueError:
        pass


def test_packer_rejects_token_counts_beyond_the_schedule():
    params = CacheParams(8, Schedule.from_sides([1, 2]))
    with pytest.raises(CorruptMessageError, match="exceed"):
        PackerCache.from_bytes(frame(PackerCache.TAG, leb128(6) + bytes(6)), params)


def test_a_restored_packer_goes_on_streaming():
    """The state after a scale is complete: restore it, add the next scale, decode both."""
    params = CacheParams(16, Schedule.from_sides([2, 3, 4]))
    rng = np.random.default_rng(5)
    keys = rng.choice([-1.0, 1.0], size=(13, 16)) / 4
    values = rng.integers(0, 2, size=(13, 16)).astype(float)
    first = PackerCache(params)
    first.process(np.zeros((4, 16)), keys[:4], values[:4])
    second = PackerCache.from_bytes(first.to_bytes(), params)
    second.process(np.zeros((9, 16)), keys[4:], values[4:])
    bob = PackerCache.from_bytes(second.to_bytes(), params)
    out = bob.process(np.concatenate([9 * keys, np.zeros((3, 16))]), np.zeros((16, 16)),
                      np.zeros((16, 16)))
    np.testing.assert_array_equal(out[:13], values)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(0, 2**64 - 1), max_size=200))
def test_mph_is_a_bijection_and_decodes_to_the_same_slots(keys):
    fps = np.array(sorted(keys), dtype=np.uint64)
    data, slots = build_mph(fps)
    assert sorted(slots.tolist()) == list(range(fps.size))
    reader = BitReader(data)
    table = decode_mph(reader, fps.size)
    reader.finish()
    if fps.size:
        np.testing.assert_array_equal(table.lookup(fps), slots)


def test_mph_spends_about_two_bits_per_key():
    fps = np.random.default_rng(3).integers(0, 2**63, size=2000, dtype=np.uint64)
    data, _ = build_mph(fps)
    assert 1.443 < 8 * len(data) / 2000 < 2.2


def test_mph_rejects_equal_fingerprints():
    with pytest.raises(ValueError, match="fingerprint"):
        build_mph(np.array([5, 5], dtype=np.uint64))


def test_fingerprints_are_the_sign_pattern_up_to_64_bits_and_hashed_above():
    signs = np.zeros((2, 64), dtype=bool)
    signs[1, -1] = True
    assert fingerprints(signs).tolist() == [0, 1]
    wide = np.random.default_rng(0).integers(0, 2, size=(500, 128)).astype(bool)
    assert np.unique(fingerprints(wide)).size == 500


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 12)), max_size=30))
def test_rice_codes_round_trip(pairs):
    w = BitWriter()
    for v, k in pairs:
        w.rice(v, k)
    r = BitReader(w.to_bytes())
    assert [r.rice(k, 10**6) for _, k in pairs] == [v for v, _ in pairs]
    r.finish()


@given(st.integers(0, 2**35 - 1))
def test_leb128_round_trips(value):
    assert read_leb128(leb128(value)) == (value, len(leb128(value)))


def _payload_with_bit_set(message: bytes, bit: int) -> bytes:
    """The packer message with payload bit ``bit`` (most significant first) set, re-framed."""
    payload = bytearray(unframe(message, PackerCache.TAG))
    payload[bit // 8] |= 0x80 >> (bit % 8)
    return frame(PackerCache.TAG, bytes(payload))


@pytest.mark.parametrize("d", [5, 7, 13])
def test_packer_rejects_a_set_padding_bit_right_after_the_values_and_the_routing(d):
    """The values end mid-byte (n d not a multiple of 8): the first padding bit after the
    values, and the first after the routing bits, must each be refused, as must every
    later one; the message itself parses."""
    params = CacheParams(d, Schedule.from_sides([1, 2, 3]))
    rng = np.random.default_rng(d)
    cache = PackerCache(params)
    for start, stop in params.schedule.block_bounds[:-1]:
        t = stop - start
        keys = rng.choice([-1.0, 1.0], size=(t, d))
        cache.process(np.zeros((t, d)), keys, rng.integers(0, 2, size=(t, d)).astype(float))
    message = cache.to_bytes()
    PackerCache.from_bytes(message, params)
    payload = unframe(message, PackerCache.TAG)
    seen, used = read_leb128(payload)
    reader = BitReader(payload[used:])
    Router.read(reader, seen)
    routing_end = 8 * used + reader.position
    routing_bytes = -(-reader.position // 8)
    values_end = 8 * (used + routing_bytes) + cache.cached_tokens * d
    assert routing_end % 8 and values_end % 8, "the test needs padding in both places"
    for first in (routing_end, values_end):
        for bit in range(first, -(-first // 8) * 8):
            with pytest.raises(CorruptMessageError):
                PackerCache.from_bytes(_payload_with_bit_set(message, bit), params)


def _weak_fingerprint(words: np.ndarray) -> np.ndarray:
    """The top 4 bits of a pattern's first word: collisions on purpose."""
    return np.asarray(words, dtype=np.uint64)[:, 0] >> np.uint64(60)


def test_shared_fingerprints_across_scales_route_by_the_whole_pattern(monkeypatch):
    """d = 80: the fingerprint is a hash, and patterns of different scales may share it.
    With a 4-bit fingerprint forced, keys of later scales that share an older key's
    fingerprint must still leave every key routed to its own values (the exception list
    compares whole patterns); two keys of one scale sharing one are refused."""
    monkeypatch.setattr("caches.matching.packer.words_fingerprint", _weak_fingerprint)
    monkeypatch.setattr("caches._routing.words_fingerprint", _weak_fingerprint)
    d, rng = 80, np.random.default_rng(11)
    params = CacheParams(d, Schedule.from_sides([1, 2, 3, 4]))
    sizes = [stop - start for start, stop in params.schedule.block_bounds[:-1]]
    keys, top = [], 0
    for size in sizes:  # top nibbles distinct within a scale, repeated across scales
        block = rng.choice([-1.0, 1.0], size=(size, d))
        for row, nibble in zip(block, (top + np.arange(size)) % 16):
            row[:4] = [-1.0 if (nibble >> (3 - b)) & 1 else 1.0 for b in range(4)]
        keys.append(block)
        top += size - 1  # each scale reuses the previous scale's last nibble, and more
    values = [rng.integers(0, 2, size=(size, d)).astype(float) for size in sizes]
    cache = PackerCache(params)
    for k, v in zip(keys, values):
        cache.process(np.zeros_like(k), k, v)
    all_keys = np.vstack(keys)
    assert len(set(_weak_fingerprint(sign_words(all_keys < 0)).tolist())) < all_keys.shape[0]
    bob = PackerCache.from_bytes(cache.to_bytes(), params)
    out = bob.process(7.0 * all_keys, np.zeros((all_keys.shape[0], d)),
                      np.zeros((all_keys.shape[0], d)))
    np.testing.assert_array_equal(out, np.vstack(values))
    clash = np.vstack([keys[1][0], keys[1][0]])
    clash[1, 4:] *= -1.0  # same top nibble, another pattern
    with pytest.raises(ValueError, match="share a 64-bit fingerprint"):
        PackerCache(params).process(np.zeros((2, d)), clash, np.zeros((2, d)))
