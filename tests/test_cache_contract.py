"""The cache contract (reduction/cache.py), checked on EVERY registered cache.

Each registered name is built, fed a tiny schedule, serialised and rebuilt: ``to_bytes``
returns bytes, ``from_bytes`` round-trips (the rebuilt cache writes the same bytes, or
answers Bob's pass the same), the same seed gives the same bytes, and ``from_bytes`` on
random, truncated or corrupted bytes raises ValueError or returns a working cache, never
another exception, never a hang, never a huge allocation (THEOREM.md section 3: Bob sees
only the bytes, so they must be parsed defensively).

The list of caches is read from the registry at collection time, so a compressor
registered later is covered without editing this file.
"""

from __future__ import annotations

import contextlib
import signal
import tracemalloc
import warnings
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvbound.experiments import sweep_axis
from reduction.cache import CacheParams
from reduction.compressors import CACHES, cache_names
from reduction.message import frame
from reduction.schedule import Schedule

SCHEDULE = Schedule.parse("1,2,3,4")  # 14 cached tokens, last scale 16, 30 in all
D = 32  # KIVI's registered group size 32 must divide d
NAMES = cache_names()
FUZZ_SECONDS = 5.0  # wall-clock limit of one from_bytes call (a hang fails the test)
FUZZ_MAX_BYTES = 64 * 2**20  # peak allocation allowed while parsing a tiny message


def _options(name: str) -> dict[str, Any]:
    """The options the sweep would give ``name`` first (a budget of 1/2 if budgeted)."""
    axis = sweep_axis(name)
    if axis.option == "budget":
        return {"budget": 0.5}
    if axis.option is None:
        return {}
    return {axis.option: axis.resolved(D)[0]}


def _params(name: str) -> CacheParams:
    return CacheParams(D, SCHEDULE, {**CACHES[name].options, **_options(name)})


def _alice_blocks(seed: int, zero_queries: bool) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Scales 1..K-1 of a hard-instance-like input: sign keys / sqrt(d), 0/1 values."""
    rng = np.random.default_rng(seed)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start, stop in SCHEDULE.block_bounds[:-1]:
        t = stop - start
        q = np.zeros((t, D)) if zero_queries else rng.normal(size=(t, D)) * 2.0
        k = rng.choice([-1.0, 1.0], size=(t, D)) / np.sqrt(D)
        v = rng.integers(0, 2, size=(t, D)).astype(np.float64)
        blocks.append((q, k, v))
    return blocks


def _bob_block(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1000)
    t = SCHEDULE.last_scale_tokens
    return rng.normal(size=(t, D)) * 4.0, np.zeros((t, D)), np.zeros((t, D))


def _alice(name: str, seed: int = 0, zero_queries: bool = True) -> tuple[Any, list[Any]]:
    cache = CACHES[name].cls(_params(name), np.random.default_rng(seed))
    outs = [cache.process(*block) for block in _alice_blocks(seed, zero_queries)]
    return cache, outs


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError if the block runs longer than ``seconds`` (main thread, POSIX)."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"from_bytes ran longer than {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# -- construction, streaming, round trip ---------------------------------------------------

@pytest.mark.parametrize("zero_queries", [True, False], ids=["zero-q", "random-q"])
@pytest.mark.parametrize("name", NAMES)
def test_stream_outputs_and_bytes(name: str, zero_queries: bool) -> None:
    cache, outs = _alice(name, zero_queries=zero_queries)
    for (start, stop), out in zip(SCHEDULE.block_bounds, outs):
        out = np.asarray(out)
        assert out.shape == (stop - start, D)
        assert np.isfinite(out).all()
    data = cache.to_bytes()
    assert isinstance(data, bytes) and len(data) > 0


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str) -> None:
    """from_bytes(to_bytes()) rebuilds the state: same bytes again, or same answers."""
    params = _params(name)
    cls = CACHES[name].cls
    cache, _ = _alice(name)
    data = cache.to_bytes()
    rebuilt = cls.from_bytes(data, params)
    again = rebuilt.to_bytes()
    bob = _bob_block(0)
    z_rebuilt = np.asarray(rebuilt.process(*bob))
    z_other = np.asarray(cls.from_bytes(data, params).process(*bob))
    np.testing.assert_array_equal(z_rebuilt, z_other)  # Bob's side is deterministic
    if again != data:
        z_orig = np.asarray(cache.process(*bob))
        np.testing.assert_allclose(z_rebuilt, z_orig, atol=1e-3, err_msg=(
            f"{name}: rebuilt cache writes different bytes and answers differently"))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name: str) -> None:
    a, _ = _alice(name, seed=5, zero_queries=False)
    b, _ = _alice(name, seed=5, zero_queries=False)
    assert a.to_bytes() == b.to_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_constructs_without_rng(name: str) -> None:
    cache = CACHES[name].cls(_params(name), None)
    assert isinstance(cache.to_bytes(), bytes)


@pytest.mark.parametrize("name", NAMES)
def test_foreign_and_empty_bytes_raise_value_error(name: str) -> None:
    cls = CACHES[name].cls
    params = _params(name)
    for data in (b"", b"\x00" * 3, frame(b"ZZZZ", b"\x00" * 64)):
        with _time_limit(FUZZ_SECONDS), pytest.raises(ValueError):
            cls.from_bytes(data, params)


# -- fuzzing from_bytes --------------------------------------------------------------------

def _reframe(valid: bytes, payload: bytes) -> bytes:
    """``payload`` under the valid message's tag with a correct CRC (reaches the parser)."""
    return frame(valid[:4], payload)


def _is_framed(data: bytes) -> bool:
    return len(data) >= 8 and zlib.crc32(data[:-4]) == int.from_bytes(data[-4:], "little")


@st.composite
def _mutations(draw: Any, valid: bytes) -> bytes:
    kind = draw(st.sampled_from(["random", "truncate", "flip", "reframe-flip",
                                 "reframe-truncate", "reframe-extend", "reframe-random"]))
    payload = valid[4:-4] if _is_framed(valid) else valid
    if kind == "random":
        return draw(st.binary(max_size=2 * len(valid) + 16))
    if kind == "truncate":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if kind == "flip" or not _is_framed(valid):
        buf = bytearray(valid)
        for pos in draw(st.lists(st.integers(0, 8 * len(buf) - 1), min_size=1, max_size=4)):
            buf[pos // 8] ^= 1 << (pos % 8)
        return bytes(buf)
    if kind == "reframe-flip" and payload:
        buf = bytearray(payload)
        for pos in draw(st.lists(st.integers(0, 8 * len(buf) - 1), min_size=1, max_size=4)):
            buf[pos // 8] ^= 1 << (pos % 8)
        return _reframe(valid, bytes(buf))
    if kind == "reframe-truncate" and payload:
        return _reframe(valid, payload[: draw(st.integers(0, len(payload) - 1))])
    if kind == "reframe-extend":
        return _reframe(valid, payload + draw(st.binary(min_size=1, max_size=64)))
    # reframe-random: a header of random counts in front of the real payload's tail
    head = draw(st.binary(min_size=1, max_size=16))
    return _reframe(valid, head + payload[len(head):])


def _check_from_bytes(name: str, data: bytes) -> None:
    """ValueError, or a cache that answers Bob's pass (or refuses it with a ValueError);
    nothing else, within FUZZ_SECONDS, in bounded memory."""
    cls = CACHES[name].cls
    params = _params(name)
    tracemalloc.start()
    try:
        with _time_limit(FUZZ_SECONDS):
            try:
                cache = cls.from_bytes(data, params)
            except ValueError:
                return
            finally:
                _, peak = tracemalloc.get_traced_memory()
                assert peak < FUZZ_MAX_BYTES, f"{name}.from_bytes allocated {peak} bytes"
            # Accepted bytes (e.g. a flipped float with a valid CRC) must give a cache that
            # answers Bob's pass, or refuses it with a ValueError (a clean "bad input").
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    z = np.asarray(cache.process(*_bob_block(0)))
                except ValueError:
                    return
            assert z.shape == (SCHEDULE.last_scale_tokens, D)
            assert isinstance(cache.to_bytes(), bytes)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", NAMES)
def test_from_bytes_fuzz(name: str) -> None:
    valid, _ = _alice(name, seed=3, zero_queries=False)
    valid_bytes = valid.to_bytes()

    @settings(deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=_mutations(valid_bytes))
    def check(data: bytes) -> None:
        _check_from_bytes(name, data)

    check()
