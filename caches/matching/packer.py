"""The instance-optimal packer: bit-packed values plus per-scale routing of the keys.

Purpose: docs/theorem.md#tight (ours, beyond the papers). On the hard distribution every
cached value is a bit and Bob's query q = C*k_i is a positive multiple of a stored key, so
sign(q) = sigma_i names the token. The packer keeps

* the value bits, packed at 1 bit per coordinate, scale by scale in slot order, and
* in place of the keys, only what routes a sign pattern to its (scale, slot)
  (:mod:`caches._routing`): a minimal perfect hash (MPH) per scale
  (:mod:`caches._mph`, RecSplit-lite, ~1.84 bits per key), an r_s-bit
  filter word per key telling its scale apart from the later ones (r_s chosen from the
  public schedule; 0 for the last cached scale), and an exception list (the key's sign
  pattern in 64-bit words + its scale) for the rare later key an older filter would
  capture.

Memory is the largest state carried between two scales (docs/theorem.md#mem), so the
state after EVERY scale is complete: ``to_bytes()`` after scale k is the whole state, and
``from_bytes`` of it continues the stream (new scales get their own MPH). Nothing else is
kept between scales.

Main statement: Bob's output row for q = C*k_i is x_i exactly, so every bit decodes
(eta = 0). Measured on the hard instance (eps 0.7, eta 0.1; tests/caches/test_packer_boundaries.py
prints the table): the largest state over the boundaries is the last one, and
message_bits / N <= 1 + 12/d on var-256 and var-512 at d = 64 and 128, i.e. within
1 + O(1/d) of the Index bound N of Lemma L4 (docs/theorem.md#l4).

What the outputs are off the hard distribution (documented, not hidden):

* a zero query row gets a zero output row; so does a query no scale's filter answers;
* a query that is not a positive multiple of a stored key is routed to some slot of some
  scale (an MPH cannot tell non-members; a filter rejects them only with probability
  1 - 2^-r);
* values must be 0 or 1 (or, in the precision construction with b bits per value, the
  levels m 2^-b, stored as b-bit codes; docs/theorem.md#prec): any other value raises
  ValueError (no fallback; use ``exact``);
* tokens with a zero key must have a zero value and are not stored (they route nothing
  and add nothing to any row), so Bob's last scale (zero keys and values) stores nothing;
* two keys of one scale with the same sign pattern raise ValueError (Lemma L1 with
  eps < 1 rules this out); a later key repeating an earlier scale's pattern cannot be
  detected (only the older key's fingerprint bits remain) and takes its place;
* for d > 64 the fingerprint is a 64-bit hash of the pattern: two patterns of one scale
  sharing one (probability ~ n^2 2^-65) raise ValueError, and across scales a shared
  fingerprint routes correctly, because exceptions are stored as whole patterns
  (:mod:`caches._routing`). A collision is refused or harmless, never a misrouted key.

References: arXiv 2503.14881 and arXiv 2502.15955 (the bound this meets); Esposito,
Mueller Graf & Vigna, ALENEX 2020 (RecSplit).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._bitstream import BitReader, BitWriter, leb128, read_leb128
from caches._mph import sign_words, words_fingerprint
from caches._routing import Router
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError, frame, unframe

__all__ = ["PackerCache", "pack_ratio"]


class PackerCache:
    """Bit-packed values (1 bit, or b bits per coordinate) plus per-scale routing.

    No options of its own; it reads ``bits_per_value`` (None: 0/1 values) from the public
    parameters of the protocol. Exact on the hard distribution (module docstring).
    """

    TAG: ClassVar[bytes] = b"PKR2"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"bits_per_value"})  # from the protocol

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        b = params.option("bits_per_value")
        if b is not None and (type(b) is not int or not 1 <= b <= 16):
            raise ValueError(f"packer: bits_per_value={b!r} must be None or an integer in 1..16")
        self._levels = b  # None: values are bits; b: values are m 2^-b, stored as m
        self._code_bits = 1 if b is None else b
        self._router = Router(_words_per_key(params.d))
        self._values: list[np.ndarray] = []  # per scale, uint8 (n_s, d), in slot order
        self._tokens_seen = 0
        self._message: bytes | None = None

    @property
    def cached_tokens(self) -> int:
        """Tokens whose values the cache holds."""
        return self._router.n_keys

    def _check_block(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> None:
        d = self.params.d
        for name, a in (("queries", queries), ("keys", keys), ("values", values)):
            if a.ndim != 2 or a.shape[1] != d:
                raise ValueError(f"packer {name} must have shape (tokens, d={d}), got {a.shape}")
        if keys.shape[0] != values.shape[0]:
            raise ValueError(f"{keys.shape[0]} keys but {values.shape[0]} values")
        zero_key = ~keys.any(axis=1)
        if (values[zero_key] != 0).any():
            raise ValueError("the packer routes by key: a token with a zero key must have "
                             "a zero value")
        if self._levels is None:
            bad = (values != 0) & (values != 1)
        else:
            scaled = np.ldexp(values, self._levels)
            bad = (scaled != np.floor(scaled)) | (scaled < 0) | (scaled >= 2**self._levels)
        if bad.any():
            what = ("0/1 values" if self._levels is None
                    else f"the levels m 2^-{self._levels}, m < 2^{self._levels}")
            raise ValueError(f"the packer stores {what} only, got {values[bad][0]!r}; use "
                             "an exact or quantised cache for other values")

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Add the block as a new scale (its own MPH and filters); route each query."""
        q = np.asarray(queries, dtype=np.float64)
        k = np.asarray(keys, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        self._check_block(q, k, v)
        live = k.any(axis=1)
        self._tokens_seen += int(k.shape[0])
        if live.any():
            words = sign_words(k[live] < 0)
            later = max(0, self.params.schedule.cached_tokens - self._tokens_seen)
            slots = self._router.add_scale(words_fingerprint(words), words, later)
            by_slot = np.empty((words.shape[0], self.params.d), dtype=np.uint16)
            codes = v[live] if self._levels is None else np.ldexp(v[live], self._levels)
            by_slot[slots] = codes.astype(np.uint16)
            self._values.append(by_slot)
            self._message = None
        return self._route(q)

    def _route(self, q: np.ndarray) -> np.ndarray:
        out = np.zeros(q.shape, dtype=np.float64)
        live = np.flatnonzero(q.any(axis=1))
        if live.size == 0 or self.cached_tokens == 0:
            return out
        words = sign_words(q[live] < 0)
        scale, slot = self._router.route(words_fingerprint(words), words)
        for index, values in enumerate(self._values):
            mine = scale == index
            out[live[mine]] = values[slot[mine]]
        return out if self._levels is None else np.ldexp(out, -self._levels)

    def to_bytes(self) -> bytes:
        """``leb128(tokens seen) | routing bits | value codes by scale and slot``, framed
        (each code b bits, most significant first; b = 1 for 0/1 values)."""
        if self._message is not None:
            return self._message
        w = BitWriter()
        self._router.write(w)
        values = (np.concatenate(self._values) if self._values
                  else np.zeros((0, self.params.d), dtype=np.uint16))
        payload = (leb128(self._tokens_seen) + w.to_bytes()
                   + np.packbits(_code_bits(values, self._code_bits)).tobytes())
        self._message = frame(self.TAG, payload)
        return self._message

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> PackerCache:
        payload = unframe(data, cls.TAG)
        what = "packer message"
        seen, used = read_leb128(payload, what)
        total = params.schedule.total_tokens
        if seen > total:
            raise CorruptMessageError(f"{what}: {seen} tokens exceed the schedule's {total}")
        reader = BitReader(payload[used:], f"{what} (routing)")
        router = Router.read(reader, seen, _words_per_key(params.d))
        n = router.n_keys
        cache = cls(params)
        b = cache._code_bits
        value_bytes = (n * params.d * b + 7) // 8
        routing_bytes = -(-reader.position // 8)
        if len(payload) - used - routing_bytes != value_bytes:
            raise CorruptMessageError(f"{what}: {len(payload) - used - routing_bytes} bytes "
                                      f"after the routing, expected {value_bytes} for {n} x "
                                      f"{params.d} values of {b} bits")
        tail = BitReader(payload[used : used + routing_bytes], f"{what} (routing)")
        tail.array(1, reader.position)  # skip what was parsed; only padding may remain
        tail.finish()
        bits = np.unpackbits(np.frombuffer(payload[used + routing_bytes :], dtype=np.uint8))
        if bits[n * params.d * b :].any():
            raise CorruptMessageError(f"{what}: non-zero padding after the value bits")
        cache._router = router
        weights = (1 << np.arange(b - 1, -1, -1)).astype(np.uint16)
        planes = bits[: n * params.d * b].reshape(n * params.d, b).astype(np.uint16)
        flat = (planes @ weights).astype(np.uint16).reshape(n, params.d)
        bounds = np.cumsum([0] + [s.n for s in router.scales])
        cache._values = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        cache._tokens_seen = seen
        cache._message = bytes(data)
        return cache

    def pack_ratio(self) -> float:
        """message bits / (L*d*b): 1 + (overhead bits per cached token) / (d b)."""
        bound = self.cached_tokens * self.params.d * self._code_bits
        return 8 * len(self.to_bytes()) / max(1, bound)

    def overhead_bits_per_token(self) -> float:
        """(message bits - L*d*b) / L: routing, header, padding and framing per token."""
        n = max(1, self.cached_tokens)
        bound = self.cached_tokens * self.params.d * self._code_bits
        return (8 * len(self.to_bytes()) - bound) / n


def _words_per_key(d: int) -> int:
    """64-bit words of a sign pattern in dimension d (the exception list's unit)."""
    return max(1, -(-d // 64))


def _code_bits(codes: np.ndarray, b: int) -> np.ndarray:
    """The b bits of every code, most significant first, flattened (b = 1: the bits)."""
    flat = codes.ravel().astype(np.uint16)
    if b == 1:
        return flat.astype(np.uint8)
    shifts = np.arange(b - 1, -1, -1, dtype=np.uint16)
    return ((flat[:, None] >> shifts) & 1).astype(np.uint8).ravel()


def pack_ratio(message: bytes, params: CacheParams) -> float:
    """message_bits / N for a packer message, N = (cached tokens) * d (docs/theorem.md#tight).

    >>> from reduction.schedule import Schedule
    >>> params = CacheParams(8, Schedule.from_sides([1, 2]))
    >>> cache = PackerCache(params)
    >>> _ = cache.process(np.zeros((1, 8)), np.ones((1, 8)), np.ones((1, 8)))
    >>> pack_ratio(cache.to_bytes(), params)  # 1 value byte + 3 header/routing + 8 framing
    12.0
    """
    return PackerCache.from_bytes(message, params).pack_ratio()


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "packer",
    CacheEntry(
        PackerCache,
        {},
        "instance-optimal: 1 bit per 0/1 value (b bits per value with --bits-per-value) + "
        "per-scale routing (a ~1.84 bit/key minimal perfect hash per scale, filter words, "
        "exceptions); complete at every scale boundary; exact on the hard instance",
        protocol=frozenset({"bits_per_value"}),
    ),
)
