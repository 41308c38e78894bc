"""The cache contract (reduction/cache.py), checked on EVERY registered cache.

The checks live in :mod:`caches.contract` (shared with ``kvbound check-cache``): each
registered name is built, fed a tiny schedule, serialised and rebuilt; ``to_bytes``
returns bytes, ``from_bytes`` round-trips, the same seed gives the same bytes, and
``from_bytes`` on random, truncated or corrupted bytes raises ValueError or returns a
working cache, never another exception, never a hang, never a huge allocation
(docs/theorem.md#reduction: Bob sees only the bytes, so they must be parsed defensively).

The list of caches is read from the registry at collection time, so a compressor
registered later is covered without editing this file.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caches import CACHES, cache_names, contract
from kvbound.experiments import sweep_axis
from reduction.cache import CacheParams
from reduction.schedule import Schedule

SCHEDULE = Schedule.parse("1,2,3,4")  # 14 cached tokens, last scale 16, 30 in all
D = 32  # KIVI's registered group size 32 must divide d
NAMES = cache_names()


def _options(name: str) -> dict[str, Any]:
    """The options the sweep would give ``name`` first (a budget of 1/2 if budgeted)."""
    axis = sweep_axis(name)
    if axis.option == "budget":
        return {"budget": 0.5}
    if axis.option is None:
        return {}
    return {axis.option: axis.resolved(D)[0]}


# Public quantities of a protocol run, for the entries that read them (the adversaries).
PROTOCOL = {"eta": 0.25, "tau": 0.4, "delta": 0.1, "additive": False}


def _params(name: str) -> CacheParams:
    entry = CACHES[name]
    return CacheParams(D, SCHEDULE, entry.merged_options(name, _options(name), PROTOCOL))


@pytest.mark.parametrize("zero_queries", [True, False], ids=["zero-q", "random-q"])
@pytest.mark.parametrize("name", NAMES)
def test_stream_outputs_and_bytes(name: str, zero_queries: bool) -> None:
    contract.check_stream_outputs(CACHES[name].cls, _params(name), zero_queries)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str) -> None:
    contract.check_round_trip(CACHES[name].cls, _params(name))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name: str) -> None:
    contract.check_same_seed_same_bytes(CACHES[name].cls, _params(name))


@pytest.mark.parametrize("name", NAMES)
def test_constructs_without_rng(name: str) -> None:
    contract.check_constructs_without_rng(CACHES[name].cls, _params(name))


@pytest.mark.parametrize("name", NAMES)
def test_foreign_and_empty_bytes_raise_value_error(name: str) -> None:
    contract.check_rejects_foreign_bytes(CACHES[name].cls, _params(name))


@pytest.mark.parametrize("name", NAMES)
def test_from_bytes_fuzz(name: str) -> None:
    cls, params = CACHES[name].cls, _params(name)
    valid = contract.stream(cls, params, 3, zero_queries=False)[0].to_bytes()

    @settings(deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(kind=st.sampled_from(contract.MUTATION_KINDS), seed=st.integers(0, 2**32 - 1))
    def check(kind: str, seed: int) -> None:
        contract.check_from_bytes(cls, params, contract.mutate(valid, kind,
                                                               np.random.default_rng(seed)))

    check()


# -- the checks themselves can fail --------------------------------------------------------

class _Sloppy:
    """Parses with struct directly: no frame, no CRC, and the wrong exception on junk."""

    def __init__(self, params: CacheParams, rng: Any = None) -> None:
        self.params = params
        self.values = np.zeros((0, params.d))

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        self.values = np.concatenate([self.values, values])
        return np.zeros((queries.shape[0], self.params.d))

    def to_bytes(self) -> bytes:
        return struct.pack("<I", len(self.values)) + self.values.astype("<f8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Sloppy:
        (rows,) = struct.unpack_from("<I", data)  # struct.error on short bytes
        if len(data) != 4 + 8 * rows * params.d:
            raise IndexError("short read")  # the mistake: not a ValueError
        cache = cls(params)
        cache.values = np.frombuffer(data[4:], dtype="<f8").reshape(rows, params.d)
        return cache


def test_contract_catches_a_sloppy_cache() -> None:
    outcomes = {o.name: o for o in contract.run_contract(_Sloppy, _params("exact"),
                                                         fuzz_cases=30)}
    assert outcomes["stream outputs (zero queries)"].passed
    assert not outcomes["rejects foreign bytes"].passed  # b"" parses as an empty cache
    assert not outcomes["rejects truncations and bit flips"].passed
    fuzz = next(o for name, o in outcomes.items() if name.startswith("fuzz"))
    assert not fuzz.passed and "must raise ValueError" in fuzz.detail


def test_contract_passes_every_check_on_the_exact_cache() -> None:
    outcomes = contract.run_contract(CACHES["exact"].cls, _params("exact"), fuzz_cases=30)
    assert [o.name for o in outcomes if not o.passed] == []
    assert len(outcomes) == 8


@pytest.mark.parametrize("kind", contract.MUTATION_KINDS)
def test_mutations_change_the_message(kind: str) -> None:
    valid = contract.stream(CACHES["exact"].cls, _params("exact"))[0].to_bytes()
    rng = np.random.default_rng(0)
    assert all(contract.mutate(valid, kind, rng) != valid for _ in range(20))
