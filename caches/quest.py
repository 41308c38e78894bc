"""Quest: query-aware page selection; keeps every token, reads only the top pages.

Purpose: the Quest policy listed in docs/compressors.md (Tang et al. 2024, arXiv 2406.10774). Keys
are grouped into pages of ``page_size`` consecutive tokens; each page keeps per-channel
min m_p and max M_p of its keys. A query q reads only the pages of largest upper bound

    U_p(q) = sum_c max(q_c * m_{p,c}, q_c * M_{p,c})  >=  max_{t in page p} q . k_t

(Quest section 3.2) and attends exactly over their tokens. It keeps the whole cache, so
it saves bandwidth, not memory: memory = 32*N_tok*d bits (fp16 K and V) + 32*d bits per
page of metadata + header. With ``budget = 1.0`` (its control configuration, the default)
every page is read and Quest is exact attention over fp16 K/V: it must decode every bit.

On the hard instance the page bounds tie, so a small read budget fails: Bob's query is
q = C*sigma_i/sqrt(d) and U_p(q) = (C/d) * sum_c max_{t in p} sigma_{i,c} sigma_{t,c}, which
is C as soon as, in every channel c, some token of page p agrees with sigma_i in sign. The
true page attains the maximum C, and a full page of 16 random tokens misses C with
probability <= d * 2^-16 (~0.001 at d = 64; a short last page more often), so almost
every page ties at C too. Quest then picks pages by its tie-break (here: the lowest page
index, a stable sort), not by the true token, and a budget of b pages reads the true page
with probability about b / (pages) only (tested both ways).

Options: ``budget`` = tokens read per query among the cached tokens before the block, a
kept fraction in (0, 1] or a token count (see :func:`reduction.cache.budget_tokens`;
default 1.0), rounded up to whole pages; ``page_size`` >= 1 (default 16, Quest's). The
block's own tokens are always read (Quest always keeps the current page).

Simplifications of the numpy version: scores are computed for every token and the
unselected pages masked out (the same output as reading only the selected pages); the
selection is per query row; keys, values and metadata are fp16.

References: Tang, Zhao, Zhu, Xiao, Kasikci, Han, "Quest: Query-Aware Sparsity for
Efficient Long-Context LLM Inference", ICML 2024, arXiv 2406.10774.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams, budget_tokens
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["QuestCache", "page_bounds", "page_upper_bounds"]

_QUERY_CHUNK = 256


def page_bounds(keys: np.ndarray, page_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-page, per-channel (min, max) of the keys (pages x d each).

    >>> lo, hi = page_bounds(np.array([[1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]]), 2)
    >>> lo.tolist(), hi.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [[1.0, -1.0], [1.0, 1.0]])
    """
    k = np.asarray(keys)
    pages = -(-k.shape[0] // page_size)
    if pages == 0:
        return np.zeros((0, k.shape[1]), k.dtype), np.zeros((0, k.shape[1]), k.dtype)
    pad = pages * page_size - k.shape[0]
    shape = (pages, page_size, k.shape[1])
    lo = np.pad(k, ((0, pad), (0, 0)), constant_values=np.inf).reshape(shape)
    hi = np.pad(k, ((0, pad), (0, 0)), constant_values=-np.inf).reshape(shape)
    return lo.min(axis=1), hi.max(axis=1)


def page_upper_bounds(queries: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """U_p(q) = sum_c max(q_c m_pc, q_c M_pc) for every query row and page (Quest 3.2).

    >>> page_upper_bounds(np.array([[1.0, -2.0]]), np.array([[0.0, -1.0]]),
    ...                   np.array([[3.0, 1.0]])).tolist()
    [[5.0]]
    """
    q = np.asarray(queries, dtype=np.float64)
    return np.maximum(q, 0) @ np.asarray(hi, np.float64).T + np.minimum(q, 0) @ np.asarray(
        lo, np.float64).T


class QuestCache:
    """fp16 K/V plus page min/max; each query attends to its top pages only."""

    TAG: ClassVar[bytes] = b"QST1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"budget", "page_size"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.budget = params.option("budget", 1.0)
        budget_tokens(self.budget, 1)  # validate now (ValueError names the value)
        page = params.option("page_size", 16)
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError(f"page_size={page!r} must be an integer >= 1")
        self.page_size = page
        self.keys = np.zeros((0, params.d), dtype=np.float16)
        self.values = np.zeros((0, params.d), dtype=np.float16)

    def pages_read(self, n_prev: int) -> int:
        """Pages a query reads among ``n_prev`` cached tokens: ceil(budget tokens / page)."""
        if n_prev == 0:
            return 0
        return math.ceil(budget_tokens(self.budget, n_prev) / self.page_size)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block (fp16); each query attends to its top pages and the block."""
        q = np.asarray(queries, dtype=np.float64)
        k = np.asarray(keys, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        d = self.params.d
        if k.shape != v.shape or k.ndim != 2 or k.shape[1] != d or q.ndim != 2 or (
            q.shape[1] != d
        ):
            raise ValueError(f"queries {q.shape}, keys {k.shape}, values {v.shape} must be "
                             f"(tokens, d={d})")
        with np.errstate(over="ignore"):
            kh, vh = k.astype(np.float16), v.astype(np.float16)
        if not (np.isfinite(kh).all() and np.isfinite(vh).all()):
            raise ValueError("Quest stores fp16 keys and values; these exceed its range")
        n_prev = self.keys.shape[0]
        self.keys = np.concatenate([self.keys, kh])
        self.values = np.concatenate([self.values, vh])
        if self.keys.shape[0] == 0:
            raise ValueError("attention needs at least one cached key; the cache is empty")
        keys64 = self.keys.astype(np.float64)
        vals64 = self.values.astype(np.float64)
        lo, hi = page_bounds(self.keys[:n_prev], self.page_size)
        n_pages = lo.shape[0]
        read = self.pages_read(n_prev)
        token_page = np.arange(n_prev) // self.page_size
        out = np.empty((q.shape[0], d))
        for s in range(0, q.shape[0], _QUERY_CHUNK):
            qb = q[s : s + _QUERY_CHUNK]
            scores = qb @ keys64.T
            if read < n_pages:
                ub = page_upper_bounds(qb, lo, hi)
                top = np.argsort(-ub, axis=1, kind="stable")[:, :read]
                chosen = np.zeros((qb.shape[0], n_pages), dtype=bool)
                np.put_along_axis(chosen, top, True, axis=1)
                scores[:, :n_prev][~chosen[:, token_page]] = -np.inf
            m = scores.max(axis=1, keepdims=True)
            w = np.exp(scores - m)
            out[s : s + _QUERY_CHUNK] = (w @ vals64) / w.sum(axis=1, keepdims=True)
        return out

    def to_bytes(self) -> bytes:
        """``u32 tokens | K (fp16) | V (fp16) | page min, max (fp16, pages x d each)``."""
        lo, hi = page_bounds(self.keys, self.page_size)
        w = Writer().u32(self.keys.shape[0]).array(self.keys, "<f2").array(self.values, "<f2")
        w.array(lo, "<f2").array(hi, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> QuestCache:
        cache = cls(params)
        r = Reader(unframe(data, cls.TAG), "Quest cache message")
        n = r.token_count(params.schedule.total_tokens)
        cache.keys = r.array("<f2", (n, params.d), "keys")
        cache.values = r.array("<f2", (n, params.d), "values")
        pages = -(-n // cache.page_size)
        lo = r.array("<f2", (pages, params.d), "page minima")
        hi = r.array("<f2", (pages, params.d), "page maxima")
        r.finish()
        r.expect(bool(np.isfinite(cache.keys).all() and np.isfinite(cache.values).all()),
                 "non-finite keys or values")
        want_lo, want_hi = page_bounds(cache.keys, cache.page_size)
        r.expect(np.array_equal(lo, want_lo) and np.array_equal(hi, want_hi),
                 "page metadata does not match the keys")
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("quest", CacheEntry(QuestCache, {"budget": 1.0, "page_size": 16},
                                   "Quest (2406.10774): keeps all K/V fp16 + page min/max; "
                                   "each query reads its top pages (option budget = tokens "
                                   "read, default 1.0 = all: the exact control)",
                                   budgeted=True))
