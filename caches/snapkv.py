"""SnapKV: keep the tokens an observation window of recent queries votes for.

Purpose: the cache of Li et al. 2024 ("SnapKV: LLM Knows What You are Looking for Before
Generation", arXiv 2404.14469) as a compressor of the reduction.

Main statement: with B = ``budget_tokens(budget, L_{K-1})`` and w = min(window, B), the
w most recent tokens form the observation window and are always kept. Every other
candidate j (kept + the block's own) gets the vote
    v_j = sum over the block's last min(w, T) queries q of softmax(q K^T)_j
(the softmax runs over all candidates, window included, as in SnapKV's code); the votes,
in position order, are 1-D pooled (kernel ``kernel``, stride 1, same padding; max pooling
pads with -inf, average pooling counts the zero padding like torch's ``avg_pool1d``) and
the top B - w are kept with the window. Ties go to the more recent token.

On the hard instance Alice's queries are zero, the votes uniform: max pooling keeps the B
most recent tokens, average pooling first drops the tokens at both ends of the sequence
(their padded windows average lower). The votes never see the values: error rate
~ (1 - B/L)/2.

Simplifications: one head; SnapKV compresses a prompt once, here the rule is applied after
every scale (the window = the newest tokens, the observers = the scale's last queries);
pooling runs over the kept tokens in position order, ignoring gaps left by evictions.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, attention_weights, int_option
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["SnapKVCache", "pool_votes", "DEFAULT_WINDOW", "DEFAULT_KERNEL"]

DEFAULT_WINDOW = 32
DEFAULT_KERNEL = 5
POOLINGS = ("max", "avg")


def pool_votes(votes: np.ndarray, kernel: int, pooling: str) -> np.ndarray:
    """1-D pooling with stride 1 and same padding (kernel // 2 on each side).

    Notes: SnapKV's clustering step (Li et al. 2024, arXiv 2404.14469, section 4);
    ``avg`` divides by the kernel, zero padding included (torch ``count_include_pad``).

    >>> pool_votes(np.array([0.0, 1.0, 0.0, 0.0]), 3, "max").tolist()
    [1.0, 1.0, 1.0, 0.0]
    >>> pool_votes(np.array([3.0, 3.0, 3.0]), 3, "avg").tolist()
    [2.0, 3.0, 2.0]
    """
    v = np.asarray(votes, dtype=np.float64)
    half = kernel // 2
    pad = -np.inf if pooling == "max" else 0.0
    padded = np.concatenate([np.full(half, pad), v, np.full(half, pad)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel)
    return windows.max(axis=1) if pooling == "max" else windows.sum(axis=1) / kernel


class SnapKVCache(EvictionCache):
    """Observation-window votes, pooled; top-(B - window) kept plus the window.

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count),
    ``window`` (integer >= 1, default 32; capped at B), ``kernel`` (odd integer >= 1,
    default 5), ``pooling`` ("max" (default) or "avg").
    """

    TAG = b"SNP1"
    NAME = "snapkv"
    OPTIONS = frozenset({"budget", "window", "kernel", "pooling"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.window = int_option(params, "window", DEFAULT_WINDOW, 1)
        self.kernel = int_option(params, "kernel", DEFAULT_KERNEL, 1)
        if self.kernel % 2 == 0:
            raise ValueError(f"kernel={self.kernel} must be an odd integer >= 1 (e.g. 5 or 7)")
        self.pooling = params.option("pooling", "max")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling={self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        self.effective_window = min(self.window, self.capacity)

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """+inf for the window, pooled votes of the observation queries otherwise."""
        w = self.effective_window
        observers = queries[-min(w, queries.shape[0]) :]
        votes = attention_weights(observers, keys).sum(axis=0)
        order = np.argsort(positions, kind="stable")
        window = order[-w:]
        prefix = order[:-w]
        scores = np.empty(positions.size)
        scores[window] = np.inf
        scores[prefix] = pool_votes(votes[prefix], self.kernel, self.pooling)
        return scores


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "snapkv",
    CacheEntry(
        SnapKVCache,
        {},
        "observation-window votes, pooled (Li et al. 2024)",
        budgeted=True,
    ),
)
