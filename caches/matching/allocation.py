"""The live-head allocator: no budget for heads whose keys and values are all zero.

Purpose: the matching cache of Proposition ALLOC (docs/theorem.md#alloc, ours). In the
allocation variant a public, seeded set of U of the D * H heads carries key 0 and value 0
in every row, and no bits. A value-blind allocator (the per-head wrapper of any one-head
cache: every head an equal share) spends U / (D H) of its rows on them; this cache looks
at what it stores, gives nothing to a head whose every key and value so far is zero, and
splits the budget evenly over the others.

Rule, after every scale (attention first, eviction after, as in caches/_eviction.py):
B = ``budget_rows(budget, params)`` rows in all; a head is live once one of its keys or
values is nonzero; the n live heads get ``uniform_split(B, n)`` rows in (layer, head)
order, each capped at the rows it has seen (rows left over by the cap are not moved);
a dead head keeps none. Inside a head it keeps the most recent rows (positions only, never
the values), so on a live head the eviction law of caches/_eviction.py holds: an evicted
row's bits are coin flips for Bob.

Main statement (ALLOC (b)-(c)): with U unused heads and rho = (D H - U) / (D H), at kept
fraction f this cache keeps min(1, f / rho) of the carrying rows, so its bit error rate
is (1 - min(1, f / rho)) / 2 against (1 - f) / 2 for every value-blind allocation, a gap
of (min(1, f / rho) - f) / 2; at f = rho it keeps every carrying row and makes no error.
On the theorem's instance (U = 0) it is uniform recency, (1 - f) / 2 like the rest.

Message: ``tag ALC1 | d (u16) | D (u16) | H (u16) | tokens seen (u32) | live bitmap
(D H bits) | rows kept per head (u32 each) | the kept keys, then values, at float16,
head by head | CRC-32``. The kept rows of a head are its most recent ones, so their count
says which they are.

Options: ``budget`` (kept fraction of all D * H * L cached rows, or a row count;
default 0.5).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._eviction import DEFAULT_BUDGET
from caches.entry import CacheEntry, EntryList
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import CacheParams, budget_rows, check_heads_block, uniform_split
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["LiveHeadCache", "live_head_shares"]


def live_head_shares(total: int, live: np.ndarray, seen: int) -> np.ndarray:
    """Rows each head keeps: ``uniform_split(total, #live)`` over the live heads in order,
    capped at ``seen``; 0 for a dead head.

    >>> live_head_shares(10, np.array([True, False, True, True]), 100).tolist()
    [4, 0, 3, 3]
    >>> live_head_shares(10, np.array([True, False]), 6).tolist()
    [6, 0]
    """
    flags = np.asarray(live, dtype=bool)
    out = np.zeros(flags.size, dtype=np.int64)
    if flags.any():
        out[flags] = np.minimum(uniform_split(int(total), int(flags.sum())), seen)
    return out


class LiveHeadCache:
    """Budget split evenly over the heads with a nonzero key or value (module docstring)."""

    TAG: ClassVar[bytes] = b"ALC1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"budget"})
    MULTI_HEAD: ClassVar[bool] = True

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        budget = params.option("budget", DEFAULT_BUDGET)
        if isinstance(budget, (str, bool)) or budget is None:
            raise InvalidArgument(f"budget={budget!r} must be a kept fraction in (0, 1] or a "
                                  "whole row count >= 1")
        self.params = params
        self.total = budget_rows(budget, params)
        n = params.n_heads
        self.seen = 0
        self.live = np.zeros(n, dtype=bool)
        self.keys = [np.zeros((0, params.d), dtype=np.float16) for _ in range(n)]
        self.values = [np.zeros((0, params.d), dtype=np.float16) for _ in range(n)]

    def _blocks(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.params.multi_head:
            q, k, v = check_heads_block(queries, keys, values, self.params)
            flat = (self.params.n_heads, q.shape[2], self.params.d)
            return q.reshape(flat), k.reshape(flat), v.reshape(flat)
        q, k, v = (np.asarray(a, dtype=np.float64)[None] for a in (queries, keys, values))
        return q, k, v

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Attend every head's block to its kept rows and the block, then keep the share
        of each live head (its most recent rows)."""
        q, k, v = self._blocks(queries, keys, values)
        out = np.empty(q.shape, dtype=np.float64)
        new_k = k.astype(np.float16)
        new_v = v.astype(np.float16)
        for j in range(q.shape[0]):
            kk = np.concatenate([self.keys[j], new_k[j]])
            vv = np.concatenate([self.values[j], new_v[j]])
            out[j] = attend(q[j], kk.astype(np.float64), vv.astype(np.float64))
            self.keys[j], self.values[j] = kk, vv
        self.seen += q.shape[1]
        self.live |= (new_k != 0).any(axis=(1, 2)) | (new_v != 0).any(axis=(1, 2))
        shares = live_head_shares(self.total, self.live, self.seen)
        for j, b in enumerate(shares):
            start = self.keys[j].shape[0] - int(b)
            self.keys[j], self.values[j] = self.keys[j][start:], self.values[j][start:]
        shape = (*self.params.block_prefix, q.shape[1], self.params.d)
        return out.reshape(shape)

    def to_bytes(self) -> bytes:
        p = self.params
        w = Writer().u16(p.d).u16(p.layers).u16(p.heads).u32(self.seen)
        w.raw(np.packbits(self.live).tobytes())
        for kept in self.keys:
            w.u32(kept.shape[0])
        for part in (*self.keys, *self.values):
            w.array(part, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> LiveHeadCache:
        r = Reader(unframe(data, cls.TAG), "live-head allocator message")
        d, layers, heads = r.u16("d"), r.u16("layers"), r.u16("heads")
        r.expect((d, layers, heads) == (params.d, params.layers, params.heads),
                 f"stored d, D, H = {d}, {layers}, {heads}; the public parameters say "
                 f"{params.d}, {params.layers}, {params.heads}")
        seen = r.token_count(params.schedule.total_tokens, "tokens seen")
        n = params.n_heads
        live = np.unpackbits(np.frombuffer(r.raw((n + 7) // 8, "live bitmap"), np.uint8),
                             count=n).astype(bool)
        counts = [r.u32("rows kept") for _ in range(n)]
        r.expect(all(c <= seen for c in counts), f"a head keeps more rows than the {seen} seen")
        cache = cls(params)
        r.expect(sum(counts) <= cache.total,
                 f"{sum(counts)} rows kept, above the budget of {cache.total}")
        cache.seen, cache.live = seen, live
        cache.keys = [r.array("<f2", (c, d), "keys") for c in counts]
        cache.values = [r.array("<f2", (c, d), "values") for c in counts]
        r.finish()
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "live-heads",
    CacheEntry(
        LiveHeadCache,
        {"budget": DEFAULT_BUDGET},
        "no rows for heads whose keys and values are all zero, the budget split evenly over "
        "the others, most recent rows kept (the matching allocator of #alloc)",
        budgeted=True,
    ),
)
