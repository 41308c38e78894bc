"""DuoAttention: retrieval heads keep everything, streaming heads only sinks + recent.

Purpose: the head split of Xiao et al. 2024 ("DuoAttention: Efficient Long-Context LLM
Inference with Retrieval and Streaming Heads", arXiv 2410.10819) as NVIDIA/kvpress
implements it: ``kvpress/presses/duo_attention_press.py`` (commit 8bb29b9) L72-87 (the
streaming mask from head scores), L98-118 (the pruning), L144-210 (on-the-fly head
scores). kvpress only masks the pruned rows (L107-112); here the message holds the kept
rows only.

Main statement: the n_s heads with the lowest scores (ties: the lower (layer, head)
index) are streaming heads and keep the first ``sink`` and the last ``recent`` tokens
seen; the other heads keep every token. Given the row budget R, n_s is the least number
of streaming heads with (D H - n_s) L + n_s (sink + recent) <= R and the rows left widen
their recent window, so the cache keeps ~R rows (:func:`streaming_plan`); if even
n_s = D H does not fit, the recent window shrinks to fit.

Head scores, on the fly (kvpress L144-210: the area under the cumulated attention of the
mean query over the mean key, RoPE'd, on BookSum): here at the first scale where a
streaming head would drop a token, with that scale's mean query q_bar and the head's
cached keys in position order, s = mean_j cumsum_j(softmax(q_bar K^T)) -- high when the
head looks at old tokens. kvpress's version repeats ONE mean key at every position, so
without RoPE (kvbound's keys have none) it is uniform for every head; we use the real
keys instead. The learned gates (kvpress L121-141, DuoAttention's trained
full_attention_heads.tsv) need training on a real model: not available.

On the hard instance Alice's queries are zero: every head's attention is uniform and its
score (n + 1)/(2n), a tie, so the streaming heads are the first n_s in (layer, head)
order. Streaming heads lose (1 - (sink + recent)/L)/2 of their bits, retrieval heads
none: error rate (1 - f)/2 with f the kept fraction of all rows.

Ported exactly: the sink/recent rule of streaming heads, the lowest-scores-first mask,
the cumulated-attention score. Our choices: sink 4 and recent 64 by default (kvpress's
on-the-fly 128/256 exceed most VAR caches: var-256 caches 424 tokens); the number of
streaming heads follows the budget instead of head_compression_ratio; the split is
decided once and stored in the message (D H bits); ``recent`` is the least recent window,
the budget widens it.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import int_option
from caches._heads import Candidates, HeadsEvictionCache
from caches.entry import CacheEntry, EntryList
from reduction.attention import softmax_rows
from reduction.cache import CacheParams
from reduction.message import Reader, Writer

__all__ = ["DuoAttentionCache", "streaming_plan", "head_score", "DEFAULT_SINK",
           "DEFAULT_RECENT"]

DEFAULT_SINK = 4
DEFAULT_RECENT = 64


def streaming_plan(rows: int, heads: int, cached: int, sink: int, recent: int
                   ) -> tuple[int, int, int]:
    """(streaming heads, sink, recent) spending ``rows`` over ``heads`` heads of ``cached``.

    The fewest streaming heads n_s with (heads - n_s) cached + n_s (sink + recent) <= rows;
    the rows left widen their recent window (``recent`` is its least size). If even
    n_s = heads does not fit, every head streams and the window shrinks to fit.

    >>> streaming_plan(848, 4, 424, 4, 64)  # half of 4 x 424: 3 streaming heads of 141
    (3, 4, 137)
    >>> streaming_plan(40, 4, 424, 4, 64)  # 10 rows per head: the window shrinks
    (4, 4, 6)
    """
    need = heads * cached - rows
    if need <= 0:
        return 0, sink, recent
    window = min(cached, sink + recent)
    if window < cached:
        n_s = -(-need // (cached - window))
        if n_s <= heads:
            per_head = (rows - (heads - n_s) * cached) // n_s  # >= window, < cached
            return n_s, sink, per_head - sink
    per_head = rows // heads
    return heads, min(sink, per_head), max(0, per_head - min(sink, per_head))


def head_score(mean_query: np.ndarray, keys: np.ndarray) -> float:
    """mean_j cumsum_j(softmax(q K^T)) (kvpress duo_attention_press.py L200-205).

    >>> head_score(np.zeros(2), np.zeros((4, 2)))  # uniform: (n + 1) / (2 n)
    0.625
    """
    logits = np.asarray(keys, dtype=np.float64) @ np.asarray(mean_query, dtype=np.float64)
    return float(np.cumsum(softmax_rows(logits[None, :])[0]).mean())


class DuoAttentionCache(HeadsEvictionCache):
    """Streaming heads (sink + recent) and retrieval heads (all) (DuoAttention, kvpress).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count), ``sink``
    (default 4), ``recent`` (the least recent window, default 64).
    """

    TAG = b"DUO1"
    NAME = "duo-attention"
    OPTIONS = frozenset({"budget", "sink", "recent"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        sink = int_option(params, "sink", DEFAULT_SINK, 0)
        recent = int_option(params, "recent", DEFAULT_RECENT, 0)
        self.n_streaming, self.sink, self.recent = streaming_plan(
            self.rows, self.n_slots, params.schedule.cached_tokens, sink, recent)
        self.streaming: np.ndarray | None = None  # decided at the first pruning scale

    def _max_rows(self) -> int:
        window = min(self.params.schedule.cached_tokens, self.sink + self.recent)
        return ((self.n_slots - self.n_streaming) * self.params.schedule.cached_tokens
                + self.n_streaming * window)

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        seen = cand.seen
        if self.streaming is None and seen > self.sink + self.recent:
            scores = np.array([head_score(queries[s].mean(axis=0), cand.keys[s])
                               for s in range(self.n_slots)])
            order = np.lexsort((np.arange(self.n_slots), scores))
            self.streaming = np.zeros(self.n_slots, dtype=bool)
            self.streaming[order[: self.n_streaming]] = True
        keep = []
        for s in range(self.n_slots):
            p = cand.positions[s]
            if self.streaming is not None and self.streaming[s]:
                keep.append(np.flatnonzero((p < self.sink) | (p >= seen - self.recent)))
            else:
                keep.append(np.arange(p.size))
        return keep

    def _write_extra(self, w: Writer) -> None:
        w.u8(0 if self.streaming is None else 1)
        if self.streaming is not None:
            w.raw(np.packbits(self.streaming.astype(np.uint8)).tobytes())

    def _read_extra(self, r: Reader) -> None:
        flag = r.u8("streaming flag")
        r.expect(flag in (0, 1), f"streaming flag {flag} is neither 0 nor 1")
        if flag:
            bits = np.unpackbits(np.frombuffer(r.raw((self.n_slots + 7) // 8, "streaming"),
                                               np.uint8))
            r.expect(not bits[self.n_slots:].any(), "nonzero padding after the streaming bits")
            self.streaming = bits[: self.n_slots].astype(bool)
            r.expect(int(self.streaming.sum()) == self.n_streaming,
                     f"{int(self.streaming.sum())} streaming heads, the budget gives "
                     f"{self.n_streaming}")


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "duo-attention",
    CacheEntry(
        DuoAttentionCache,
        {},
        "streaming heads: sink + recent; retrieval heads: all (DuoAttention, kvpress)",
        budgeted=True,
    ),
)
