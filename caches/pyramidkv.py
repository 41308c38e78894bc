"""PyramidKV: lower layers keep more tokens, higher layers fewer, SnapKV within a layer.

Purpose: the layer-wise pyramid of Cai et al. 2024 ("PyramidKV: Dynamic KV Cache
Compression based on Pyramidal Information Funneling", arXiv 2406.02069) as
NVIDIA/kvpress implements it: ``kvpress/presses/pyramidkv_press.py`` (commit 8bb29b9)
L42-45 (defaults: window 64, kernel 5, beta 20), L47-84 (the layer budgets), with
SnapKV's score (``snapkv_press.py`` L95-103).

Main statement (:func:`pyramid_budgets`): with q = L_{K-1} cached tokens, kept fraction f
(kvpress's compression_ratio is 1 - f) and window w,

    m = w + q f,   min = (m - w) / beta,   max = 2 (m - w) - min;
    if max >= q - w:  max = q - w,  min = 2 (m - w) - max;
    b_l = round(max - l (max - min) / (D - 1))   for layers l = 0 .. D - 1,

unless q >= max >= min >= w fails, when every layer falls back to round(q f) (uniform,
kvpress's SnapKV fallback). The mean of the b_l is q f. Every head of layer l keeps b_l
tokens by SnapKV's score: the window's mean softmax votes, average-pooled, the w newest
forced.

On var-256 (D = 16, w = 64) the bottom layer stays above the window only for f >= 1/2:
f = 1/2 gives 360, 340, ..., 64, f = 0.7 gives 360 ... 234, and any f < 1/2 falls back
to round(424 f) per layer. On the hard instance Alice's zero queries make SnapKV's votes
uniform; average pooling with zero padding lowers the two ends of the sequence, so each
head keeps its newest tokens and a few of the oldest: layer l loses (1 - b_l/L)/2, all
layers together (1 - f)/2.

Ported exactly: the budget formula with its fallback and Python rounding, the defaults,
SnapKV's score with average pooling. Our choices: b_l is computed once with q = L_{K-1}
and caps every head of layer l after every scale (kvpress prunes a prompt once); with
D = 1 the pyramid has no slope and the budget is uniform; the window is capped at b_l.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import int_option
from caches._heads import Candidates, HeadsEvictionCache
from caches._scorers import SNAPKV_KERNEL, SNAPKV_WINDOW, snapkv_press_scores
from caches.entry import CacheEntry, EntryList
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams

__all__ = ["PyramidKVCache", "pyramid_budgets", "DEFAULT_BETA"]

DEFAULT_BETA = 20


def pyramid_budgets(q_len: int, layers: int, kept: float, window: int = SNAPKV_WINDOW,
                    beta: int = DEFAULT_BETA) -> list[int]:
    """Tokens per head of each layer (kvpress pyramidkv_press.py L67-84).

    >>> pyramid_budgets(424, 16, 0.5)[:3], pyramid_budgets(424, 16, 0.5)[-1]
    ([360, 340, 321], 64)
    >>> pyramid_budgets(424, 16, 0.3) == [127] * 16
    True
    """
    capacity = window + q_len * kept
    low = (capacity - window) / beta
    high = (capacity - window) * 2 - low
    if high >= q_len - window:
        high = q_len - window
        low = (capacity - window) * 2 - high
    if layers < 2 or not (q_len >= high >= low >= window):
        return [round(q_len * kept)] * layers
    steps = (high - low) / (layers - 1)
    return [round(high - layer * steps) for layer in range(layers)]


class PyramidKVCache(HeadsEvictionCache):
    """Pyramid of layer budgets, SnapKV within each head (PyramidKV, via kvpress).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``window`` (default 64), ``kernel`` (odd, default 5), ``beta`` (>= 1, default 20).
    """

    TAG = b"PYR1"
    NAME = "pyramidkv"
    OPTIONS = frozenset({"budget", "window", "kernel", "beta"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.window = int_option(params, "window", SNAPKV_WINDOW, 1)
        self.kernel = int_option(params, "kernel", SNAPKV_KERNEL, 1)
        if self.kernel % 2 == 0:
            raise InvalidArgument(f"kernel={self.kernel} must be an odd integer >= 1 (e.g. 5)")
        self.beta = int_option(params, "beta", DEFAULT_BETA, 1)
        q_len = params.schedule.cached_tokens
        kept = self.rows / (self.n_slots * q_len)
        budgets = pyramid_budgets(q_len, self.layers, kept, self.window, self.beta)
        self.layer_caps = np.clip(np.array(budgets, dtype=np.int64), 1, q_len)

    def _max_rows(self) -> int:
        return int(self.layer_caps.sum()) * self.heads

    def _targets(self, cand: Candidates) -> np.ndarray:
        return np.minimum(np.repeat(self.layer_caps, self.heads), cand.sizes)

    def _slot_scores(self, slot: int, queries: np.ndarray, cand: Candidates) -> np.ndarray:
        cap = int(self.layer_caps[slot // self.heads])
        return snapkv_press_scores(queries, cand.keys[slot], cand.positions[slot],
                                   min(self.window, cap), self.kernel)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "pyramidkv",
    CacheEntry(
        PyramidKVCache,
        {},
        "pyramid of layer budgets, SnapKV per head (PyramidKV, kvpress)",
        budgeted=True,
    ),
)
