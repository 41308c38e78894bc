"""A VAR-aware per-scale budget: coarse scales kept whole, finer ones thinned.

Purpose: a simplified scale-aware cache after ScaleKV (Li et al. 2025, arXiv 2505.19602:
per-scale budgets, tokens picked by a 4x4 grid of observation queries, max-pooled) and
FastVAR (Guo et al. 2025, arXiv 2503.23367: prune only the large late scales). Which scale
a token belongs to is public: it follows from ``params.schedule`` and the order of
``process()`` calls (the tokens seen so far).

Main statement (the allocation, :func:`scale_allocation`): with B = ``budget_tokens(
budget, L_{K-1})`` and a per-token weight T_k^{-alpha} that decreases with the scale's
size, scale k < K keeps b_k = min(T_k, lambda * T_k^{1 - alpha}) tokens, lambda chosen so
that sum_k b_k = B (water-filling; rounding leftovers go to the coarsest scales). Coarse scales,
where lambda * T_k^{-alpha} >= 1, are kept whole. alpha = 0 keeps the same fraction of
every scale; alpha = 1 the same count; the default alpha = 1/2 keeps ~ one side's worth
(lambda * h_k for square maps). The last scale K keeps nothing: no later scale attends
to it. Inside scale k the b_k kept tokens are those with the largest attention
max_{q in grid} softmax(q K^T)_j from a 4x4 grid of the scale's queries (ties to the
more recent token); tokens of earlier scales are never evicted again.

On the hard instance the queries are zero: the grid's votes tie, each scale keeps its
last b_k tokens, and error rate ~ (1 - B/L)/2.

Simplifications: one head and one layer (ScaleKV's per-layer drafter/refiner budgets
collapse to one per-scale allocation); the allocation is a fixed rule of the schedule,
not calibrated on data.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, attention_weights, fraction_option
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams
from reduction.schedule import Schedule

__all__ = ["ScaleBudgetCache", "scale_allocation", "observation_grid", "DEFAULT_ALPHA"]

DEFAULT_ALPHA = 0.5
GRID = 4


def scale_allocation(schedule: Schedule, budget: int, alpha: float = DEFAULT_ALPHA) -> list[int]:
    """b_1..b_{K-1}: tokens kept per cached scale, summing to min(budget, L_{K-1}).

    b_k = min(T_k, lambda * T_k^(1 - alpha)) with lambda by bisection, rounded down, the
    (fewer than K) tokens left by rounding given one each to the coarsest scales not full.

    Notes: the VAR-aware budget of this module (after ScaleKV, arXiv 2505.19602).

    >>> s = Schedule.preset("var-256")
    >>> scale_allocation(s, 212)
    [1, 4, 9, 16, 22, 27, 34, 43, 56]
    >>> scale_allocation(s, 424) == list(s.tokens[:-1])
    True
    """
    sizes = np.array(schedule.tokens[:-1], dtype=np.float64)
    b = min(int(budget), int(sizes.sum()))
    if b == int(sizes.sum()):
        return [int(t) for t in sizes]
    shape = sizes ** (1.0 - alpha)

    def total(lam: float) -> float:
        return float(np.minimum(sizes, lam * shape).sum())

    lo, hi = 0.0, 1.0
    while total(hi) < b:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if total(mid) < b else (lo, mid)
    real = np.minimum(sizes, hi * shape)
    counts = np.minimum(np.floor(real), sizes).astype(np.int64)
    short = b - int(counts.sum())
    open_scales = np.flatnonzero(counts < sizes)  # coarse first: higher per-token weight
    for k in open_scales[: max(0, short)]:
        counts[k] += 1
    excess = int(counts.sum()) - b
    for k in range(sizes.size - 1, -1, -1):  # float slack: trim the finest scales
        cut = min(excess, int(counts[k]))
        counts[k] -= cut
        excess -= cut
    return [int(c) for c in counts]


def observation_grid(h: int, w: int, grid: int = GRID) -> np.ndarray:
    """Row-major indices of a grid x grid lattice of tokens in an h x w map (deduplicated).

    >>> observation_grid(4, 4).tolist() == list(range(16))
    True
    >>> observation_grid(1, 2).tolist()
    [0, 1]
    """
    rows = np.unique(np.round(np.linspace(0, h - 1, grid)).astype(np.int64))
    cols = np.unique(np.round(np.linspace(0, w - 1, grid)).astype(np.int64))
    return (rows[:, None] * w + cols[None, :]).ravel()


class ScaleBudgetCache(EvictionCache):
    """Per-scale budgets decreasing with the scale's size (after ScaleKV / FastVAR).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count),
    ``alpha`` (the weight exponent in [0, 1], default 0.5).
    """

    TAG = b"SCB1"
    NAME = "scale-budget"
    OPTIONS = frozenset({"budget", "alpha"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.alpha = fraction_option(params, "alpha", DEFAULT_ALPHA)
        self.allocation = scale_allocation(params.schedule, self.capacity, self.alpha) + [0]
        self._starts = {start: k for k, (start, _) in enumerate(params.schedule.block_bounds)}

    def _scale_index(self, n_new: int) -> int:
        k = self._starts.get(self.n_seen)
        bounds = self.params.schedule.block_bounds
        if k is None or bounds[k][1] - bounds[k][0] != n_new:
            raise ValueError(
                f"scale-budget needs one process() call per scale of the schedule; got a block "
                f"of {n_new} tokens after {self.n_seen} seen (scale boundaries "
                f"{[s for s, _ in bounds]})"
            )
        return k

    def _target(self, n_old: int, n_new: int) -> int:
        return n_old + self.allocation[self._scale_index(n_new)]

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """+inf for earlier scales; max attention from the 4x4 observation grid otherwise."""
        h, w = self.params.schedule.shapes[self._scale_index(positions.size - n_old)]
        grid = observation_grid(h, w)
        grid = grid[grid < queries.shape[0]]
        votes = attention_weights(queries[grid], keys).max(axis=0)
        return np.where(np.arange(positions.size) < n_old, np.inf, votes)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "scale-budget",
    CacheEntry(
        ScaleBudgetCache,
        {},
        "coarse scales whole, finer ones thinned (after ScaleKV/FastVAR)",
        budgeted=True,
    ),
)
