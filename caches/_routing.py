"""Routing sign patterns to (scale, slot), extendable one scale at a time (private helper).

Purpose: the packer's state must be complete at every scale boundary (memory is the
largest state between two scales, docs/theorem.md#mem), and a minimal perfect hash (MPH)
cannot take new keys once built. So each scale gets its own MPH, built when the scale
arrives, and a query is routed to its scale first:

* scales are tried oldest first; scale s answers a fingerprint f when its stored r_s-bit
  filter word at slot MPH_s(f) equals h_s(f), the top r_s bits of a salted splitmix64 of f
  (a key of scale s always passes its own filter; another key passes with probability
  2^-r_s);
* when a scale arrives, each new key is routed through the older scales; one that some
  older filter would capture is written to an exception list (its whole sign pattern, in
  64-bit words, and its scale), which is consulted first. So every stored key is routed
  to its own scale and slot, deterministically.

Fingerprints. For d <= 64 a key's fingerprint is its sign pattern (injective). Above, it
is a 64-bit hash, and two patterns may share one. Within a scale that is refused (the
minimal perfect hash needs distinct fingerprints), and so is a new key sharing an
exception's fingerprint; across scales it is harmless, because the exception list
compares whole patterns: an older key whose fingerprint a newer exception shares is not
on the list and still reaches its own scale. So a collision is an error, never a
misrouted key.

r_s is chosen when scale s arrives, from public counts alone: with n_s keys in the scale
and R_s keys still to come in the schedule (each costing E bits if captured), the
expected cost n_s r + R_s 2^-r E is least at r ~ log2(R_s E ln 2 / n_s); the last cached
scale (R_s = 0) needs no filter. The expected routing cost is about
sum_s n_s log2(R_s E ln 2 / n_s) + 1.44 n_s bits.

References: Esposito, Mueller Graf & Vigna, ALENEX 2020 (RecSplit, the per-scale MPH);
Carter et al., STOC 1978 (exact membership by fingerprints); Bloom, CACM 13 (1970).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caches._bitstream import BitReader, BitWriter
from caches._mph import (
    MphTable,
    build_mph_into,
    check_decodes,
    decode_mph,
    splitmix64,
    words_fingerprint,
)
from reduction.message import CorruptMessageError

__all__ = ["ScaleRoute", "Router", "filter_bits_for", "EXCEPTION_FP_BITS", "MAX_FILTER_BITS"]

EXCEPTION_FP_BITS = 64
MAX_FILTER_BITS = 40
_SALT_FILTER = 0xA4093822299F31D0
_GOLDEN3 = 0x8CB92BA72F3D8DD7


def _filter_hash(fps: np.ndarray, index: int, bits: int) -> np.ndarray:
    """Top ``bits`` bits of splitmix64(f ^ salt_index): scale ``index``'s filter word."""
    if bits == 0:
        return np.zeros(np.asarray(fps).shape, dtype=np.uint64)
    salt = np.uint64(_SALT_FILTER ^ (((index + 1) * _GOLDEN3) & (2**64 - 1)))
    return splitmix64(np.asarray(fps, dtype=np.uint64) ^ salt) >> np.uint64(64 - bits)


def filter_bits_for(n_keys: int, later_keys: int, exception_bits: int) -> int:
    """The r >= 0 minimising n r + later * 2^-r * E (expected filter + exception bits).

    >>> filter_bits_for(100, 0, 70), filter_bits_for(1, 423, 70) >= 12
    (0, True)
    """
    if later_keys <= 0 or n_keys <= 0:
        return 0
    costs = [n_keys * r + later_keys * exception_bits * 2.0**-r
             for r in range(MAX_FILTER_BITS + 1)]
    return int(np.argmin(costs))


@dataclass
class ScaleRoute:
    """One scale: its MPH (and the bits that encode it), filter width and filter words."""

    n: int
    filter_bits: int
    table: MphTable
    mph_bits: BitWriter
    filters: np.ndarray  # uint64, by slot


class Router:
    """Every scale's route plus the exception list; see the module docstring.

    ``words_per_key`` is the number of 64-bit words of a sign pattern, ceil(d/64).
    """

    def __init__(self, words_per_key: int = 1) -> None:
        if words_per_key < 1:
            raise ValueError(f"words_per_key={words_per_key} must be >= 1")
        self.words_per_key = words_per_key
        self.scales: list[ScaleRoute] = []
        self.exc_fps = np.zeros(0, dtype=np.uint64)  # sorted, distinct
        self.exc_words = np.zeros((0, words_per_key), dtype=np.uint64)  # aligned with fps
        self.exc_scale = np.zeros(0, dtype=np.int64)

    @property
    def n_keys(self) -> int:
        return sum(s.n for s in self.scales)

    def _exception_rows(self, fps: np.ndarray, words: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
        """(on the list, row in the list) per key: same fingerprint AND same pattern."""
        if not self.exc_fps.size:
            return np.zeros(fps.size, dtype=bool), np.zeros(fps.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.exc_fps, fps), self.exc_fps.size - 1)
        hit = (self.exc_fps[pos] == fps) & (self.exc_words[pos] == words).all(axis=1)
        return hit, pos

    def route(self, fps: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scale, slot) of each key (fingerprint and pattern words); scale -1 where
        nothing answers."""
        fps = np.atleast_1d(np.asarray(fps, dtype=np.uint64))
        words = np.asarray(words, dtype=np.uint64).reshape(fps.size, self.words_per_key)
        scale = np.full(fps.size, -1, dtype=np.int64)
        slot = np.zeros(fps.size, dtype=np.int64)
        hit, pos = self._exception_rows(fps, words)
        scale[hit] = self.exc_scale[pos[hit]]
        for index, route in enumerate(self.scales):
            excepted = scale == index
            if excepted.any():
                slot[excepted] = route.table.lookup(fps[excepted])
            open_ = np.flatnonzero(scale < 0)
            if open_.size == 0:
                continue
            slots = route.table.lookup(fps[open_])
            ok = route.filters[slots] == _filter_hash(fps[open_], index, route.filter_bits)
            scale[open_[ok]] = index
            slot[open_[ok]] = slots[ok]
        return scale, slot

    def add_scale(self, fps: np.ndarray, words: np.ndarray, later_keys: int) -> np.ndarray:
        """Route a new scale's keys (distinct fingerprints and their pattern words); return
        their slots in it. Raises ValueError on a repeated key or a fingerprint collision
        that routing could not tell apart (module docstring)."""
        fps = np.asarray(fps, dtype=np.uint64)
        words = np.asarray(words, dtype=np.uint64).reshape(fps.size, self.words_per_key)
        index = len(self.scales)
        if np.unique(fps).size != fps.size:
            repeated = np.unique(words, axis=0).shape[0] != fps.size
            raise ValueError(
                "a key repeats in this scale (equal fingerprints); the packer needs distinct "
                "keys (Lemma L1 with eps < 1 guarantees them)" if repeated else
                "two distinct keys of this scale share a 64-bit fingerprint (d > 64, "
                "probability ~ n^2 2^-65); refused rather than misrouted")
        hit, _ = self._exception_rows(fps, words)
        if hit.any():
            raise ValueError("a new key repeats a stored key's fingerprint; the packer "
                             "needs distinct keys (Lemma L1 with eps < 1 guarantees them)")
        if np.isin(fps, self.exc_fps).any():
            raise ValueError("a new key shares an exception's 64-bit fingerprint with another "
                             "pattern (d > 64); refused rather than misrouted")
        captured, _ = self.route(fps, words)
        writer = BitWriter()
        slots = build_mph_into(writer, fps)
        bits = filter_bits_for(fps.size, later_keys, self.exception_bits(index + 1))
        filters = np.zeros(fps.size, dtype=np.uint64)
        filters[slots] = _filter_hash(fps, index, bits)
        reader = BitReader(writer.to_bytes(), "minimal perfect hash")
        table = decode_mph(reader, fps.size)
        self.scales.append(ScaleRoute(int(fps.size), bits, table, writer, filters))
        new = captured >= 0
        if new.any():
            all_fps = np.concatenate([self.exc_fps, fps[new]])
            all_words = np.concatenate([self.exc_words, words[new]])
            all_scale = np.concatenate([self.exc_scale,
                                        np.full(int(new.sum()), index, dtype=np.int64)])
            order = np.argsort(all_fps, kind="stable")
            self.exc_fps, self.exc_words = all_fps[order], all_words[order]
            self.exc_scale = all_scale[order]
        check_decodes(writer.to_bytes(), fps.size, fps, slots)
        return slots

    def exception_bits(self, n_scales: int) -> int:
        """Bits of one exception: its pattern's 64-bit words and the scale's index."""
        return 64 * self.words_per_key + max(1, (n_scales - 1).bit_length())

    # -- bytes ---------------------------------------------------------------------------
    def write(self, w: BitWriter) -> None:
        """gamma(S + 1) | per scale gamma(n + 1), 6-bit r | MPHs | filters | gamma(X + 1)
        | exceptions (pattern words, 64 bits each, then scale index), by fingerprint."""
        w.gamma(len(self.scales) + 1)
        for route in self.scales:
            w.gamma(route.n + 1)
            w.bits(route.filter_bits, 6)
        for route in self.scales:
            w.append(route.mph_bits)
        for route in self.scales:
            w.array(route.filters, route.filter_bits)
        w.gamma(self.exc_fps.size + 1)
        w.array(self.exc_words.ravel(), EXCEPTION_FP_BITS)
        w.array(self.exc_scale.astype(np.uint64), self.exception_bits(len(self.scales)) -
                EXCEPTION_FP_BITS * self.words_per_key)

    @classmethod
    def read(cls, r: BitReader, max_keys: int, words_per_key: int = 1) -> Router:
        """Parse what :meth:`write` wrote; at most ``max_keys`` keys in all."""
        router = cls(words_per_key)
        n_scales = r.gamma(max_keys + 1) - 1
        shape = []
        for _ in range(n_scales):
            n = r.gamma(max_keys + 1) - 1
            bits = r.bits(6)
            if n == 0 or bits > MAX_FILTER_BITS:
                raise CorruptMessageError(f"packer routing: a scale of {n} keys with "
                                          f"{bits} filter bits")
            shape.append((n, bits))
        if sum(n for n, _ in shape) > max_keys:
            raise CorruptMessageError(f"packer routing: more than {max_keys} keys")
        tables = []
        for n, _ in shape:
            start = r.position
            tables.append((decode_mph(r, n), r.written_between(start, r.position)))
        for (n, bits), (table, mph_bits) in zip(shape, tables):
            router.scales.append(ScaleRoute(n, bits, table, mph_bits, r.array(n, bits)))
        n_exc = r.gamma(max_keys + 1) - 1
        router.exc_words = r.array(n_exc * words_per_key, EXCEPTION_FP_BITS).reshape(
            n_exc, words_per_key)
        router.exc_fps = words_fingerprint(router.exc_words)
        index_bits = router.exception_bits(n_scales) - EXCEPTION_FP_BITS * words_per_key
        router.exc_scale = r.array(n_exc, index_bits).astype(np.int64)
        if n_exc and ((router.exc_fps[1:] <= router.exc_fps[:-1]).any()
                      or router.exc_scale.max() >= n_scales):
            raise CorruptMessageError("packer routing: exceptions unsorted or of no scale")
        return router
