"""ThinK: prune the key channels the recent queries use least; values stay intact.

Purpose: the channel pruning of Xu et al. 2024 ("ThinK: Thinner Key Cache by Query-Driven
Pruning", arXiv 2407.21018) as NVIDIA/kvpress implements it: ``kvpress/presses/
think_press.py`` (commit 8bb29b9) L40-41 (defaults), L57-90 (the channel scores and the
pruning). kvpress zeroes the pruned channels and keeps the tensor's shape (L24-26: "no
memory gain"); here the message stores each key on its kept channels only.

Main statement: per head, with the last w = ``window`` queries of the scale and every
cached key (the new scale's included), channel c scores

    score_c = mean_t q_{t,c}^2 * mean_i k_{i,c}^2,

and the floor(d * (1 - key_channels)) lowest channels are pruned from every cached key
(ties: the lower channel index is pruned first). Pruning is repeated after every scale, so
a token keeps the channels kept at every boundary since it arrived. Values are never
touched. Memory: 16 bits per value entry and per kept key entry, plus a d-bit channel mask
per scale block.

On the hard instance Alice's queries are zero, so every channel scores 0 and the LAST
d' = d - floor(d (1 - key_channels)) channels are kept, for every token. Nothing of the
values is lost; Bob's query C k_i meets keys on d' channels: its own logit falls to
C d'/d while the others keep their ~ C/sqrt(d) spread, so retrieval fails only when d'
is small (measured: no error down to d' = 24 at d = 64 on var-256; see
docs/compressors.md). ThinK is a control: its memory never drops below 16 L d bits
(the values), far above the bound.

Ported exactly: the channel score, the count int(d * r) with r = 1 - key_channels
(kvpress's key_channel_compression_ratio), the default window 32. Stand-in: kvpress
recomputes the window's queries from hidden states with RoPE; here they are the scale's
own queries (no RoPE on kvbound's keys). One head per instance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caches._eviction import fraction_option, int_option
from caches.entry import CacheEntry, EntryList
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import BaseCache, CacheParams
from reduction.message import Reader, Writer, check_header_field

__all__ = ["ThinKCache", "channel_scores", "pruned_channels", "DEFAULT_WINDOW"]

DEFAULT_WINDOW = 32  # kvpress think_press.py L41


def channel_scores(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """mean_t q_{t,c}^2 * mean_i k_{i,c}^2 per channel (kvpress think_press.py L79-82).

    >>> channel_scores(np.array([[1.0, 2.0], [1.0, 0.0]]), np.array([[3.0, 1.0]])).tolist()
    [9.0, 2.0]
    """
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    qn = (q**2).mean(axis=0) if q.shape[0] else np.zeros(k.shape[1])
    return qn * (k**2).mean(axis=0)


def pruned_channels(scores: np.ndarray, n_pruned: int) -> np.ndarray:
    """Boolean mask of the ``n_pruned`` lowest-scoring channels (ties: lower index first).

    >>> pruned_channels(np.array([0.0, 5.0, 0.0, 1.0]), 2).tolist()
    [True, False, True, False]
    """
    s = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.arange(s.size), s))
    mask = np.zeros(s.size, dtype=bool)
    mask[order[:n_pruned]] = True
    return mask


class ThinKCache(BaseCache):
    """Key channels pruned by query-key channel energy, values kept (ThinK, via kvpress).

    Options: ``key_channels`` (kept fraction of the d key channels, in (0, 1], default
    0.5; kvpress's key_channel_compression_ratio is 1 - key_channels), ``window``
    (queries scoring the channels, default 32).
    """

    TAG = b"THK1"
    NAME = "think"
    OPTIONS = frozenset({"key_channels", "window"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.d = check_header_field(params.d, 16, "the think cache's d")
        kept = fraction_option(params, "key_channels", 0.5)
        if kept <= 0.0:
            raise InvalidArgument(f"key_channels={kept!r} must be a kept fraction in (0, 1]")
        self.n_pruned = min(self.d - 1, math.floor(self.d * (1.0 - kept) + 1e-9))
        self.window = int_option(params, "window", DEFAULT_WINDOW, 1)
        self.masks: list[np.ndarray] = []  # per block: the channels its keys still have
        self.keys: list[np.ndarray] = []  # per block: float16 (T_j, kept channels)
        self.values = np.zeros((0, self.d), dtype=np.float16)

    def full_keys(self) -> np.ndarray:
        """Every cached key on all d channels, pruned ones zero (float16)."""
        out = np.zeros((self.n_seen, self.d), dtype=np.float16)
        start = 0
        for mask, k in zip(self.masks, self.keys):
            out[start : start + k.shape[0], mask] = k
            start += k.shape[0]
        return out

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Attend over the stored keys and the new block, then prune channels."""
        q, k_new, v_new = self.checked_block(queries, keys, values)
        t = k_new.shape[0]
        all_k = np.concatenate([self.full_keys(), k_new.astype(np.float16)])
        self.values = np.concatenate([self.values, v_new.astype(np.float16)])
        out = attend(q, all_k, self.values)
        pruned = pruned_channels(channel_scores(q[-self.window :], all_k), self.n_pruned)
        keep = ~pruned
        starts = np.cumsum([0] + [k.shape[0] for k in self.keys])
        self.masks.append(np.ones(self.d, dtype=bool))
        self.keys.append(k_new.astype(np.float16))
        self.n_seen += t
        starts = np.append(starts, self.n_seen)
        for j, mask in enumerate(self.masks):
            self.masks[j] = mask & keep
            self.keys[j] = all_k[starts[j] : starts[j + 1]][:, self.masks[j]]
        return out

    @property
    def kept_channels(self) -> int:
        return self.d - self.n_pruned

    def write_state(self, w: Writer) -> None:
        w.u16(self.d).u32(self.n_seen).u32(len(self.keys))
        for k in self.keys:
            w.u32(k.shape[0])
        masks = np.array(self.masks, dtype=np.uint8).reshape(len(self.masks), self.d)
        w.raw(np.packbits(masks.ravel()).tobytes())
        for k in self.keys:
            w.array(k, "<f2")
        w.array(self.values, "<f2")

    def read_state(self, r: Reader) -> None:
        params = self.params
        d, n_seen, n_blocks = r.u16("d"), r.u32("tokens seen"), r.u32("blocks")
        total = params.schedule.total_tokens
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        r.expect(n_seen <= total, f"{n_seen} tokens seen exceed the schedule's {total}")
        r.expect(n_blocks <= n_seen, f"{n_blocks} blocks for {n_seen} tokens")
        sizes = [r.u32("block size") for _ in range(n_blocks)]
        r.expect(all(s >= 1 for s in sizes) and sum(sizes) == n_seen,
                 f"block sizes {sizes[:4]}... do not add up to the {n_seen} tokens seen")
        n_bits = n_blocks * d
        bits = np.unpackbits(np.frombuffer(r.raw((n_bits + 7) // 8, "channel masks"), np.uint8))
        r.expect(not bits[n_bits:].any(), "nonzero padding bits after the channel masks")
        masks = bits[:n_bits].reshape(n_blocks, d).astype(bool)
        r.expect(n_blocks == 0 or int(masks[-1].sum()) == self.kept_channels,
                 f"the newest block must keep exactly {self.kept_channels} key channels")
        r.expect(bool((masks[:-1] <= masks[1:]).all()),
                 "an older block keeps a channel a newer one pruned")
        keys: list[Any] = []
        for size, mask in zip(sizes, masks):
            keys.append(r.array("<f2", (size, int(mask.sum())), "keys"))
        values = r.array("<f2", (n_seen, d), "values")
        r.expect(all(bool(np.isfinite(k).all()) for k in keys) and bool(np.isfinite(values).all()),
                 "non-finite key or value")
        self.masks, self.keys, self.values, self.n_seen = list(masks), keys, values, n_seen


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "think",
    CacheEntry(
        ThinKCache,
        {},
        "key channels pruned, only kept ones stored; values intact (ThinK, kvpress)",
        budgeted=False,
    ),
)
