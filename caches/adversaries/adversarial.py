"""Adversarial caches: the worst outputs (eta, delta)-correctness allows, aimed at tau.

Purpose: attack Bob's decoding, not the memory. Definition (docs/theorem.md#correctness):
a cache is (eta, delta)-correct when each output entry is within eta of the exact
attention output Z (relatively, |Z_hat - Z| <= eta |Z|, or additively,
|Z_hat - Z| <= eta), except for a delta fraction of entries, which may be anything. The
protocol is public, so an adversary knows Bob's threshold tau; these caches use that.

* ``adversarial-eta``: exact attention (float64 K and V), then every entry moved by
  exactly eta towards tau: Z (1 - eta) if Z > tau, else Z (1 + eta) (additively Z - eta
  or Z + eta). That is the admissible value closest to the wrong side of tau.
* ``adversarial-delta``: the same, and in addition each entry independently, with
  probability delta, replaced by the worst value in [0, 1]: 0 if Z > tau, else 1. The
  coins come from the cache's own rng: Alice draws a 64-bit seed and writes it into the
  message, and each block of queries draws its coins from (seed, a hash of the queries),
  so Bob's passes get independent coins and the same query gets the same answer.

Main statement (Lemma L3, docs/theorem.md#l3): with gamma(C) < (1 - eta)/(1 + eta) the
eta-moved outputs of a 1 bit stay above tau and those of a 0 bit below it, so
``adversarial-eta`` decodes every bit at C = C_min; at the same C, a threshold of 1/2 in
place of tau fails for eta >= 1/2. ``adversarial-delta`` makes about a delta fraction of
bit errors, and the bound is then (1 - H2(delta)) N (Lemma L4, docs/theorem.md#l4).

Both read eta, tau (and delta) from the public parameters of the protocol
(:attr:`caches.CacheEntry.protocol`): nothing of Alice's input. Their
messages hold every key and value at float64, far above the bound: they attack
correctness, so ``attack`` leaves them out of its sweep of every cache.

References: arXiv 2503.14881 (VAR, the (eta, delta) model); arXiv 2502.15955 (Haris &
Onak, the same definition for language models).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from caches.exact import ExactCache
from reduction.cache import CacheParams
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["AdversarialEtaCache", "AdversarialDeltaCache", "move_towards", "worst_value"]

_EXACT_OPTIONS = {"dtype": "float64"}


def move_towards(z: np.ndarray, tau: float, eta: float, *, additive: bool = False) -> np.ndarray:
    """Each entry moved by exactly eta towards tau (relatively, or additively).

    Relative: z - eta |z| where z > tau, else z + eta |z|; additive: z - eta or z + eta.
    The result is the admissible value (docs/theorem.md#correctness) nearest the wrong
    side of tau.

    >>> move_towards(np.array([0.9, 0.1]), 0.5, 0.5).tolist()
    [0.45, 0.15000000000000002]
    >>> move_towards(np.array([0.9, 0.1]), 0.5, 0.25, additive=True).tolist()
    [0.65, 0.35]
    """
    z = np.asarray(z, dtype=np.float64)
    step = np.full_like(z, eta) if additive else eta * np.abs(z)
    return np.where(z > tau, z - step, z + step)


def worst_value(z: np.ndarray, tau: float) -> np.ndarray:
    """The value in [0, 1] on the other side of tau farthest from z: 0 if z > tau, else 1.

    >>> worst_value(np.array([0.9, 0.1]), 0.5).tolist()
    [0.0, 1.0]
    """
    return np.where(np.asarray(z) > tau, 0.0, 1.0)


def _real(params: CacheParams, name: str, lower: float, upper: float) -> float:
    value: Any = params.option(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={value!r} must be a real number; the protocol sets it")
    x = float(value)
    if not (math.isfinite(x) and lower <= x <= upper):
        raise ValueError(f"{name}={value!r} must lie in [{lower:g}, {upper:g}]")
    return x


class AdversarialEtaCache:
    """Exact attention, every entry then moved by exactly eta towards tau.

    Options (from the protocol): ``eta``, ``tau``, ``additive``.
    """

    TAG: ClassVar[bytes] = b"ADVE"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"eta", "tau", "additive"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.additive = bool(params.option("additive", False))
        self.eta = _real(params, "eta", 0.0, 0.5 if self.additive else 1.0)
        self.tau = _real(params, "tau", -math.inf, math.inf)
        self._exact = ExactCache(CacheParams(params.d, params.schedule, _EXACT_OPTIONS))

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Exact attention of the block's queries, moved by eta towards tau."""
        z = self._exact.process(queries, keys, values)
        return move_towards(z, self.tau, self.eta, additive=self.additive)

    def _payload(self) -> bytes:
        return self._exact.to_bytes()

    def to_bytes(self) -> bytes:
        """``frame(ADVE, exact float64 message)``."""
        return frame(self.TAG, self._payload())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> AdversarialEtaCache:
        cache = cls(params)
        cache._exact = ExactCache.from_bytes(unframe(data, cls.TAG), cache._exact.params)
        return cache


class AdversarialDeltaCache(AdversarialEtaCache):
    """As ``adversarial-eta``, and each entry with probability delta set to its worst value.

    Options (from the protocol): ``eta``, ``tau``, ``delta``, ``additive``.
    """

    TAG: ClassVar[bytes] = b"ADVD"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"eta", "tau", "delta", "additive"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.delta = _real(params, "delta", 0.0, 1.0)
        self.seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1))

    def _coins(self, queries: np.ndarray) -> np.random.Generator:
        digest = hashlib.blake2b(np.ascontiguousarray(queries, dtype="<f8").tobytes(),
                                 digest_size=8).digest()
        return np.random.default_rng([self.seed, int.from_bytes(digest, "little")])

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The eta-moved outputs, each replaced by its worst value with probability delta."""
        z = self._exact.process(queries, keys, values)
        moved = move_towards(z, self.tau, self.eta, additive=self.additive)
        hit = self._coins(np.asarray(queries, dtype=np.float64)).random(z.shape) < self.delta
        return np.where(hit, worst_value(z, self.tau), moved)

    def to_bytes(self) -> bytes:
        """``frame(ADVD, u64 seed | exact float64 message)``."""
        return frame(self.TAG, Writer().u64(self.seed).raw(self._payload()).getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> AdversarialDeltaCache:
        reader = Reader(unframe(data, cls.TAG), "adversarial-delta message")
        seed = reader.u64("seed")
        reader.expect(seed < 2**63, f"seed {seed} is out of range")
        exact_bytes = reader.raw(reader.remaining, "exact cache")
        cache = cls(params)
        cache.seed = seed
        cache._exact = ExactCache.from_bytes(exact_bytes, cache._exact.params)
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("adversarial-eta", CacheEntry(
    AdversarialEtaCache, {},
    "adversary of the decoding: exact attention, every entry moved by exactly eta towards "
    "tau (float64 K/V)",
    protocol=frozenset({"eta", "tau", "additive"}), adversary=True))
ENTRIES.add("adversarial-delta", CacheEntry(
    AdversarialDeltaCache, {},
    "adversary of the decoding: as adversarial-eta, and each entry with probability delta "
    "replaced by its worst value in [0, 1]",
    protocol=frozenset({"eta", "tau", "delta", "additive"}), adversary=True))
