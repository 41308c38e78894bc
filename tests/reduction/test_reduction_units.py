"""Unit tests of the reduction's parts: schedules, instances and their files, keys,
chunked attention, message framing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches.exact import ExactCache, exact_cache_bits
from lowerbound.jl import d_min
from reduction.attention import attend, block_causal_attention, softmax_rows
from reduction.cache import CacheParams
from reduction.instance import load_instance, make_instance, save_instance
from reduction.keys import max_inner_product, sample_keys
from reduction.message import CorruptMessageError
from reduction.schedule import Schedule
from tests.strategies import small_schedules


@pytest.mark.parametrize(
    "name,cached,last,total",
    [("var-256", 424, 256, 680), ("var-512", 1216, 1024, 2240),
     ("infinity-1024", 6425, 4096, 10521), ("var-1024", 5355, 4096, 9451),
     ("n128", 17856, 16384, 34240), ("n192", 34240, 36864, 71104),
     ("n256", 71104, 65536, 136640)],
)
def test_presets(name, cached, last, total):
    s = Schedule.preset(name)
    assert (s.cached_tokens, s.last_scale_tokens, s.total_tokens) == (cached, last, total)


@given(small_schedules())
def test_schedule_sizes_are_consistent(s):
    assert s.cumulative[-1] == sum(s.tokens) == s.total_tokens
    assert s.cached_tokens + s.last_scale_tokens == s.total_tokens
    assert all(b - a == t for (a, b), t in zip(s.block_bounds, s.tokens))
    assert Schedule.from_json(s.to_json()) == s


@given(st.integers(2, 200), st.floats(1.1, 4.0))
def test_geometric_ends_at_n_and_increases(n, ratio):
    s = Schedule.geometric(n, ratio)
    assert s.sides[-1] == n and s.sides[0] == 1
    assert all(a < b for a, b in zip(s.sides, s.sides[1:]))


def test_instance_round_trip(tmp_path):
    inst = make_instance(37, 11, np.random.default_rng(2), num_queries=5)
    path = tmp_path / "inst.npz"
    save_instance(path, inst)
    back = load_instance(path)
    assert back == inst
    np.testing.assert_array_equal(back.bits, inst.bits)
    np.testing.assert_array_equal(back.queries, inst.queries)


def test_instance_file_tampering_is_caught(tmp_path):
    inst = make_instance(20, 8, np.random.default_rng(1))
    path = tmp_path / "inst.npz"
    save_instance(path, inst)
    with np.load(path, allow_pickle=False) as data:
        fields = {k: data[k] for k in data.files}
    fields["packed_bits"] = fields["packed_bits"] ^ np.uint8(1)
    np.savez(path, **fields)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_instance(path)
    fields["version"] = np.array(99)
    np.savez(path, **fields)
    with pytest.raises(ValueError, match="format version 99"):
        load_instance(path)
    del fields["sha256"]
    np.savez(path, **fields)
    with pytest.raises(ValueError, match="missing fields"):
        load_instance(path)


def test_same_seed_same_instance_and_keys():
    a, b = make_instance(50, 9, 123), make_instance(50, 9, 123)
    assert a == b
    k1, k2 = sample_keys(50, 40, 0.75, 5), sample_keys(50, 40, 0.75, 5)
    np.testing.assert_array_equal(k1.signs, k2.signs)


@given(st.integers(2, 300), st.sampled_from([0.5, 0.75]), st.integers(0, 10**6))
@settings(max_examples=15)
def test_sampled_keys_are_certified(n, eps, seed):
    """L1: every off-diagonal inner product <= eps, unit norms, checked directly."""
    d = d_min(n, eps)
    fam = sample_keys(n, d, eps, seed)
    k = fam.keys
    gram = k @ k.T
    np.testing.assert_allclose(np.diag(gram), 1.0)
    off = gram[~np.eye(n, dtype=bool)]
    assert off.max() <= eps + 1e-12
    assert fam.max_inner_product == pytest.approx(off.max())


def test_max_inner_product_blocks_agree_with_dense():
    s = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(3000, 16))
    dense = (s.astype(float) @ s.T.astype(float)) / 16
    np.fill_diagonal(dense, -np.inf)
    assert max_inner_product(s) == dense.max()


def _naive(q, k, v):
    return softmax_rows(q @ k.T) @ v


@given(
    st.integers(1, 40), st.integers(1, 70), st.integers(1, 6), st.floats(0.1, 300),
    st.integers(1, 9), st.integers(1, 9), st.integers(0, 1000),
)
def test_chunked_attention_equals_dense(nq, nk, d, scale, qc, kc, seed):
    """Online log-sum-exp over chunks equals the dense softmax, even for huge logits."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(nq, d)) * scale
    k = rng.normal(size=(nk, d))
    v = rng.normal(size=(nk, 3))
    np.testing.assert_allclose(attend(q, k, v, query_chunk=qc, key_chunk=kc), _naive(q, k, v),
                               rtol=1e-9, atol=1e-12)


def test_attention_is_finite_for_extreme_logits():
    q = np.array([[1e4, 0.0]])
    k = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    v = np.eye(3)
    out = attend(q, k, v, key_chunk=1)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0]])


def test_block_causal_attention_never_looks_ahead():
    s = Schedule.parse("1,2,3")
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(s.total_tokens, 4)), rng.normal(size=(s.total_tokens, 4))
    v = rng.normal(size=(s.total_tokens, 2))
    z = block_causal_attention(q, k, v, s.block_bounds)
    v2 = v.copy()
    v2[5:] += 100.0  # change only the last scale's values
    z2 = block_causal_attention(q, k, v2, s.block_bounds)
    np.testing.assert_array_equal(z[:5], z2[:5])
    assert not np.allclose(z[5:], z2[5:])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_exact_cache_bytes_and_corruption(dtype):
    s = Schedule.parse("1,2,4")
    params = CacheParams(8, s, {"dtype": dtype})
    cache = ExactCache(params)
    rng = np.random.default_rng(0)
    cache.process(np.zeros((1, 8)), rng.normal(size=(1, 8)), rng.normal(size=(1, 8)))
    cache.process(np.zeros((4, 8)), rng.normal(size=(4, 8)), rng.normal(size=(4, 8)))
    data = cache.to_bytes()
    assert 8 * len(data) == exact_cache_bits(5, 8, dtype)
    assert ExactCache.from_bytes(data, params).to_bytes() == data
    with pytest.raises(CorruptMessageError, match="truncated|checksum"):
        ExactCache.from_bytes(data[:-1], params)
    flipped = bytearray(data)
    flipped[10] ^= 0x20
    with pytest.raises(CorruptMessageError, match="checksum"):
        ExactCache.from_bytes(bytes(flipped), params)
    with pytest.raises(CorruptMessageError, match="tag"):
        ExactCache.from_bytes(b"XXXX" + data[4:], params)
    with pytest.raises(CorruptMessageError, match="differs from the public d"):
        ExactCache.from_bytes(data, CacheParams(9, s, {"dtype": dtype}))
