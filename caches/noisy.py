"""A cache with relative error `noise`: the exact answer, every entry multiplied by (1 + u).

Purpose: the worst-case-free demonstration of Lemma L3 (docs/theorem.md#l3, decoding
under approximation) and of (eta, delta)-correctness (docs/theorem.md#correctness): this
cache keeps every key and value, and each output entry it returns is the exact entry
times (1 + u) with u uniform on [-noise, noise], drawn independently per entry. So
|Z_hat - Z| <= noise |Z| for every entry (relative error noise, delta = 0), on top of the
storage precision (float64 by default: no rounding of the hard instance's keys or values).

Two errors, two names: ``noise`` is this cache's own error; ``--eta`` is the error Bob's
threshold is designed to tolerate (docs/theorem.md#l3).

Main statement (L3): Bob's threshold tau, designed for relative error eta, decodes every
bit of this cache whenever noise <= eta. Above it, only the 1-bits whose u falls below
tau (1 + gamma_actual) - 1 are read as 0: gamma_actual, the mass the real keys leave off
the target, is far below the gamma L3 allows for, so outputs of 1-bits sit near 1 and
noise = 1/2 against eta = 1/4 still decodes every bit; errors appear near noise = 0.9.
The leak check holds either way (the message is the whole exact cache).

Randomness: a 64-bit seed drawn from the cache's own rng on Alice's side and written into
the bytes; Bob's rebuilt cache draws its noise from a generator seeded with it, so every
pass from the same message sees the same noise sequence.

Options: ``noise`` (relative error in [0, 1), default 1/4; it was called ``eta``, which is
refused with a hint), ``dtype`` (storage, as for the exact cache, default float64).

References: arXiv 2503.14881 (the correctness notion); arXiv 2502.15955 (Haris & Onak).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from caches.exact import ExactCache
from reduction.cache import CacheParams
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["NoisyCache", "DEFAULT_NOISE", "noise_level"]

DEFAULT_NOISE = 0.25


def noise_level(params: CacheParams) -> float:
    """The option ``noise`` as a float in [0, 1).

    >>> from reduction.schedule import Schedule
    >>> noise_level(CacheParams(4, Schedule.parse("1,2"), {"noise": 0.5}))
    0.5
    """
    value: Any = params.option("noise", DEFAULT_NOISE)
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(float(value)) or not 0.0 <= float(value) < 1.0):
        raise ValueError(f"noisy cache noise={value!r} must be a relative error in [0, 1)")
    return float(value)


class NoisyCache:
    """Every key and value kept; each output entry times (1 + u), |u| <= noise."""

    TAG: ClassVar[bytes] = b"NSY1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"noise", "dtype"})
    #: Old option names, refused with the new name (caches.entry).
    RENAMED_OPTIONS: ClassVar[dict[str, str]] = {"eta": "noise"}

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.noise = noise_level(params)
        self.seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1))
        self._noise = np.random.default_rng(self.seed)
        self._exact = ExactCache(params)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The exact cache's outputs, each entry multiplied by its own (1 + u)."""
        z = np.asarray(self._exact.process(queries, keys, values), dtype=np.float64)
        u = self._noise.uniform(-self.noise, self.noise, size=z.shape)
        return z * (1.0 + u)

    def to_bytes(self) -> bytes:
        return frame(self.TAG, Writer().u64(self.seed).raw(self._exact.to_bytes()).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> NoisyCache:
        r = Reader(unframe(data, cls.TAG), "noisy cache message")
        seed = r.u64("seed")
        r.expect(seed < 2**63, f"seed {seed} out of range")
        inner = ExactCache.from_bytes(r.raw(r.remaining, "exact cache"), params)
        cache = cls(params)
        cache.seed = seed
        cache._noise = np.random.default_rng(seed)
        cache._exact = inner
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("noisy", CacheEntry(
    NoisyCache, {"noise": DEFAULT_NOISE, "dtype": "float64"},
    "every K/V kept; each output entry times (1 + u), u uniform in [-noise, noise] (L3 "
    "demo; Bob's --eta is separate)",
))
