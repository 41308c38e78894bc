"""Low-rank KV cache: truncated SVD of K and V at rank r, factors stored in fp16.

Purpose: the low-rank family of KV compressors (e.g. Palu, arXiv 2407.21118; LoRC, arXiv
2410.03111; "Eigen Attention", arXiv 2408.05646) in its plainest form: the cache keeps
K ~ A_K B_K and V ~ A_V B_V with A (tokens x r) = U_r S_r and B (r x d) = V_r^T from a
truncated SVD (Eckart-Young: the best rank-r approximation in Frobenius norm).

Main statement: memory = 2 * r * (N_tok + d) * 16 bits + header; at r = d it is exact up
to fp16 rounding. On the hard instance K has rank d almost surely (random sign rows) and
the Eckart-Young error ||K - K_r||_F^2 = sum_{j>r} s_j^2 ~ N_tok (d - r)/d: low rank must
lose bits there (docs/theorem.md#s4, S4 is the regime where it would not).

Options: ``rank`` 1..d (default 16) -- the sweep's budget axis, values {4, 16, 32}
(and d for the lossless control).

Simplifications of the numpy version: the real methods project with learned or
calibrated per-layer bases; here each scale block is stacked under the current
reconstruction and the whole matrix is re-truncated by a fresh SVD (an incremental SVD
in the sense of Brand 2002, recomputed, not updated), then rounded to fp16.

References: Eckart & Young, Psychometrika 1 (1936); Brand, ECCV 2002 (incremental SVD);
Chang et al., "Palu: Compressing KV-Cache with Low-Rank Projection", arXiv 2407.21118.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import Reader, Writer, check_header_field, frame, unframe

__all__ = ["LowRankCache", "truncated_svd", "check_rank"]


def check_rank(rank: object, d: int) -> int:
    """``rank`` as an int in 1..d, else ValueError naming it and d.

    >>> check_rank(16, 64)
    16
    """
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= d:
        raise ValueError(f"rank={rank!r} must be an integer in 1..d={d}")
    return int(rank)


def truncated_svd(x: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with A = U_r S_r (n x r'), B = V_r^T (r' x d), r' = min(rank, n, d).

    Eckart-Young: A @ B is the best rank-r' approximation of x in Frobenius norm.

    >>> a, b = truncated_svd(np.diag([3.0, 2.0, 1.0]), 2)
    >>> np.round(a @ b, 12).tolist()
    [[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    r = min(rank, *x.shape)
    if r == 0:
        return np.zeros((x.shape[0], 0)), np.zeros((0, x.shape[1]))
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    return u[:, :r] * s[:r], vt[:r]


def _fp16(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = a.astype(np.float16)
    if not np.isfinite(h).all():
        raise ValueError("a low-rank factor exceeds the float16 range")
    return h


class LowRankCache:
    """K and V kept as fp16 rank-r factors (see the module docstring)."""

    TAG: ClassVar[bytes] = b"LRK1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"rank"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.rank = check_header_field(check_rank(params.option("rank", 16), params.d), 16,
                                       "the low-rank cache's rank")
        d = params.d
        self.factors = {name: (np.zeros((0, 0), np.float16), np.zeros((0, d), np.float16))
                        for name in ("keys", "values")}

    def _dense(self, name: str) -> np.ndarray:
        a, b = self.factors[name]
        return a.astype(np.float64) @ b.astype(np.float64)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Re-truncate [reconstruction; block] for K and for V, then attend."""
        for name, block in (("keys", keys), ("values", values)):
            x = np.asarray(block, dtype=np.float64)
            if x.ndim != 2 or x.shape[1] != self.params.d or not np.isfinite(x).all():
                raise ValueError(f"{name} must be finite with shape (tokens, d={self.params.d})")
            a, b = truncated_svd(np.concatenate([self._dense(name), x]), self.rank)
            self.factors[name] = (_fp16(a), _fp16(b))
        return attend(queries, self._dense("keys"), self._dense("values"))

    def to_bytes(self) -> bytes:
        """``u32 tokens | per K, V: u16 rank, A (fp16), B (fp16)``."""
        n = self.factors["keys"][0].shape[0]
        w = Writer().u32(n)
        for name in ("keys", "values"):
            a, b = self.factors[name]
            w.u16(a.shape[1]).array(a, "<f2").array(b, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> LowRankCache:
        cache = cls(params)
        r = Reader(unframe(data, cls.TAG), "low-rank cache message")
        n = r.token_count(params.schedule.total_tokens)
        for name in ("keys", "values"):
            rank = r.u16("rank")
            r.expect(rank == min(cache.rank, n, params.d),
                     f"stored {name} rank {rank} differs from min(rank={cache.rank}, "
                     f"tokens={n}, d={params.d})")
            a = r.array("<f2", (n, rank), f"{name} left factor")
            b = r.array("<f2", (rank, params.d), f"{name} right factor")
            r.expect(np.isfinite(a).all() and np.isfinite(b).all(), f"non-finite {name} factor")
            cache.factors[name] = (a, b)
        r.finish()
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("lowrank", CacheEntry(LowRankCache, {"rank": 16},
                                     "truncated SVD of K and V at rank r, fp16 factors "
                                     "(option rank in 1..d, default 16; sweep rank 4,16,32)"))
