"""ScaleKV: drafter layers keep (almost) everything, refiner layers share the rest.

Purpose: the scale-aware cache of Li et al. 2025 ("Memory-Efficient Visual Autoregressive
Modeling with Scale-Aware KV Cache Compression", arXiv 2505.19602), ported from its code,
StargazerX0/ScaleKV (commit eb0615a): ``scale_kv.py`` L33-154 (the observation window),
L157-295 (``update_kv``); ``enable_scale_kv_2b.py`` L9-31 (per-layer budgets from
``budgets/2b_10%_budget.json``) and L36-59 (attention first, pruning after).

Main statement. Budgets: with B the average per-head budget (R / (D H) rows), |Dr|
drafter layers and W = 16 window tokens, after scale k (cache length L_k)

    Max_k = min(L_k, max(B, floor((D B - (D - |Dr|) W) / |Dr|))),
    Min_k = floor((D B - |Dr| Max_k) / (D - |Dr|)),

drafters keep Max_k tokens per head, refiners Min_k: the layer average stays B. (Derived
from the shipped JSONs, where High * Max + (D - High) * Min = D * 650 at every scale, and
Max is within 0.3% of the full cache, "Limit".) Nothing is pruned while the cache holds
at most the first ``base_scales`` scales (scale_kv.py L161-164; Infinity's 121 tokens are
its first five scales). Tokens: the window W is a 4 x 4 grid of the current scale
(cell centres i p + (p - 1)//2, p = side // 4), or its last 16 tokens if the scale is
not square or its side is below 4; every other token j gets

    a_j = sum_{q in W} q . k_j       (raw logits, no softmax; 1/sqrt(d) is in q here),

max-pooled with kernel 5 (stride 1, padding 2) over the cache in position order, and
the window plus the top cap - |W| are kept.

On the hard instance Alice's queries are zero: every a_j is 0, refiners keep the grid
and their newest tokens, drafters nearly everything. Drafters lose ~0, refiners
(1 - Min/L)/2; in all, (1 - f)/2 with f the kept fraction of all rows (0.45 at 10%).

Ported exactly: the window (grid centres, fallback, dedup), the raw-logit score with the
window masked to -inf, max (or average) pooling, the window kept and the rest by top-k,
the base-capacity rule, the per-layer Max/Min capacities with High Max + (D - High) Min
= D B. Stand-ins: the drafter layers come from the paper's Attention Selectivity Index on
real prompts (precomputed in the JSONs, not in the repo); here they are an option,
default layer 0 (both shipped JSONs contain layer 0). Our choices: a capacity below the
window keeps the window's latest tokens only (ScaleKV keeps the whole window over
budget, L200-204); with no refiner layer every layer keeps B; the last-scale rule
(L167-171) concerns Infinity's final step, which here is Bob's.
"""

from __future__ import annotations

import math

import numpy as np

from caches._eviction import int_option, keep_top
from caches._heads import Candidates, HeadsEvictionCache
from caches.entry import CacheEntry, EntryList
from caches.snapkv import pool_votes
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams

__all__ = ["ScaleKVCache", "scalekv_window", "scalekv_capacities", "scalekv_scores",
           "parse_layers", "DEFAULT_WINDOW", "DEFAULT_KERNEL", "DEFAULT_BASE_SCALES"]

DEFAULT_WINDOW = 16  # scale_kv.py L7 (window_size)
DEFAULT_KERNEL = 5  # scale_kv.py L7 (kernel_size)
DEFAULT_BASE_SCALES = 5  # Infinity's base_capacity 121 = 1 + 4 + 16 + 36 + 64


def scalekv_window(side_h: int, side_w: int, start: int, key_len: int,
                   window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Positions of the observation window (scale_kv.py L33-154): the centres of a
    sqrt(window)-square grid of the current h x w scale starting at ``start``; the last
    ``window`` positions if the scale is not square, the window not a square, or h < grid.

    >>> scalekv_window(8, 8, 100, 164).tolist()[:5]
    [100, 102, 104, 106, 116]
    >>> scalekv_window(3, 3, 5, 14).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    """
    grid = math.isqrt(window)
    if side_h != side_w or grid * grid != window or side_h < grid:
        m = min(window, key_len)
        return np.arange(key_len - m, key_len, dtype=np.int64)
    patch = side_h // grid
    centres = np.clip(np.arange(grid) * patch + (patch - 1) // 2, 0, side_h - 1)
    cells = (centres[:, None] * side_w + centres[None, :]).ravel() + start
    return np.unique(np.clip(cells, 0, key_len - 1)).astype(np.int64)


def scalekv_capacities(layers: int, drafters: int, average: int, cache_len: int,
                       window: int = DEFAULT_WINDOW) -> tuple[int, int]:
    """(Max, Min): tokens per head of drafter and refiner layers, layer mean ``average``.

    >>> scalekv_capacities(16, 1, 43, 424)  # var-256 at 10%: drafter keeps all 424
    (424, 17)
    >>> scalekv_capacities(32, 2, 650, 921)  # the 2B JSON's Scale 9 has 920 and 632
    (921, 631)
    >>> scalekv_capacities(16, 1, 10, 424)  # average below the window: all keep it
    (10, 10)
    """
    if drafters <= 0:
        return average, average
    if drafters >= layers:
        return min(cache_len, average), min(cache_len, average)
    spare = (layers * average - (layers - drafters) * window) // drafters
    high = min(cache_len, max(average, spare))
    low = (layers * average - drafters * high) // (layers - drafters)
    return high, low


def scalekv_scores(window_queries: np.ndarray, keys: np.ndarray, window_idx: np.ndarray,
                   kernel: int = DEFAULT_KERNEL, pooling: str = "max") -> np.ndarray:
    """Pooled raw logits a_j = sum_{q in W} q . k_j, the window masked to -inf before and
    after pooling (scale_kv.py L239-254); ``keys`` in position order.

    >>> s = scalekv_scores(np.array([[1.0, 0.0]]), np.array([[1, 0], [0, 1], [0, 0.0]]),
    ...                    np.array([2]), kernel=1)
    >>> s.tolist()
    [1.0, 0.0, -inf]
    """
    a = (np.asarray(window_queries, dtype=np.float64)
         @ np.asarray(keys, dtype=np.float64).T).sum(axis=0)
    a[window_idx] = -np.inf
    pooled = pool_votes(a, kernel, pooling)
    pooled[window_idx] = -np.inf
    return pooled


def parse_layers(value: object, layers: int) -> tuple[int, ...]:
    """Layer indices from a comma-separated option string ("" for none).

    >>> parse_layers("0, 23", 32)
    (0, 23)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidArgument(f"drafters={value!r} must be layer indices like '0' or '0,23'")
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not all(p.isdigit() and int(p) < layers for p in parts):
        raise InvalidArgument(f"drafters={value!r} must name layers in 0..{layers - 1}, e.g. '0'")
    return tuple(sorted({int(p) for p in parts}))


class ScaleKVCache(HeadsEvictionCache):
    """Drafter/refiner layer budgets, pooled raw logits of a 4x4 grid (ScaleKV's code).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``drafters`` (layer indices, default "0"), ``window`` (16), ``kernel`` (5), ``pooling``
    ("max" (default) or "avg"), ``base_scales`` (scales never pruned, default 5).
    """

    TAG = b"SKV1"
    NAME = "scalekv"
    OPTIONS = frozenset({"budget", "drafters", "window", "kernel", "pooling", "base_scales"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.drafters = parse_layers(params.option("drafters", "0"), self.layers)
        self.window = int_option(params, "window", DEFAULT_WINDOW, 1)
        self.kernel = int_option(params, "kernel", DEFAULT_KERNEL, 1)
        self.pooling = params.option("pooling", "max")
        if self.pooling not in ("max", "avg"):
            raise InvalidArgument(f"pooling={self.pooling!r}; choose max or avg")
        base = int_option(params, "base_scales", DEFAULT_BASE_SCALES, 0)
        tokens = params.schedule.tokens
        self.base_tokens = sum(tokens[: min(base, len(tokens))])
        self.average = self.rows // self.n_slots
        self.is_drafter = np.isin(np.arange(self.layers), self.drafters)

    def _max_rows(self) -> int:
        cached = self.params.schedule.cached_tokens
        if cached <= self.base_tokens:  # never pruned: the cache stays small
            return cached * self.n_slots
        return self.average * self.n_slots

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        t = cand.seen - self.n_seen
        k = self.block_scale(t)
        if cand.seen <= self.base_tokens:
            return [np.arange(n) for n in cand.sizes]
        high, low = scalekv_capacities(self.layers, len(self.drafters), self.average,
                                       cand.seen, self.window)
        h, w = self.params.schedule.shapes[k]
        keep = []
        for s in range(self.n_slots):
            cap = high if self.is_drafter[s // self.heads] else low
            pos = cand.positions[s]
            if pos.size <= cap:
                keep.append(np.arange(pos.size))
                continue
            keep.append(self._top(queries[s], cand, s, cap, h, w, t))
        return keep

    def _top(self, queries: np.ndarray, cand: Candidates, s: int, cap: int, h: int, w: int,
             t: int) -> np.ndarray:
        pos = cand.positions[s]
        order = np.argsort(pos, kind="stable")  # the cache in position order
        n = pos.size
        win = scalekv_window(h, w, n - t, n, self.window)[-cap:] if cap else np.zeros(0, int)
        local = np.clip(win - (n - t), 0, queries.shape[0] - 1)
        scores = scalekv_scores(queries[local], cand.keys[s][order], win, self.kernel,
                                self.pooling)
        scores[win] = np.inf
        return np.sort(order[keep_top(scores, pos[order], cap)])


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "scalekv",
    CacheEntry(
        ScaleKVCache,
        {},
        "drafter layers keep ~all, refiners share the rest (ScaleKV code)",
        budgeted=True,
    ),
)
