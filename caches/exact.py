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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from reduction.attention import active_record, attend
from reduction.attention32 import Float32KV, attend_float32
from reduction.cache import CacheParams
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


def exact_cache_bits(cached_tokens: int, d: int, dtype: str = "float16") -> int:
    """Bits of the exact cache's message holding L tokens: framing + header + K and V.

    8 * (8 + 7 + 2 * L * d * itemsize); e.g. var-256, d = 64, float16: 8 * (15 + 108544).

    Notes: the memory of the uncompressed cache, to compare with the theorem's bound.

    >>> exact_cache_bits(424, 64, "float16")
    868472
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype={dtype!r}; choose one of {', '.join(STORAGE_DTYPES)}")
    item = np.dtype(STORAGE_DTYPES[dtype]).itemsize
    return 8 * (FRAME_OVERHEAD_BYTES + _HEADER_BYTES + 2 * cached_tokens * d * item)


class ExactCache:
    """Keeps every key and value at the storage precision ``options['dtype']``.

    Options: ``dtype`` in {float16, float32, float64} (default float16, the real cache's).
    """

    TAG: ClassVar[bytes] = b"EXC1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"dtype"})

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
        self.keys = np.zeros((0, params.d), dtype=self._np_dtype)
        self.values = np.zeros((0, params.d), dtype=self._np_dtype)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block (at storage precision) and attend its queries to everything."""
        self.keys = np.concatenate([self.keys, np.asarray(keys).astype(self._np_dtype)])
        self.values = np.concatenate([self.values, np.asarray(values).astype(self._np_dtype)])
        q = np.asarray(queries)
        if q.ndim == 2 and q.shape[1] == self.params.d and self.values.shape[0] and not q.any():
            # Zero queries score 0 everywhere: uniform weights, the mean of the values.
            mean = self.values.sum(axis=0, dtype=np.float64) / self.values.shape[0]
            record = active_record()
            if record is not None:
                record.see_summary(0.0, q.shape[0] * self.values.shape[0])
            return np.repeat(mean[None, :], q.shape[0], axis=0)
        return attend(q, self.keys, self.values)

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
        kv = Float32KV.from_arrays(self.keys, self.values)
        return attend_float32(queries, kv, zero_tokens=zero_tokens, threshold=threshold,
                              workers=workers).outputs

    def to_bytes(self) -> bytes:
        w = Writer().u32(self.keys.shape[0]).u16(self.params.d).u8(_DTYPE_CODES[self.dtype])
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
        dtype = list(STORAGE_DTYPES)[code]
        cache = cls(CacheParams(params.d, params.schedule, {**params.options, "dtype": dtype}))
        cache.keys = r.array(STORAGE_DTYPES[dtype], (n, d), "keys")
        cache.values = r.array(STORAGE_DTYPES[dtype], (n, d), "values")
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
