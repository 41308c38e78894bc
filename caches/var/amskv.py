"""AMS-KV: condensed and local scales for most layers, everything for cache-demanding ones.

Purpose: the scale-adaptive cache of "AMS-KV: Adaptive KV Caching in Multi-Scale Visual
Autoregressive Transformers" (arXiv 2511.16047, AAAI-26). No code is public; what
follows is fixed by the abstract and a published review of the paper, and marks
everything else as ours.

What the paper states (ported): the KV of the condensed (coarsest; "e.g. the first two")
scales and of the local (most recent) scales matter most; layers differ, and
cache-demanding layers, those with LOW inter-scale similarity of their KV, get more
cache while cache-efficient layers (high similarity) get less.

Our rules (the exact formulas, thresholds and windows are not given):

* an efficient layer keeps, after scale k, the ``condensed`` first scales and the last
  ``local`` scales seen (default 2 and 1); which scale a token belongs to is public (the
  schedule), so no per-token score is needed;
* a demanding layer gets the rest of the row budget R, shared evenly: each of its heads
  keeps the condensed scales and its newest tokens up to its share c (all of them if
  c = L): more local context, the same kind of rule;
* the inter-scale similarity of layer l (ours): the mean over its heads and over the
  tokens t of the newest scale of (cos(k_t, k_up(t)) + cos(v_t, v_up(t))) / 2, up(t)
  the token of the previous scale at the same relative place (nearest-neighbour
  upsampling); measured once, at the first scale where an efficient layer would drop a
  token, on that scale and the one before; the n_dem layers of lowest similarity are
  demanding (ties: the lower layer), and their choice is stored in the message (D bits);
* n_dem is the fewest layers that absorb what R leaves after D H E rows (E the tokens an
  efficient head keeps at the last boundary), so the cache keeps ~R rows
  (:func:`ams_plan`); if even D H E exceeds R, the local window shrinks scale by scale
  (down to the condensed scales alone, the least AMS-KV keeps).

On the hard instance keys are independent random signs (cos ~ 0 +- 1/sqrt(d)) and
values random bits (cos ~ 1/2), so every layer looks alike: a threshold would call them
all demanding (no compression); the count rule picks by the noise. Efficient layers lose
(1 - E/L)/2 (var-256, 2 condensed + 1 local scale: E = 174 of 424, 0.295), demanding
layers (1 - c/L)/2: (1 - f)/2 in all, f the kept fraction of all rows.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import int_option
from caches._heads import Candidates, HeadsEvictionCache
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams
from reduction.message import Reader, Writer
from reduction.schedule import Schedule

__all__ = ["AMSKVCache", "kept_scales", "ams_plan", "upsample_index", "cosine_rows"]

DEFAULT_CONDENSED = 2
DEFAULT_LOCAL = 1


def kept_scales(k: int, condensed: int, local: int) -> list[int]:
    """0-based scales an efficient layer keeps after scale k: the first ``condensed`` and
    the last ``local`` of scales 0..k.

    >>> kept_scales(5, 2, 1), kept_scales(1, 2, 1)
    ([0, 1, 5], [0, 1])
    """
    return sorted(set(range(min(condensed, k + 1))) | set(range(max(0, k - local + 1), k + 1)))


def ams_plan(rows: int, layers: int, heads: int, schedule: Schedule, condensed: int,
             local: int) -> tuple[int, int, int]:
    """(demanding layers, local scales, rows per demanding head) spending ``rows``
    (module docstring).

    >>> s = Schedule.preset("var-256")  # E = 174 with one local scale, 5 with none
    >>> ams_plan(16 * 424 // 2, 16, 1, s, 2, 1)  # 13 * 174 + 3 * 376 = 3390 of 3392 rows
    (3, 1, 376)
    >>> ams_plan(16 * 424 // 10, 16, 1, s, 2, 1)  # 14 * 5 + 2 * 304 = 678 of 678
    (2, 0, 304)
    """
    cached = schedule.cached_tokens
    last = len(schedule.tokens) - 2
    w = local
    e = sum(schedule.tokens[j] for j in kept_scales(last, condensed, w))
    while w > 0 and layers * heads * e > rows:
        w -= 1
        e = sum(schedule.tokens[j] for j in kept_scales(last, condensed, w))
    spare = rows - layers * heads * e
    if spare <= 0 or e >= cached:
        return 0, w, e
    n_dem = min(layers, -(-spare // (heads * (cached - e))))
    return n_dem, w, min(cached, e + spare // (n_dem * heads))


def upsample_index(h: int, w: int, h_prev: int, w_prev: int) -> np.ndarray:
    """For each token (row-major) of an h x w map, the row-major index of the token at the
    same relative place in the h_prev x w_prev map before it.

    >>> upsample_index(2, 2, 1, 1).tolist(), upsample_index(3, 3, 2, 2).tolist()
    ([0, 0, 0, 0], [0, 0, 1, 0, 0, 1, 2, 2, 3])
    """
    rows, cols = np.divmod(np.arange(h * w), w)
    return (rows * h_prev // h) * w_prev + cols * w_prev // w


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity, 0 where a row is zero.

    >>> cosine_rows(np.array([[1.0, 0], [0, 0]]), np.array([[1.0, 1], [1, 0]])).round(4).tolist()
    [0.7071, 0.0]
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    dots = (x * y).sum(axis=1)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


class AMSKVCache(HeadsEvictionCache):
    """Condensed + local scales per efficient layer, all for demanding layers (AMS-KV).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``condensed`` (first scales always kept, default 2), ``local`` (last scales kept by
    efficient layers, default 1).
    """

    TAG = b"AMS1"
    NAME = "ams-kv"
    OPTIONS = frozenset({"budget", "condensed", "local"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.condensed = int_option(params, "condensed", DEFAULT_CONDENSED, 0)
        local = int_option(params, "local", DEFAULT_LOCAL, 0)
        self.n_demanding, self.local, self.share = ams_plan(
            self.rows, self.layers, self.heads, params.schedule, self.condensed, local)
        self.demanding: np.ndarray | None = None  # decided at the first pruning scale
        bounds = params.schedule.block_bounds
        self._scale_of = np.concatenate([np.full(b - a, k) for k, (a, b) in enumerate(bounds)])

    def _max_rows(self) -> int:
        schedule = self.params.schedule
        cached = schedule.cached_tokens
        e = sum(schedule.tokens[j] for j in
                kept_scales(len(schedule.tokens) - 2, self.condensed, self.local))
        return self.heads * (self.n_demanding * min(cached, self.share)
                             + (self.layers - self.n_demanding) * e)

    def similarity(self, cand: Candidates, layer: int, k: int) -> float:
        """Layer ``layer``'s inter-scale similarity between scale k and k - 1 (ours)."""
        (a0, b0), (a1, b1) = self.params.schedule.block_bounds[k - 1 : k + 1]
        (hp, wp), (h, w) = self.params.schedule.shapes[k - 1 : k + 1]
        up = upsample_index(h, w, hp, wp)
        total = 0.0
        for s in range(layer * self.heads, (layer + 1) * self.heads):
            pos = cand.positions[s]
            cur = np.searchsorted(pos, np.arange(a1, b1))
            prev = np.searchsorted(pos, a0 + up)
            total += float(cosine_rows(cand.keys[s][cur], cand.keys[s][prev]).mean())
            total += float(cosine_rows(cand.values[s][cur], cand.values[s][prev]).mean())
        return total / (2 * self.heads)

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        k = self.block_scale(cand.seen - self.n_seen)
        scales = kept_scales(k, self.condensed, self.local)
        if self.demanding is None and len(scales) < k + 1:
            sims = np.array([self.similarity(cand, layer, k) if k else 0.0
                             for layer in range(self.layers)])
            self.demanding = np.zeros(self.layers, dtype=bool)
            self.demanding[np.lexsort((np.arange(self.layers), sims))[: self.n_demanding]] = True
        keep = []
        for s in range(self.n_slots):
            pos = cand.positions[s]
            if self.demanding is None:
                keep.append(np.arange(pos.size))
            elif self.demanding[s // self.heads]:  # condensed + newest, up to the share
                condensed = self._scale_of[pos] < self.condensed
                rest = np.flatnonzero(~condensed)
                room = max(0, self.share - int(condensed.sum()))
                keep.append(np.sort(np.r_[np.flatnonzero(condensed),
                                          rest[rest.size - min(room, rest.size):]]))
            else:
                keep.append(np.flatnonzero(np.isin(self._scale_of[pos], scales)))
        return keep

    def _write_extra(self, w: Writer) -> None:
        w.u8(0 if self.demanding is None else 1)
        if self.demanding is not None:
            w.raw(np.packbits(self.demanding.astype(np.uint8)).tobytes())

    def _read_extra(self, r: Reader) -> None:
        flag = r.u8("demanding flag")
        r.expect(flag in (0, 1), f"demanding flag {flag} is neither 0 nor 1")
        if flag:
            bits = np.unpackbits(np.frombuffer(r.raw((self.layers + 7) // 8, "demanding"),
                                               np.uint8))
            r.expect(not bits[self.layers:].any(), "nonzero padding after the demanding bits")
            self.demanding = bits[: self.layers].astype(bool)
            r.expect(int(self.demanding.sum()) == self.n_demanding,
                     f"{int(self.demanding.sum())} demanding layers, the budget gives "
                     f"{self.n_demanding}")


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "ams-kv",
    CacheEntry(
        AMSKVCache,
        {},
        "condensed + local scales; cache-demanding layers keep all (AMS-KV)",
        budgeted=True,
    ),
)
