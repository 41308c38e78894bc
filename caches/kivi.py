"""KIVI: asymmetric b-bit KV quantisation, keys per channel, values per token.

Purpose: the KIVI policy listed in docs/compressors.md (Liu et al. 2024, arXiv 2402.02750). Keys are
quantised per channel over blocks of ``group_size`` tokens, values per token over groups
of ``group_size`` channels; the newest tokens stay in fp16 (the "residual").

Main statement (KIVI section 3): code = clamp(round((x - min)/scale), 0, 2^b - 1),
scale = (max - min)/(2^b - 1), x_hat = min + code*scale, (min, scale) stored in fp16 per
group. Memory ~ 2*N_tok*d*b bits + 32 bits per group + 16*d bits per fp16 token + framing.
On the hard instance every group is two-valued (keys +-1/sqrt(d) within a channel, values
0/1), so KIVI is lossless at every b >= 1 (tested; see :mod:`.quantize`).

Options: ``bits`` 1..8 (default 2; KIVI ships 2 and 4; the sweep's budget axis,
values {1, 2, 4, 8}), ``group_size`` >= 1 (default 32), ``residual_length``
>= 0 (default 128). Keys are grouped over ``group_size`` tokens; values over
``value_group(group_size, d)`` channels: the largest divisor of d not above group_size.

Simplifications of the numpy version: after each scale block the cache keeps exactly the
newest ``residual_length`` values in fp16 and quantises all older ones per token; for
keys it quantises the oldest whole blocks of ``group_size`` tokens while at least
``residual_length`` newer tokens remain, so the key residual holds between R and R + G - 1
tokens (KIVI flushes a full residual of R keys at once, so its key residual holds 0 to
R - 1). As in KIVI's decoding step, a block is appended in fp16, attended, and only then
quantised; arithmetic is float64 with fp16-rounded parameters.

References: Liu, Yuan, Jin, Zhong, Xu, Braverman, Chen, Hu, "KIVI: A Tuning-Free
Asymmetric 2bit Quantization for KV Cache", ICML 2024, arXiv 2402.02750 (and its code,
github.com/jy-yuan/KIVI).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._quant import check_bits, dequantize, quantize
from caches.entry import CacheEntry, EntryList
from reduction.attention import attend
from reduction.bitpack import pack_codes, packed_size, unpack_codes
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["KiviCache", "kivi_options", "value_group"]


def kivi_options(params: CacheParams) -> tuple[int, int, int]:
    """(bits, group_size, residual_length), validated (ValueError names the value).

    Value channel groups have :func:`value_group` channels (group_size when it divides d).
    """
    bits = check_bits(params.option("bits", 2))
    group = params.option("group_size", 32)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise ValueError(f"group_size={group!r} must be an integer >= 1")
    residual = params.option("residual_length", 128)
    if isinstance(residual, bool) or not isinstance(residual, int) or residual < 0:
        raise ValueError(f"residual_length={residual!r} must be an integer >= 0")
    return bits, group, residual


def value_group(group_size: int, d: int) -> int:
    """Channels per value group: the largest divisor of d that is at most group_size.

    KIVI groups value channels in blocks of ``group_size``; when that does not divide d
    (d = 48 with the default 32) we use the largest divisor below it (24), so every
    group is whole and every d works.

    >>> value_group(32, 64), value_group(32, 16), value_group(32, 48), value_group(32, 37)
    (32, 16, 24, 1)
    """
    return max(c for c in range(1, min(group_size, d) + 1) if d % c == 0)


class KiviCache:
    """KIVI's layout: quantised key blocks, quantised value rows, fp16 residuals."""

    TAG: ClassVar[bytes] = b"KIV1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"bits", "group_size", "residual_length"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.bits, self.group_size, self.residual_length = kivi_options(params)
        d = params.d
        self.key_codes = np.zeros((0, d), dtype=np.uint8)  # quantised keys, token-major
        self.key_params = np.zeros((0, d, 2), dtype=np.float16)  # per block x channel
        self.key_residual = np.zeros((0, d), dtype=np.float16)
        self.value_codes = np.zeros((0, d), dtype=np.uint8)
        self.channel_group = value_group(self.group_size, d)
        self.value_params = np.zeros((0, d // self.channel_group, 2), dtype=np.float16)
        self.value_residual = np.zeros((0, d), dtype=np.float16)
        self._key_deq = np.zeros((0, d))
        self._value_deq = np.zeros((0, d))

    def _dequantize_keys(self, codes: np.ndarray, kparams: np.ndarray) -> np.ndarray:
        g, d = self.group_size, self.params.d
        blocks = codes.shape[0] // g
        grouped = codes.reshape(blocks, g, d).transpose(0, 2, 1).reshape(-1, g)
        deq = dequantize(grouped, kparams.reshape(-1, 2), self.bits, "minmax")
        return deq.reshape(blocks, d, g).transpose(0, 2, 1).reshape(-1, d)

    def _dequantize_values(self, codes: np.ndarray, vparams: np.ndarray) -> np.ndarray:
        deq = dequantize(codes.reshape(-1, self.channel_group), vparams.reshape(-1, 2),
                         self.bits, "minmax")
        return deq.reshape(-1, self.params.d)

    def _flush(self) -> None:
        g, d, r = self.group_size, self.params.d, self.residual_length
        blocks = max(self.key_residual.shape[0] - r, 0) // g
        if blocks:
            x = self.key_residual[: blocks * g].astype(np.float64)
            grouped = x.reshape(blocks, g, d).transpose(0, 2, 1).reshape(-1, g)
            codes, kp = quantize(grouped, self.bits, "minmax")
            codes = codes.reshape(blocks, d, g).transpose(0, 2, 1).reshape(-1, d)
            kp = kp.reshape(blocks, d, 2)
            self.key_codes = np.concatenate([self.key_codes, codes])
            self.key_params = np.concatenate([self.key_params, kp])
            self._key_deq = np.concatenate([self._key_deq, self._dequantize_keys(codes, kp)])
            self.key_residual = self.key_residual[blocks * g :]
        extra = max(self.value_residual.shape[0] - r, 0)
        if extra:
            x = self.value_residual[:extra].astype(np.float64)
            gc = self.channel_group
            codes, vp = quantize(x.reshape(-1, gc), self.bits, "minmax")
            codes = codes.reshape(extra, d)
            vp = vp.reshape(extra, d // gc, 2)
            self.value_codes = np.concatenate([self.value_codes, codes])
            self.value_params = np.concatenate([self.value_params, vp])
            self._value_deq = np.concatenate([self._value_deq,
                                              self._dequantize_values(codes, vp)])
            self.value_residual = self.value_residual[extra:]

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block in fp16, attend to (dequantised + residual), then quantise."""
        k, v = check_block(keys, values, self.params.d)
        if not (np.isfinite(k).all() and np.isfinite(v).all()):
            raise ValueError("KIVI cannot store non-finite keys or values")
        self.key_residual = np.concatenate([self.key_residual, k.astype(np.float16)])
        self.value_residual = np.concatenate([self.value_residual, v.astype(np.float16)])
        all_k = np.concatenate([self._key_deq, self.key_residual.astype(np.float64)])
        all_v = np.concatenate([self._value_deq, self.value_residual.astype(np.float64)])
        out = attend(queries, all_k, all_v)
        self._flush()
        return out

    def to_bytes(self) -> bytes:
        """``u32 tokens | key codes | key params | key residual | same for values``.

        The split of the tokens between codes and residuals follows from the token count
        and the public options, so only the count is stored.
        """
        n = self.key_codes.shape[0] + self.key_residual.shape[0]
        w = Writer().u32(n)
        w.raw(pack_codes(self.key_codes, self.bits)).array(self.key_params, "<f2")
        w.array(self.key_residual, "<f2")
        w.raw(pack_codes(self.value_codes, self.bits)).array(self.value_params, "<f2")
        w.array(self.value_residual, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> KiviCache:
        cache = cls(params)
        d, g, b, res = params.d, cache.group_size, cache.bits, cache.residual_length
        r = Reader(unframe(data, cls.TAG), "KIVI cache message")
        n = r.token_count(params.schedule.total_tokens)
        qk = max(n - res, 0) // g * g
        qv = max(n - res, 0)
        kc = unpack_codes(r.raw(packed_size(qk * d, b), "key codes"), b, qk * d)
        kp = r.array("<f2", (qk // g, d, 2), "key parameters")
        kr = r.array("<f2", (n - qk, d), "key residual")
        vc = unpack_codes(r.raw(packed_size(qv * d, b), "value codes"), b, qv * d)
        vp = r.array("<f2", (qv, d // cache.channel_group, 2), "value parameters")
        vr = r.array("<f2", (n - qv, d), "value residual")
        r.finish()
        r.expect(all(np.isfinite(a).all() for a in (kp, kr, vp, vr)), "non-finite entries")
        cache.key_codes = kc.reshape(qk, d).astype(np.uint8)
        cache.key_params = kp
        cache.key_residual = kr
        cache.value_codes = vc.reshape(qv, d).astype(np.uint8)
        cache.value_params = vp
        cache.value_residual = vr
        cache._key_deq = cache._dequantize_keys(cache.key_codes, kp)
        cache._value_deq = cache._dequantize_values(cache.value_codes, vp)
        return cache


_DEFAULTS = {"group_size": 32, "residual_length": 128}
#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("kivi", CacheEntry(KiviCache, {"bits": 2, **_DEFAULTS},
                                  "KIVI (2402.02750): keys per-channel, values per-token "
                                  "asymmetric b-bit, newest 128 tokens fp16 (option bits "
                                  "1..8, default 2; sweep bits 1,2,4,8)"))
for _b in (2, 4):
    ENTRIES.add(f"kivi-q{_b}", CacheEntry(KiviCache, {"bits": _b, **_DEFAULTS},
                                             f"KIVI-{_b}: {_b}-bit keys per channel, values "
                                             "per token, group 32, residual 128 in fp16",
                                             fixed=frozenset({"bits"})))
