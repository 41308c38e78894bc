"""Caches that route a query to one stored row by its keys' sign pattern (private base).

Purpose: the matching caches of the sparsity variants (docs/theorem.md#s2 ... #s4) store
less than a row of d bits per token, or fewer tokens, but answer Bob the way the packer
does (docs/theorem.md#tight): Bob's query C k_i is a positive multiple of a stored key,
so sign(q) names the token, and a minimal perfect hash (MPH) of the stored sign patterns
(:mod:`caches._mph`, ~1.84 bits per key) routes it to its row. What each
subclass decides: which rows it keeps (a window of scales, one row per key orthant) and
how a row's values are coded (d bits, or the rank of an s-sparse support).

Main statement: for a query q = C k_i (C > 0) on a stored token i, the output row is the
stored row of i, exactly; zero query rows get zero output rows. Off the hard instance the
outputs are hard attention (Alice's side: the stored key of largest <q, k>, lowest index
on ties) or, after a restore, the row of whatever slot the hash gives (an MPH cannot tell
non-members).

Message: ``tag | leb128(n) | leb128(hash bytes) | hash | values | CRC-32``; the values are
coded by the subclass in slot order. A restored cache accepts only blocks of zero keys
and zero values (Bob's last scale). Tokens with a zero key must have zero values and are
not stored (they route nothing). Two stored rows with the same sign pattern raise
ValueError at ``to_bytes`` (subclasses that merge them say so).

References: Esposito, Mueller Graf & Vigna, ALENEX 2020 (RecSplit); the packer
(:mod:`caches.matching.packer`), which this generalises.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import numpy as np

from caches._bitstream import BitReader, leb128, read_leb128
from caches._mph import MphTable, build_mph, check_decodes, decode_mph, fingerprints
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError, frame, unframe

__all__ = ["SignRoutedCache", "BitRowsRoutedCache"]

_R = TypeVar("_R", bound="SignRoutedCache")


class SignRoutedCache:
    """Stored rows of small integer values, routed by an MPH of the keys' sign patterns.

    Subclasses set ``TAG``/``NAME`` and override :meth:`_check_values`,
    :meth:`_encode_values` and :meth:`_decode_values`; optionally :meth:`_configure`,
    :meth:`_append` (what is kept of a block) and :meth:`_after_block`.
    """

    TAG: ClassVar[bytes] = b"RTD0"
    NAME: ClassVar[str] = "routed"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.d = params.d
        self._signs = np.zeros((0, self.d), dtype=bool)
        self._values = np.zeros((0, self.d), dtype=np.int8)
        self._table: MphTable | None = None
        self._message: bytes | None = None
        self._configure(params, rng)

    # -- hooks ---------------------------------------------------------------------------
    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        """Read and validate options (called by ``__init__``)."""

    def _check_values(self, values: np.ndarray) -> np.ndarray:
        """The block's values (non-zero keys only) as int8, or ValueError."""
        raise NotImplementedError

    def _append(self, signs: np.ndarray, values: np.ndarray) -> None:
        """Keep a block's (sign pattern, value row) pairs (default: all of them)."""
        self._signs = np.concatenate([self._signs, signs])
        self._values = np.concatenate([self._values, values])

    def _after_block(self) -> None:
        """Called after a block's queries were answered on Alice's side."""

    def _encode_values(self, values: np.ndarray) -> bytes:
        """The stored rows (in slot order) as bytes."""
        raise NotImplementedError

    def _decode_values(self, data: bytes, n: int) -> np.ndarray:
        """Inverse of :meth:`_encode_values` for ``n`` rows (CorruptMessageError if bad)."""
        raise NotImplementedError

    # -- the contract --------------------------------------------------------------------
    @property
    def stored_tokens(self) -> int:
        """Rows the cache holds."""
        return int(self._values.shape[0])

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Store the block (Alice) or accept Bob's zero block; route each query to a row."""
        q = np.asarray(queries, dtype=np.float64)
        k = np.asarray(keys, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        for name, a in (("queries", q), ("keys", k), ("values", v)):
            if a.ndim != 2 or a.shape[1] != self.d:
                raise ValueError(f"{self.NAME} {name} must have shape (tokens, d={self.d}), "
                                 f"got {a.shape}")
        if k.shape[0] != v.shape[0]:
            raise ValueError(f"{k.shape[0]} keys but {v.shape[0]} values")
        if not (np.isfinite(q).all() and np.isfinite(k).all() and np.isfinite(v).all()):
            raise ValueError(f"{self.NAME}: queries, keys and values must be finite")
        zero_key = ~k.any(axis=1)
        if self._table is not None:
            if not zero_key.all() or v.any():
                raise ValueError(f"a restored {self.NAME} cache accepts only blocks of zero "
                                 "keys and zero values (Bob's last scale)")
            return self._route(q)
        if v[zero_key].any():
            raise ValueError(f"the {self.NAME} cache routes by key: a token with a zero key "
                             "must have a zero value")
        self._append(k[~zero_key] < 0, self._check_values(v[~zero_key]))
        self._message = None
        out = self._route(q)
        self._after_block()
        return out

    def _route(self, q: np.ndarray) -> np.ndarray:
        out = np.zeros(q.shape, dtype=np.float64)
        live = np.flatnonzero(q.any(axis=1))
        if live.size == 0 or self.stored_tokens == 0:
            return out
        if self._table is not None:
            rows = self._table.lookup(fingerprints(q[live] < 0))
        else:
            stored = 1.0 - 2.0 * self._signs
            rows = np.argmax(q[live] @ stored.T, axis=1)
        out[live] = self._values[rows]
        return out

    def to_bytes(self) -> bytes:
        """``leb128(n) | leb128(hash bytes) | hash | values in slot order``, framed."""
        if self._message is not None:
            return self._message
        n = self.stored_tokens
        if np.unique(self._signs, axis=0).shape[0] != n:
            raise ValueError(f"two tokens stored by the {self.NAME} cache have the same key "
                             "sign pattern; it routes by sign pattern and needs them distinct")
        fps = fingerprints(self._signs)
        mph, slots = build_mph(fps)
        check_decodes(mph, n, fps, slots)
        by_slot = np.empty_like(self._values)
        by_slot[slots] = self._values
        payload = leb128(n) + leb128(len(mph)) + mph + self._encode_values(by_slot)
        self._message = frame(self.TAG, payload)
        return self._message

    @classmethod
    def from_bytes(cls: type[_R], data: bytes, params: CacheParams) -> _R:
        payload = unframe(data, cls.TAG)
        what = f"{cls.NAME} cache message"
        n, used = read_leb128(payload, what)
        total = params.schedule.total_tokens
        if n > total:
            raise CorruptMessageError(f"{what}: {n} tokens exceed the schedule's {total}")
        mph_len, used2 = read_leb128(payload[used:], what)
        start = used + used2
        if mph_len > len(payload) - start:
            raise CorruptMessageError(f"{what} is truncated: the hash needs {mph_len} bytes")
        reader = BitReader(payload[start : start + mph_len], f"{what} (hash)")
        table = decode_mph(reader, n)
        reader.finish()
        cache = cls(params, None)
        cache._values = cache._decode_values(payload[start + mph_len :], n)
        cache._signs = np.zeros((0, params.d), dtype=bool)
        cache._table = table
        cache._message = bytes(data)
        return cache


class BitRowsRoutedCache(SignRoutedCache):
    """A routed cache whose rows are 0/1 values, stored at one bit per coordinate."""

    BINARY_VALUES: ClassVar[bool] = True  # no multi-level values (the attack sweep skips it)

    def _check_values(self, values: np.ndarray) -> np.ndarray:
        bad = (values != 0) & (values != 1)
        if bad.any():
            raise ValueError(f"the {self.NAME} cache stores 0/1 values only, got "
                             f"{float(values[bad][0]):g}; use an exact or quantised cache "
                             "for others")
        return values.astype(np.int8)

    def _encode_values(self, values: np.ndarray) -> bytes:
        return np.packbits(values.astype(np.uint8).ravel()).tobytes()

    def _decode_values(self, data: bytes, n: int) -> np.ndarray:
        if len(data) != (n * self.d + 7) // 8:
            raise CorruptMessageError(f"{self.NAME} cache message: {len(data)} value bytes "
                                      f"for {n} x {self.d} bits")
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        if bits[n * self.d:].any():
            raise CorruptMessageError(f"{self.NAME} cache message: non-zero padding bits")
        return bits[: n * self.d].reshape(n, self.d).astype(np.int8)
