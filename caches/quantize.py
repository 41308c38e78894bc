"""Uniform b-bit quantisation of the KV cache, per tensor or per channel group.

Purpose: the "uniform b-bit quantisation" policy listed in docs/compressors.md. Each appended scale
block's keys and values (two tensors) are quantised on arrival and only codes (packed at
b bits) plus fp16 parameters are kept; attention reads the dequantised cache.

Main statement: memory = N_tok*d*b bits per tensor + 16 bits per parameter per group
(+ framing); reconstruction error per entry <= scale/2 (min-max) or Delta/2 (absmax),
up to fp16 rounding of the parameters (see :mod:`caches._quant`).

A finding on the hard instance (docs/theorem.md#reduction), measured and tested: asymmetric min-max
quantisation at ANY b >= 1 is lossless here (up to fp16 rounding of its parameters, far
inside the decoding margin of Lemma L3), because every group holds at most two distinct
values (keys +-1/sqrt(d), values 0/1), and b = 1 already has the two levels min and
max; so ``uniform-q1`` decodes every bit with a message of about 2N bits, on the
feasible side of the bound N. Per-channel-group layouts change nothing (a group of
two-valued entries is still two-valued). The honest configuration that does NOT reach
zero errors at 1 bit is the symmetric (absmax, mid-rise) quantiser ``uniform-sym-q1``:
its two levels are +-absmax/2, so 0 and 1 both dequantise to 1/2 and the value bits are
gone (error rate ~ 1/2); at 2 bits it maps 0 -> 1/4 and 1 -> 3/4 and decodes again.

Options:

* ``bits``: 1..8 (default 4) -- the sweep's budget axis, values {1, 2, 4, 8};
* ``scheme``: ``minmax`` (asymmetric, default) or ``absmax`` (symmetric, mid-rise);
* ``group_size``: 0 (default) = one parameter set per tensor (per scale block, K and V
  separately), or g >= 1 dividing d = groups of g consecutive channels of one token.

Simplifications of the numpy version: the quantiser of a real system works in fp16 on a
GPU; here the arithmetic is float64 with fp16-rounded parameters, and each block is
quantised once, when it arrives (the block's own queries read it quantised).

References: Gersho & Gray (1992), ch. 5 (uniform quantisers); Liu et al., arXiv
2402.02750 (asymmetric min-max for KV caches); Hooper et al., "KVQuant", arXiv 2401.18079
(per-tensor vs per-channel KV quantisation).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._quant import (
    SCHEMES,
    check_bits,
    dequantize,
    params_per_group,
    quantize,
)
from caches.entry import CacheEntry, EntryList
from reduction.attention import attend
from reduction.bitpack import pack_codes, packed_size, unpack_codes
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["UniformQuantCache", "uniform_options"]


def uniform_options(params: CacheParams) -> tuple[int, str, int]:
    """(bits, scheme, group_size) from the options, validated (ValueError names the value)."""
    bits = check_bits(params.option("bits", 4))
    scheme = params.option("scheme", "minmax")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r}; choose one of {', '.join(SCHEMES)}")
    group = params.option("group_size", 0)
    if isinstance(group, bool) or not isinstance(group, int) or group < 0 or (
        group and params.d % group
    ):
        raise ValueError(f"group_size={group!r} must be 0 (per tensor) or a divisor of "
                         f"d={params.d}")
    return bits, str(scheme), int(group)


class UniformQuantCache:
    """Keys and values quantised on arrival to ``bits`` bits (see the module docstring)."""

    TAG: ClassVar[bytes] = b"UNQ1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"bits", "scheme", "group_size"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.bits, self.scheme, self.group_size = uniform_options(params)
        self._sizes: list[int] = []
        self._codes: list[tuple[np.ndarray, np.ndarray]] = []
        self._params: list[tuple[np.ndarray, np.ndarray]] = []
        self.keys = np.zeros((0, params.d))
        self.values = np.zeros((0, params.d))

    def _groups(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, self.group_size) if self.group_size else x.reshape(1, -1)

    def _n_groups(self, tokens: int) -> int:
        return tokens * self.params.d // self.group_size if self.group_size else 1

    def _append(self, codes: tuple[np.ndarray, np.ndarray],
                qparams: tuple[np.ndarray, np.ndarray]) -> None:
        t = codes[0].shape[0]
        self._sizes.append(t)
        self._codes.append(codes)
        self._params.append(qparams)
        deq = [dequantize(self._groups(c), p, self.bits, self.scheme).reshape(t, self.params.d)
               for c, p in zip(codes, qparams)]
        self.keys = np.concatenate([self.keys, deq[0]])
        self.values = np.concatenate([self.values, deq[1]])

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Quantise and append the block, then attend its queries to the dequantised cache."""
        k, v = check_block(keys, values, self.params.d)
        if k.shape[0]:
            qk, pk = quantize(self._groups(k), self.bits, self.scheme)
            qv, pv = quantize(self._groups(v), self.bits, self.scheme)
            self._append((qk.reshape(k.shape), qv.reshape(v.shape)), (pk, pv))
        return attend(queries, self.keys, self.values)

    def to_bytes(self) -> bytes:
        """``u32 blocks | u32 size per block | per block: K params, V params | all codes``."""
        w = Writer().u32(len(self._sizes))
        for t in self._sizes:
            w.u32(t)
        for pk, pv in self._params:
            w.array(pk, "<f2").array(pv, "<f2")
        flat = [c.ravel() for pair in self._codes for c in pair]
        codes = np.concatenate(flat) if flat else np.zeros(0, np.uint8)
        w.raw(pack_codes(codes, self.bits))
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> UniformQuantCache:
        cache = cls(params)
        r = Reader(unframe(data, cls.TAG), "uniform quantised cache message")
        total = params.schedule.total_tokens
        blocks = r.u32("blocks")
        r.expect(blocks <= total, f"{blocks} blocks exceed the schedule's {total} tokens")
        sizes = [r.u32("block size") for _ in range(blocks)]
        r.expect(all(t >= 1 for t in sizes) and sum(sizes) <= total,
                 f"block sizes {sizes} must be >= 1 and sum to <= {total} tokens")
        p = params_per_group(cache.scheme)
        qparams = [(r.array("<f2", (cache._n_groups(t), p), "key parameters"),
                    r.array("<f2", (cache._n_groups(t), p), "value parameters"))
                   for t in sizes]
        count = 2 * sum(sizes) * params.d
        codes = unpack_codes(r.raw(packed_size(count, cache.bits), "codes"), cache.bits, count)
        r.finish()
        r.expect(all(np.isfinite(a).all() for pair in qparams for a in pair),
                 "non-finite quantisation parameters")
        start = 0
        for t, pair in zip(sizes, qparams):
            size = t * params.d
            ck = codes[start : start + size].reshape(t, params.d).astype(np.uint8)
            cv = codes[start + size : start + 2 * size].reshape(t, params.d).astype(np.uint8)
            start += 2 * size
            cache._append((ck, cv), pair)
        return cache


_SUMMARY = "{b}-bit {s} quantisation of K and V per scale block (codes packed, fp16 params)"
#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("uniform", CacheEntry(UniformQuantCache, {"bits": 4, "scheme": "minmax"},
                                     "b-bit asymmetric min-max quantisation per scale block "
                                     "(option bits in 1..8, default 4; sweep bits 1,2,4,8)",
                                     fixed=frozenset({"scheme"})))
for _b in (1, 2, 4, 8):
    ENTRIES.add(f"uniform-q{_b}", CacheEntry(
        UniformQuantCache, {"bits": _b, "scheme": "minmax"},
        _SUMMARY.format(b=_b, s="asymmetric min-max"), fixed=frozenset({"bits", "scheme"})))
ENTRIES.add("uniform-sym", CacheEntry(UniformQuantCache, {"bits": 4, "scheme": "absmax"},
                                         "b-bit symmetric absmax (mid-rise) quantisation per "
                                         "scale block (option bits in 1..8, default 4)",
                                         fixed=frozenset({"scheme"})))
for _b in (1, 2):
    ENTRIES.add(f"uniform-sym-q{_b}", CacheEntry(
        UniformQuantCache, {"bits": _b, "scheme": "absmax"},
        _SUMMARY.format(b=_b, s="symmetric absmax (mid-rise)"),
        fixed=frozenset({"bits", "scheme"})))
