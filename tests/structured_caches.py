"""Hostile caches whose Bob errs with structure: the certificate must catch them.

Purpose: the leak rule of docs/theorem.md#certificate against a cheater who chooses the
structure of Bob's errors so that the error rate alone undercounts what he knows. Each
Bob learns X with no side channel at all: he recovers the run's seed from the public keys
(seeds are small integers, the code is public) and regenerates Alice's instance, like
``tests.hostile_caches:SeedRecovery``; no sandbox can cut that channel. He then answers
with structured errors:

* :class:`HalfTokens`: exact on every other token, a guess on the rest (p ~ 1/2 - 1/2^(b+1));
* :class:`Relabelled`: every symbol through one fixed derangement (every symbol wrong);
* :class:`LowPlane`: exact except the lowest bit plane, which is guessed (b >= 2);
* :class:`HalfCoordinates`: exact on the first half of every token's coordinates;
* :class:`LeakThenFail`: :class:`HalfTokens` on seed 0, then Bob crashes on seed 1 (the
  leak certified first must outrank the failure).

Alice writes b (read off the values' binary expansion: values are m 2^-b) and padding
into the message: ``--option pad_percent=P`` bytes for P% of N bits (default 21: a
message the error-rate rule of docs/theorem.md#fano accepted for half-exact tokens at
b = 1). Used as
``tests.structured_caches:Name`` (third-party ``module:Class`` syntax).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from reduction.cache import CacheParams
from reduction.message import Reader, frame, unframe

__all__ = ["HalfTokens", "Relabelled", "LowPlane", "HalfCoordinates", "LeakThenFail"]

SEEDS_TRIED = 64
EPS = 0.75  # the verifier's default eps: Bob regenerates the public keys with it


def _fraction_bits(values: np.ndarray) -> int:
    """The largest number of binary fraction digits among the values (0 for 0/1 values)."""
    for b in range(17):
        scaled = values * 2.0**b
        if np.array_equal(scaled, np.round(scaled)):
            return b
    return 16


class _Structured:
    TAG: ClassVar[bytes] = b"STRC"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"pad_percent"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None,
                 bits: int = 0) -> None:
        self.params = params
        self.bits = bits  # b of the values (0: the one-bit reduction)
        self.tokens = 0

    # -- Alice -------------------------------------------------------------------------
    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float64)
        if not np.abs(q).any():  # Alice's blocks: zero queries
            v = np.asarray(values, dtype=np.float64)
            self.tokens += int(np.abs(np.asarray(keys)).sum(axis=1).astype(bool).sum())
            self.bits = max(self.bits, _fraction_bits(v))
            return np.zeros_like(q)
        return self._bob(q)

    def to_bytes(self) -> bytes:
        n = self.tokens * self.params.d * max(self.bits, 1)
        percent = int(self.params.options.get("pad_percent", 21))
        pad = -(-percent * n // 800)  # ceil(percent/100 * N / 8) bytes
        return frame(self.TAG, bytes([self.bits]) + bytes(pad))

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Structured:
        reader = Reader(unframe(data, cls.TAG), "structured-errors message")
        bits = reader.u8("bits per value")
        return cls(params, None, bits)

    # -- Bob -----------------------------------------------------------------------------
    def _recover(self, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
        """(the instance's symbols, the token of each query row, the run's seed), from the
        public keys."""
        from reduction.instance import make_instance
        from reduction.keys import sample_keys

        n_keys, d = self.params.schedule.cached_tokens, self.params.d
        for seed in range(SEEDS_TRIED):
            instance_rng, public_rng, _ = np.random.default_rng(seed).spawn(3)
            key_seed = int(public_rng.integers(0, 2**63 - 1))
            family = sample_keys(n_keys, d, EPS, np.random.default_rng(key_seed))
            match = (family.signs[:, None, :] == signs[None, :, :]).all(axis=2)
            if match.any(axis=0).all():
                x = make_instance(n_keys, d, instance_rng, bits_per_value=max(self.bits, 1))
                return x.bits.astype(np.int64), match.argmax(axis=0), seed
        return None

    def _bob(self, q: np.ndarray) -> np.ndarray:
        out = np.zeros_like(q)
        rows = np.flatnonzero(np.abs(q).sum(axis=1) > 0)
        found = self._recover(np.sign(q[rows]))
        if found is None:
            return out
        symbols, tokens, seed = found
        self.on_seed(seed)
        b = max(self.bits, 1)
        answer = self.distort(symbols[tokens], tokens, b)
        out[rows] = answer / 2.0**self.bits  # m 2^-b (0/1 in the one-bit reduction)
        return out

    def distort(self, m: np.ndarray, tokens: np.ndarray, b: int) -> np.ndarray:
        raise NotImplementedError

    def on_seed(self, seed: int) -> None:
        """Bob knows the run's seed: a hook for caches that behave by seed."""


def _guesses(tokens: np.ndarray, d: int, b: int) -> np.ndarray:
    """Bob's own coins, the same on every pass: a guess per (token, coordinate)."""
    return np.stack([np.random.default_rng([7, int(t)]).integers(0, 2**b, size=d)
                     for t in tokens])


class HalfTokens(_Structured):
    """Exact on even tokens, guessed on odd ones."""

    def distort(self, m: np.ndarray, tokens: np.ndarray, b: int) -> np.ndarray:
        guessed = (tokens % 2 == 1)[:, None]
        return np.where(guessed, _guesses(tokens, m.shape[1], b), m)


class Relabelled(_Structured):
    """Every symbol through a fixed derangement (b = 1: every bit inverted)."""

    def distort(self, m: np.ndarray, tokens: np.ndarray, b: int) -> np.ndarray:
        return (m + 1) % 2**b  # the cyclic shift moves every symbol


class LowPlane(_Structured):
    """Exact except the lowest bit of every symbol, which is guessed."""

    def distort(self, m: np.ndarray, tokens: np.ndarray, b: int) -> np.ndarray:
        return m ^ (_guesses(tokens, m.shape[1], b) & 1)


class HalfCoordinates(_Structured):
    """Exact on the first half of every token's coordinates, guessed on the rest."""

    def distort(self, m: np.ndarray, tokens: np.ndarray, b: int) -> np.ndarray:
        half = m.shape[1] // 2
        guesses = _guesses(tokens, m.shape[1], b)
        return np.concatenate([m[:, :half], guesses[:, half:]], axis=1)


class LeakThenFail(HalfTokens):
    """Half the tokens exact on seed 0; from seed 1 on, Bob raises."""

    def on_seed(self, seed: int) -> None:
        if seed >= 1:
            raise RuntimeError(f"structured cache: Bob gives up on seed {seed}")
