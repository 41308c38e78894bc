"""A 2N-bit cache for the hard instance: one bit per key coordinate, one per value.

The worked answer of problem 5 in docs/course/solutions.md. On the hard instance every
key is a sign vector over sqrt(d) and every value coordinate is a bit, so a token is
described exactly by 2d bits: the signs of its key and its value bits. The message holds
a header (tokens seen, d) and the two packed bit matrices, about 2N bits for N = L*d.
Bob rebuilds keys +-1/sqrt(d) and values 0/1 and attends exactly, so he decodes every bit.

This is not a compressor for real attention: it rounds every key to its signs and every
value to 0 or 1. It shows how much of the exact cache's 32 bits per coordinate pair the
hard instance really needs, and that the bound N = L*d is within a factor 2 of it.

Run it from this directory:

    kvbound verify --cache sign_cache:SignCache --json
    kvbound check-cache sign_cache:SignCache
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from reduction.attention import attend
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["SignCache"]


class SignCache:
    """Keeps sign(key) and [value > 1/2] of every token: 2 bits per coordinate pair."""

    TAG: ClassVar[bytes] = b"SGN1"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.key_signs = np.zeros((0, params.d), dtype=bool)  # True = positive
        self.value_bits = np.zeros((0, params.d), dtype=bool)

    def _keys(self) -> np.ndarray:
        return np.where(self.key_signs, 1.0, -1.0) / np.sqrt(self.params.d)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        k, v = check_block(keys, values, self.params.d)
        out = attend(queries, np.concatenate([self._keys(), k]),
                     np.concatenate([self.value_bits.astype(np.float64), v]))
        self.key_signs = np.concatenate([self.key_signs, k >= 0])
        self.value_bits = np.concatenate([self.value_bits, v > 0.5])
        return out

    def to_bytes(self) -> bytes:
        w = Writer().u32(self.key_signs.shape[0]).u16(self.params.d)
        w.raw(np.packbits(self.key_signs, axis=None).tobytes())
        w.raw(np.packbits(self.value_bits, axis=None).tobytes())
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> SignCache:
        r = Reader(unframe(data, cls.TAG), "sign cache message")
        n = r.token_count(params.schedule.total_tokens)
        d = r.u16("d")
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        packed = (n * d + 7) // 8
        cache = cls(params)
        for field in ("key_signs", "value_bits"):
            raw = np.frombuffer(r.raw(packed, field), dtype=np.uint8)
            bits = np.unpackbits(raw, count=n * d).astype(bool).reshape(n, d)
            setattr(cache, field, bits)
        r.finish()
        return cache
