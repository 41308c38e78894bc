"""Uniform and KIVI quantising caches: codec properties, the hard instance, bad input.

The finding these tests pin (see caches/quantize.py): asymmetric min-max
quantisation is lossless on the hard instance at every b >= 1 (each group is two-valued),
so ``uniform-q1`` and KIVI at 1 bit decode every bit; symmetric 1-bit quantisation
(``uniform-sym-q1``) maps both value bits to 1/2 and does NOT reach zero errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from caches import resolve_cache
from caches._quant import dequantize, quantize
from caches.kivi import KiviCache
from caches.quantize import UniformQuantCache
from reduction.cache import CacheParams
from reduction.protocol import run_verification
from reduction.schedule import Schedule
from tests.corruption import assert_rejects_corruption

EPS, ETA = 0.7, 0.1
VAR256 = Schedule.preset("var-256")

_finite = st.floats(-100, 100, allow_nan=False, width=32)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 40)),
                  elements=_finite), st.integers(1, 8), st.sampled_from(["minmax", "absmax"]))
def test_round_trip_within_half_a_step(x, bits, scheme):
    codes, params = quantize(x, bits, scheme)
    assert codes.max(initial=0) < 2**bits
    err = np.abs(dequantize(codes, params, bits, scheme) - x)
    p = params.astype(np.float64)
    step = p[:, 1] if scheme == "minmax" else 2 * p[:, 0] / 2**bits
    fp16 = 2.0**-10 * (np.abs(x).max(axis=1) + 1e-4)
    assert (err.max(axis=1) <= step / 2 + fp16 + 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.sampled_from([16, 64, 128]), st.booleans(),
       hnp.arrays(np.bool_, st.integers(2, 30)))
def test_minmax_reproduces_the_hard_instance_groups_exactly(bits, d, values, pick):
    """Keys +-1/sqrt(d) (as fp16) and values 0/1 come back within fp16 rounding at every
    b (error <= 2^-9 max|x|), and bit-exact at b = 1 when max - min is an fp16 number
    (values; d = 16, 64)."""
    lo, hi = (0.0, 1.0) if values else (-1 / np.sqrt(d), 1 / np.sqrt(d))
    x = np.where(pick, hi, lo).astype(np.float16).astype(np.float64)[None, :]
    codes, params = quantize(x, bits, "minmax")
    err = np.abs(dequantize(codes, params, bits, "minmax") - x).max()
    assert err <= 2.0**-9 * np.abs(x).max()  # 2^-11 (|min| + (max - min)), fp16
    if bits == 1 and (values or d in (16, 64)):
        assert err == 0


def test_one_bit_symmetric_maps_both_bits_to_a_half():
    codes, params = quantize(np.array([[0.0, 1.0, 1.0, 0.0]]), 1, "absmax")
    np.testing.assert_array_equal(dequantize(codes, params, 1, "absmax"), 0.5)


def test_uniform_one_bit_minmax_decodes_every_bit_on_the_hard_instance():
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="uniform-q1", isolation="inline")
    assert result.bit_errors == 0
    assert result.message_bits < 2.1 * result.n_bits


def test_uniform_one_bit_symmetric_does_not_reach_zero_errors():
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="uniform-sym-q1",
                              isolation="inline")
    assert result.bit_errors > 0
    assert 0.4 < result.runs[0].error_rate < 0.6
    assert not result.leak


def test_uniform_two_bit_symmetric_decodes_again_in_another_process():
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="uniform-sym-q2",
                              isolation="process")
    assert result.bit_errors == 0


@pytest.mark.parametrize("options", [{"group_size": 8}, {"group_size": 64, "bits": 1}])
def test_per_group_minmax_is_also_lossless_here(options):
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="uniform", options=options,
                              isolation="inline")
    assert result.bit_errors == 0


@pytest.mark.parametrize("bits", [1, 2])
def test_kivi_decodes_every_bit_on_the_hard_instance(bits):
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="kivi", options={"bits": bits},
                              isolation="inline")
    assert result.bit_errors == 0


def _stream(cache, d: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for start, stop in cache.params.schedule.block_bounds[:-1]:
        t = stop - start
        cache.process(np.zeros((t, d)), rng.standard_normal((t, d)), rng.standard_normal((t, d)))


CASES = [
    (UniformQuantCache, {"bits": 3, "scheme": "minmax", "group_size": 0}),
    (UniformQuantCache, {"bits": 1, "scheme": "absmax", "group_size": 4}),
    (KiviCache, {"bits": 2, "group_size": 8, "residual_length": 20}),
    (KiviCache, {"bits": 5, "group_size": 16, "residual_length": 0}),
    (KiviCache, {"bits": 2, "group_size": 32, "residual_length": 3}),
]


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_bytes_round_trip_gives_the_same_outputs(cls, options):
    params = CacheParams(16, Schedule.from_sides([1, 2, 3, 4, 6]), options)
    alice = cls(params)
    _stream(alice, 16)
    message = alice.to_bytes()
    bob = cls.from_bytes(message, params)
    assert bob.to_bytes() == message
    q = np.random.default_rng(5).standard_normal((7, 16))
    zeros = np.zeros((7, 16))
    np.testing.assert_array_equal(alice.process(q, zeros, zeros), bob.process(q, zeros, zeros))


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_from_bytes_rejects_truncations_and_bit_flips(cls, options):
    params = CacheParams(16, Schedule.from_sides([1, 2, 3, 4]), options)
    cache = cls(params)
    _stream(cache, 16)
    message = cache.to_bytes()
    assert_rejects_corruption(cls, message, params, step=29, flips=20, seed=2)


def test_kivi_keeps_the_newest_residual_length_tokens_in_fp16():
    params = CacheParams(16, Schedule.from_sides([1, 2, 3, 4, 6]),
                         {"bits": 2, "group_size": 8, "residual_length": 20})
    cache = KiviCache(params)
    _stream(cache, 16)  # 1 + 4 + 9 + 16 = 30 tokens
    assert cache.value_residual.shape[0] == 20 and cache.value_codes.shape[0] == 10
    assert cache.key_codes.shape[0] == 8 and cache.key_residual.shape[0] == 22


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("uniform", {"bits": 0}, "bits=0"),
        ("uniform", {"bits": 9}, "bits=9"),
        ("uniform-sym", {"scheme": "log"}, "scheme"),
        ("uniform", {"group_size": 5}, "group_size=5"),
        ("kivi", {"bits": 9}, "bits=9"),
        ("kivi", {"group_size": 4.5}, "group_size=4.5"),
        ("kivi", {"group_size": 0}, "group_size=0"),
        ("kivi", {"residual_length": -1}, "residual_length=-1"),
    ],
)
def test_bad_options_name_the_value(name, options, match):
    entry = resolve_cache(name)
    params = CacheParams(64, VAR256, {**entry.options, **options})
    with pytest.raises(ValueError, match=match):
        entry.cls(params)


@pytest.mark.parametrize("d", [16, 37, 48, 64])
def test_kivi_value_groups_fit_every_d(d):
    """Value channel groups are the largest divisor of d not above group_size, so KIVI's
    default group 32 serves any head dimension (d = 48 uses groups of 24)."""
    from caches.kivi import value_group

    g = value_group(32, d)
    assert d % g == 0 and g <= 32
    assert all(d % c for c in range(g + 1, min(32, d) + 1))
    params = CacheParams(d, VAR256, dict(resolve_cache("kivi").options))
    cache = resolve_cache("kivi").cls(params)
    rng = np.random.default_rng(d)
    out = cache.process(np.zeros((4, d)), rng.normal(size=(4, d)), rng.normal(size=(4, d)))
    assert out.shape == (4, d)
    back = type(cache).from_bytes(cache.to_bytes(), params)
    assert back.to_bytes() == cache.to_bytes()


def test_fixed_names_refuse_overrides():
    """A name that fixes an option (uniform-q2 fixes bits) refuses a different value."""
    entry = resolve_cache("uniform-q2")
    assert entry.merged_options("uniform-q2", {"bits": 2})["bits"] == 2
    with pytest.raises(ValueError, match="fixes bits=2"):
        entry.merged_options("uniform-q2", {"bits": 1})
