"""The support-storing cache: each value row kept as the rank of its support (variant S2).

Purpose: the matching cache of docs/theorem.md#s2 (ours). When every value row has s
non-zeros among d coordinates, a row is one of C(d, s) supports (times 2^s sign patterns
if the non-zeros are +-1), so it needs ceil(log2 C(d, s)) bits, not d. The cache keeps

* per stored token, the colex rank of its support (:mod:`caches.combinadic`), packed at
  ceil(log2 C(d, s)) bits, then (option ``signed``) one sign bit per non-zero, and
* in place of the keys, a minimal perfect hash of their sign patterns (~1.84 bits per
  key), which routes Bob's query C k_i to token i's row (:mod:`._routed`).

Without the option ``s`` the rows may have any weight: each row is then written as its
weight w (ceil(log2(d + 1)) bits) and the rank of its support among the C(d, w) of that
weight: an exact enumerative code of any 0/1 row, about d + 2 bits for uniform bits.

Main statement: on the S2 instance Bob's output row for q = C k_i is token i's value row
exactly, so every support (and sign) decodes; the message has
L (ceil(log2 C(d, s)) + [signed] s) + (hash bits) + O(log L) + 64 framing bits, within
1.3x of the S2 bound L floor(log2 C(d, s)) plus O(L log L) (tests/variants/test_variants.py).

Options: ``s`` (integer 1 <= s <= d; absent = any weight), ``signed`` (bool, default
False: values in {0, 1}; True: values in {-1, 0, 1}). Values outside these raise
ValueError (use an exact cache), and with ``s`` so does a row of another weight.

References: D. E. Knuth, TAOCP 4A, 7.2.1.3 (the combinatorial number system); T. M.
Cover, "Enumerative source encoding", IEEE Trans. Inf. Theory 19 (1973).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from caches._bitstream import BitReader, BitWriter, leb128
from caches._routed import SignRoutedCache
from caches.combinadic import rank_rows, rank_width, unrank_subset
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError

__all__ = ["SupportCache", "support_message_bits"]


def _weight_bits(d: int) -> int:
    return d.bit_length()  # ceil(log2(d + 1)): weights 0..d


class SupportCache(SignRoutedCache):
    """Each value row as the rank of its support (+ signs), routed by a key hash."""

    TAG: ClassVar[bytes] = b"SUP1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"s", "signed"})
    NAME: ClassVar[str] = "support"
    BINARY_VALUES: ClassVar[bool] = True  # supports of 0/1 (or signed) rows only

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        s: Any = params.option("s", None)
        if isinstance(s, float) and s.is_integer():
            s = int(s)
        if s is not None and (isinstance(s, bool) or not isinstance(s, int)
                              or not 1 <= s <= self.d):
            raise ValueError(f"s={s!r} must be an integer with 1 <= s <= d={self.d} "
                             "(or absent: rows of any weight)")
        signed: Any = params.option("signed", False)
        if not isinstance(signed, bool):
            raise ValueError(f"signed={signed!r} must be true or false")
        self.s: int | None = s
        self.signed = signed

    def _check_values(self, values: np.ndarray) -> np.ndarray:
        allowed = (-1.0, 0.0, 1.0) if self.signed else (0.0, 1.0)
        bad = ~np.isin(values, allowed)
        if bad.any():
            raise ValueError(
                f"the support cache stores values in {{{', '.join(f'{a:g}' for a in allowed)}}}"
                f", got {float(values[bad][0]):g}; use an exact or quantised cache for others")
        if self.s is not None:
            weights = np.count_nonzero(values, axis=1)
            wrong = np.flatnonzero(weights != self.s)
            if wrong.size:
                raise ValueError(f"the support cache with s={self.s} needs rows with exactly "
                                 f"{self.s} non-zeros; a row has {int(weights[wrong[0]])}")
        return values.astype(np.int8)

    def _encode_values(self, values: np.ndarray) -> bytes:
        w = BitWriter()
        ranks = rank_rows(values != 0)
        weights = np.count_nonzero(values, axis=1).tolist()
        for row, rank, weight in zip(values, ranks, weights):
            if self.s is None:
                w.bits(weight, _weight_bits(self.d))
            w.bits(rank, rank_width(self.d, weight))
            if self.signed:
                for sign in (row[row != 0] < 0).tolist():
                    w.bits(int(sign), 1)
        return w.to_bytes()

    def _decode_values(self, data: bytes, n: int) -> np.ndarray:
        d = self.d
        per_row = rank_width(d, self.s) if self.s is not None else _weight_bits(d)
        if n * per_row > 8 * len(data):
            raise CorruptMessageError(f"support cache message: {len(data)} value bytes cannot "
                                      f"hold {n} rows")
        r = BitReader(data, "support cache values")
        out = np.zeros((n, d), dtype=np.int8)
        for j in range(n):
            weight = self.s if self.s is not None else r.bits(_weight_bits(d))
            if weight > d:
                raise CorruptMessageError(f"support cache values: weight {weight} > d={d}")
            rank = r.bits(rank_width(d, weight))
            if rank >= math.comb(d, weight):
                raise CorruptMessageError(f"support cache values: rank {rank} >= "
                                          f"C({d}, {weight})")
            support = list(unrank_subset(rank, weight, d))
            signs = [r.bits(1) for _ in range(weight)] if self.signed else [0] * weight
            out[j, support] = [-1 if neg else 1 for neg in signs]
        r.finish()
        return out


def support_message_bits(n_tokens: int, d: int, s: int, hash_bits: int,
                         signed: bool = False) -> int:
    """Bits of a support-cache message with fixed s: framing, lengths, hash, ranks.

    8 * (8 + |leb128(n)| + |leb128(hash bytes)| + ceil(hash/8) + ceil(n * width / 8)),
    width = ceil(log2 C(d, s)) (+ s when signed).

    >>> support_message_bits(424, 64, 4, 784)
    9352
    """
    width = rank_width(d, s) + (s if signed else 0)
    hash_bytes = (hash_bits + 7) // 8
    return 8 * (8 + len(leb128(n_tokens)) + len(leb128(hash_bytes)) + hash_bytes
                + (n_tokens * width + 7) // 8)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "support",
    CacheEntry(
        SupportCache,
        {},
        "each 0/1 (or +-1 with signed) value row as the colex rank of its support "
        "(ceil(log2 C(d, s)) bits with option s, else weight + rank) + a ~1.84 bit/key hash "
        "of the key signs (variant S2)",
    ),
)
