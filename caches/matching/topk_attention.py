"""Top-k attention over an exact cache: the sparse-attention cache of variant S1.

Purpose: docs/theorem.md#s1 (ours). A cache promised k-sparse attention might hope to
keep less; this one takes the promise literally: it keeps every key and value (at the
storage precision, float16 by default, like the real VAR cache) and lets each query
attend to its k largest scores only, renormalised (softmax over the top k, in
log-sum-exp form; ties in the k-th score go to the lower index, numpy's argpartition on
equal scores). On the hard instance Bob's target is the top score and the rest of the
row carries at most gamma/(1+gamma) of the mass (Lemma L2), so with any k >= 1 the
outputs decode every bit, and the message is the exact cache's: 2 L d * 16 bits, far
above the bound L d. Sparse attention saves compute, not memory.

Main statement: for k >= the number of cached tokens the outputs equal dense attention;
for k = 1 the output row of q is the value row of its best-scoring key.

Option: ``k`` (integer >= 1, default 1), ``dtype`` as for ``exact``.

References: arXiv 2503.14881 (VAR attention); Haris & Onak, arXiv 2502.15955.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._eviction import QUERY_CHUNK, int_option
from caches.entry import CacheEntry, EntryList
from caches.exact import ExactCache
from reduction.attention import attend
from reduction.cache import CacheParams

__all__ = ["TopKAttentionCache", "topk_attend", "DEFAULT_K"]

DEFAULT_K = 1


def topk_attend(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Each query's softmax over its k largest scores only, times the values (float64).

    >>> q = np.array([[4.0, 0.0]]); keys = np.eye(2); v = np.array([[1.0], [0.0]])
    >>> topk_attend(q, keys, v, 1).tolist()
    [[1.0]]
    """
    q = np.asarray(queries, dtype=np.float64)
    kk = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if k >= kk.shape[0]:
        return attend(q, kk, v)
    out = np.empty((q.shape[0], v.shape[1]))
    for start in range(0, q.shape[0], QUERY_CHUNK):
        s = q[start : start + QUERY_CHUNK] @ kk.T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(s, idx, axis=1)
        w = np.exp(top - top.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        out[start : start + QUERY_CHUNK] = np.einsum("qk,qkd->qd", w, v[idx])
    return out


class TopKAttentionCache(ExactCache):
    """Every key and value kept; each query attends to its top-k scores only."""

    TAG: ClassVar[bytes] = b"TOPK"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"dtype", "k"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.k = int_option(params, "k", DEFAULT_K, 1)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block (at storage precision); top-k attention of its queries."""
        self.keys = np.concatenate([self.keys, np.asarray(keys).astype(self._np_dtype)])
        self.values = np.concatenate([self.values, np.asarray(values).astype(self._np_dtype)])
        return topk_attend(queries, self.keys, self.values, self.k)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "topk-attention",
    CacheEntry(
        TopKAttentionCache,
        {"dtype": "float16", "k": DEFAULT_K},
        "every K/V at float16; each query attends to its top-k scores only (variant S1: "
        "sparse attention saves compute, not memory)",
    ),
)
