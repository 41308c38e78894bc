"""HACK: contextual and structural heads, asymmetric budgets, one strategy per class.

Purpose: the head-aware cache of Qin et al. ("Head-Aware KV Cache Compression for
Efficient Visual Autoregressive Modeling", arXiv 2504.09261, AAAI-26). Its code
(github.com/Zr2223/HACK) could not be read; what follows is fixed by the paper's
abstract (v1, v2) and marks everything else as ours.

What the paper states (ported): VAR heads fall in two classes, Contextual (vertical
attention: every query attends the same few keys, semantic) and Structural
(multi-diagonal: each query attends spatially aligned keys of earlier scales); the
classes come from an offline classification by attention variance; each class gets
its own budget (asymmetric) and its own strategy; the average cache length per head is
held at a budget B, so attention costs O(B n^2) instead of O(n^4).

Our rules (the abstract does not give them):

* classification: the probe rule (score = mean over keys of the variance of the
  attention across queries; Structural = the top ceil(alpha D H) heads). The offline
  calibration runs on real prompts, which kvbound does not have, and on the hard
  instance it is degenerate both ways (Alice's zero queries make every head uniform,
  variance 0; Bob's make every head a perfect diagonal). Stand-in: the public split by
  index, the first ceil(alpha D H) heads in (layer, head) order are Structural
  (``structural``, default 1/2, the probe's 0.5 quantile);
* budgets: n_s B_s + n_c B_c = D H B with B_s = ratio B_c (``ratio``, default 2), capped
  at L, leftovers to contextual heads (:func:`class_budgets`);
* Contextual heads: attention votes of the current scale's 4 x 4 grid of queries
  (ScaleKV's observer rule, caches/var/scalekv.py), summed softmax weights, max-pooled
  (kernel 5), the grid kept and the top of the rest;
* Structural heads: a data-blind spatial rule, newest scale first and, inside a scale,
  coarse lattice points first (row and column both multiples of 2^t, larger t first),
  so a partly kept scale is a uniform sub-grid of it.

On the hard instance the grid's votes tie (zero queries) and contextual heads keep
their newest tokens; structural heads keep the newest scales and coarse sub-grids of
the older ones. Neither rule reads the values: structural heads lose (1 - B_s/L)/2,
contextual (1 - B_c/L)/2, all heads (1 - f)/2 with f the kept fraction of all rows
(0.35 at the paper's 70% compression).
"""

from __future__ import annotations

import math

import numpy as np

from caches._eviction import attention_weights, fraction_option, int_option
from caches._heads import Candidates, HeadsEvictionCache
from caches.entry import CacheEntry, EntryList
from caches.snapkv import pool_votes
from caches.var.scalekv import DEFAULT_KERNEL, DEFAULT_WINDOW, scalekv_window
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule

__all__ = ["HACKCache", "structural_mask", "class_budgets", "lattice_priority",
           "DEFAULT_RATIO", "DEFAULT_STRUCTURAL"]

DEFAULT_RATIO = 2.0
DEFAULT_STRUCTURAL = 0.5
_MAX_LEVEL = 30


def structural_mask(n_heads: int, alpha: float) -> np.ndarray:
    """The first ceil(alpha n) heads (in (layer, head) order) are Structural.

    >>> structural_mask(5, 0.5).tolist()
    [True, True, True, False, False]
    """
    k = min(n_heads, math.ceil(alpha * n_heads - 1e-12))
    return np.arange(n_heads) < k


def class_budgets(rows: int, structural: np.ndarray, ratio: float, cached: int) -> np.ndarray:
    """Per-head budgets: B_s = min(L, floor(ratio R / (n_s ratio + n_c))), B_c the rest
    shared by the contextual heads (capped at L), rounding leftovers one each to the first
    contextual heads (to the first structural heads if there are none).

    >>> class_budgets(300, np.array([True, False, False]), 2.0, 424).tolist()
    [150, 75, 75]
    >>> class_budgets(1000, np.array([True, False]), 2.0, 424).tolist()  # capped at L
    [424, 424]
    """
    n_s = int(structural.sum())
    n_c = structural.size - n_s
    if n_c == 0:
        b = np.full(n_s, min(cached, rows // max(n_s, 1)), dtype=np.int64)
        spare = np.flatnonzero(b < cached)[: rows - int(b.sum())]
        b[spare] += 1
        return b
    b_s = min(cached, math.floor(ratio * rows / (n_s * ratio + n_c)))
    b_c = min(cached, (rows - n_s * b_s) // n_c)
    b = np.where(structural, b_s, b_c).astype(np.int64)
    spare = np.flatnonzero(~structural & (b < cached))[: max(0, rows - int(b.sum()))]
    b[spare] += 1
    return b


def lattice_priority(schedule: Schedule) -> np.ndarray:
    """For every position of the schedule: scale index * 64 + the coarsest lattice level
    2^t dividing both its row and column (t capped at 30): higher = kept first by a
    structural head.

    >>> lattice_priority(Schedule.from_sides((1, 2))).tolist()
    [30, 94, 64, 64, 64]
    """
    parts = []
    for k, (h, w) in enumerate(schedule.shapes):
        rows, cols = np.divmod(np.arange(h * w, dtype=np.int64), w)
        both: np.ndarray = np.bitwise_or(rows, cols)
        low_bit = np.where(both == 0, 1, np.bitwise_and(both, np.negative(both)))
        level = np.where(both == 0, _MAX_LEVEL, np.log2(low_bit).astype(np.int64))
        parts.append(k * 64 + level)
    return np.concatenate(parts).astype(np.int64)


class HACKCache(HeadsEvictionCache):
    """Structural and contextual heads with asymmetric budgets (HACK, paper abstract).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``structural`` (fraction of heads, in [0, 1], default 0.5), ``ratio`` (B_s / B_c,
    >= 1, default 2), ``window`` (grid queries of contextual heads, default 16),
    ``kernel`` (odd, default 5).
    """

    TAG = b"HAK1"
    NAME = "hack"
    OPTIONS = frozenset({"budget", "structural", "ratio", "window", "kernel"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        alpha = fraction_option(params, "structural", DEFAULT_STRUCTURAL)
        ratio = params.option("ratio", DEFAULT_RATIO)
        if (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                or not math.isfinite(ratio) or ratio < 1):
            raise InvalidArgument(f"ratio={ratio!r} must be a real number >= 1 (B_s / B_c, e.g. 2)")
        self.window = int_option(params, "window", DEFAULT_WINDOW, 1)
        self.kernel = int_option(params, "kernel", DEFAULT_KERNEL, 1)
        if self.kernel % 2 == 0:
            raise InvalidArgument(f"kernel={self.kernel} must be an odd integer >= 1 (e.g. 5)")
        self.structural = structural_mask(self.n_slots, alpha)
        self.budgets = class_budgets(self.rows, self.structural, float(ratio),
                                     params.schedule.cached_tokens)
        self.priority = lattice_priority(params.schedule)

    def _max_rows(self) -> int:
        return int(self.budgets.sum())

    def _targets(self, cand: Candidates) -> np.ndarray:
        return np.minimum(self.budgets, cand.sizes)

    def _slot_scores(self, slot: int, queries: np.ndarray, cand: Candidates) -> np.ndarray:
        pos = cand.positions[slot]
        if self.structural[slot]:
            return self.priority[pos].astype(np.float64)
        t = cand.seen - self.n_seen
        h, w = self.params.schedule.shapes[self.block_scale(t)]
        n = pos.size
        cap = int(self.budgets[slot])
        win = scalekv_window(h, w, n - t, n, self.window)[-cap:] if cap else pos[:0]
        local = np.clip(win - (n - t), 0, queries.shape[0] - 1)
        votes = attention_weights(queries[local], cand.keys[slot]).sum(axis=0)
        scores = pool_votes(votes, self.kernel, "max")
        scores[win] = np.inf
        return scores


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "hack",
    CacheEntry(
        HACKCache,
        {},
        "structural/contextual heads, asymmetric budgets (HACK; rules partly ours)",
        budgeted=True,
    ),
)
