"""The exact KV cache: every key and value kept, at float64, float32 or float16.

Purpose: the uncompressed baseline of docs/theorem.md#model, #reduction (eta = 0 up to the storage
precision). It mirrors the real VAR inference cache (FoundationVision/VAR,
``models/basic_var.py``): append each scale's keys and values, evict nothing, attend with
full attention inside the scale and causally across scales. Values are Alice's bits
(0/1, exact at every precision); keys +-1/sqrt(d) round at float16 by at most 2^-11
relative, far inside the decoding margin of Lemma L3.

Speed (the cache interface is unchanged): ``process`` computes nothing for an all-zero
query block (Alice's scales: uniform weights, so the outputs are the mean of the values,
in closed form), and :meth:`ExactCache.attend_with_zero_block` is the optional fast path
Bob uses when a cache offers it: his query rows only (no padding), the zero block in
closed form, float32 with a rounding bound checked against Bob's thresholds
(:mod:`reduction.attention32`). Both report their scores to an active logit record
(:func:`reduction.attention.record_logits`).

Many heads (docs/theorem.md#c2-run): the class handles (D, H, T_k, d) blocks itself
(``MULTI_HEAD``): it keeps (D, H, tokens, d) arrays, the zero-query closed form per head,
and Bob's fast path head by head (one float32 kernel call per head, ``workers`` threads
sharing the heads, each on one BLAS thread, so the outputs do not depend on ``workers``).
With D = H = 1 arrays, bytes and outputs are exactly the one-head ones; with D * H > 1
the header also holds D and H (u16 each).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from reduction.attention import active_record, attend
from reduction.attention32 import Float32KV, attend_float32
from reduction.cache import CacheParams, check_heads_block
from reduction.isolation.threads import blas_threads, check_workers
from reduction.message import (
    FRAME_OVERHEAD_BYTES,
    Reader,
    Writer,
    check_header_field,
    frame,
    unframe,
)

__all__ = ["ExactCache", "exact_cache_bits", "STORAGE_DTYPES"]

STORAGE_DTYPES: dict[str, str] = {"float16": "<f2", "float32": "<f4", "float64": "<f8"}
_DTYPE_CODES = {name: code for code, name in enumerate(STORAGE_DTYPES)}
_HEADER_BYTES = 4 + 2 + 1  # tokens (u32), d (u16), dtype code (u8)


def exact_cache_bits(cached_tokens: int, d: int, dtype: str = "float16", heads: int = 1) -> int:
    """Bits of the exact cache's message holding L tokens in each of ``heads`` (= D * H)
    heads: framing + header + K and V.

    8 * (8 + 7 + 2 * L * d * itemsize); e.g. var-256, d = 64, float16: 8 * (15 + 108544).
    With D * H > 1 heads the header has 4 bytes more and K, V are D * H times larger.

    Notes: the memory of the uncompressed cache, to compare with the theorem's bound.

    >>> exact_cache_bits(424, 64, "float16")
    868472
    >>> exact_cache_bits(424, 64, "float16", heads=256)
    222298264
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype={dtype!r}; choose one of {', '.join(STORAGE_DTYPES)}")
    item = np.dtype(STORAGE_DTYPES[dtype]).itemsize
    header = _HEADER_BYTES + (4 if heads > 1 else 0)
    return 8 * (FRAME_OVERHEAD_BYTES + header + 2 * heads * cached_tokens * d * item)


class ExactCache:
    """Keeps every key and value at the storage precision ``options['dtype']``.

    Options: ``dtype`` in {float16, float32, float64} (default float16, the real cache's).
    """

    TAG: ClassVar[bytes] = b"EXC1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"dtype"})
    MULTI_HEAD: ClassVar[bool] = True

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        dtype = params.option("dtype", "float16")
        if dtype not in STORAGE_DTYPES:
            raise ValueError(
                f"exact cache dtype={dtype!r}; choose one of {', '.join(STORAGE_DTYPES)}"
            )
        check_header_field(params.d, 16, "the exact cache's d")
        self.params = params
        self.dtype = str(dtype)
        self._np_dtype = np.dtype(STORAGE_DTYPES[self.dtype])
        shape = (*params.block_prefix, 0, params.d)
        self.keys = np.zeros(shape, dtype=self._np_dtype)
        self.values = np.zeros(shape, dtype=self._np_dtype)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block (at storage precision) and attend its queries to everything
        (every head to its own keys and values when D * H > 1)."""
        if self.params.multi_head:
            queries, keys, values = check_heads_block(queries, keys, values, self.params)
        self.keys = np.concatenate([self.keys, np.asarray(keys).astype(self._np_dtype)], axis=-2)
        self.values = np.concatenate([self.values, np.asarray(values).astype(self._np_dtype)],
                                     axis=-2)
        q = np.asarray(queries)
        n = self.values.shape[-2]
        if q.ndim == self.keys.ndim and q.shape[-1] == self.params.d and n and not q.any():
            # Zero queries score 0 everywhere: uniform weights, the mean of the values.
            mean = self.values.sum(axis=-2, dtype=np.float64, keepdims=True) / n
            record = active_record()
            if record is not None:
                record.see_summary(0.0, q.size // self.params.d * n)
            return np.repeat(mean, q.shape[-2], axis=-2)
        if not self.params.multi_head:
            return attend(q, self.keys, self.values)
        out = np.empty(q.shape, dtype=np.float64)
        for layer, head in np.ndindex(*self.params.block_prefix):
            out[layer, head] = attend(q[layer, head], self.keys[layer, head],
                                      self.values[layer, head])
        return out

    def attend_with_zero_block(
        self,
        queries: np.ndarray,
        zero_tokens: int,
        *,
        threshold: float | Sequence[float] | None = None,
        workers: int = 1,
    ) -> np.ndarray:
        """Outputs of these query rows against the cache plus ``zero_tokens`` tokens with
        zero key and zero value (Bob's last scale), without storing anything.

        Equal to ``process(Q_padded, 0, 0)`` on these rows up to rounding: float32 rows
        carry a rigorous bound and any row whose bound reaches ``threshold`` is float64
        (:func:`reduction.attention32.attend_float32`). ``workers`` threads share the rows;
        the result does not depend on their number.
        """
        if not self.params.multi_head:
            kv = Float32KV.from_arrays(self.keys, self.values)
            return attend_float32(queries, kv, zero_tokens=zero_tokens, threshold=threshold,
                                  workers=workers).outputs
        q = np.asarray(queries, dtype=np.float64)
        prefix = self.params.block_prefix
        if q.ndim != 4 or q.shape[:2] != prefix or q.shape[3] != self.params.d:
            raise ValueError(f"queries have shape {q.shape}; expected (D, H, rows, d) with "
                             f"(D, H) = {prefix}, d = {self.params.d}")
        out = np.empty(q.shape, dtype=np.float64)

        def one_head(index: tuple[int, int]) -> None:
            kv = Float32KV.from_arrays(self.keys[index], self.values[index])
            out[index] = attend_float32(q[index], kv, zero_tokens=zero_tokens,
                                        threshold=threshold).outputs

        heads = list(np.ndindex(*prefix))
        w = check_workers(workers)
        with blas_threads(1):
            if w == 1:
                for index in heads:
                    one_head(index)
            else:  # each head in a copy of this context, so a logit record sees it
                with ThreadPoolExecutor(max_workers=w) as pool:
                    for f in [pool.submit(copy_context().run, one_head, i) for i in heads]:
                        f.result()
        return out

    def to_bytes(self) -> bytes:
        w = Writer().u32(self.keys.shape[-2]).u16(self.params.d).u8(_DTYPE_CODES[self.dtype])
        if self.params.multi_head:
            w.u16(self.params.layers).u16(self.params.heads)
        storage = STORAGE_DTYPES[self.dtype]
        w.array(self.keys, storage).array(self.values, storage)
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> ExactCache:
        r = Reader(unframe(data, cls.TAG), "exact cache message")
        n = r.token_count(params.schedule.total_tokens)
        d = r.u16("d")
        code = r.u8("dtype")
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        r.expect(code < len(STORAGE_DTYPES), f"unknown dtype code {code}")
        if params.multi_head:
            grid = (r.u16("layers"), r.u16("heads"))
            r.expect(grid == params.block_prefix, f"{grid[0]} layers x {grid[1]} heads "
                     f"stored, the public parameters say {params.layers} x {params.heads}")
        dtype = list(STORAGE_DTYPES)[code]
        cache = cls(CacheParams(params.d, params.schedule, {**params.options, "dtype": dtype},
                                heads=params.heads, layers=params.layers))
        shape = (*params.block_prefix, n, d)
        cache.keys = r.array(STORAGE_DTYPES[dtype], shape, "keys")
        cache.values = r.array(STORAGE_DTYPES[dtype], shape, "values")
        r.finish()
        return cache


_DTYPE = frozenset({"dtype"})
#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("exact", CacheEntry(ExactCache, {"dtype": "float16"}, "every K/V at float16",
                                fixed=_DTYPE))
for _bits in (16, 32, 64):
    ENTRIES.add(f"exact-fp{_bits}", CacheEntry(
        ExactCache, {"dtype": f"float{_bits}"}, f"every K/V at float{_bits}", fixed=_DTYPE))
