"""H2O: Heavy-Hitter Oracle eviction (recent tokens + top accumulated attention).

Purpose: the cache of Zhang et al. 2023 ("H2O: Heavy-Hitter Oracle for Efficient
Generative Inference of Large Language Models", arXiv 2306.14048) as a compressor of the
reduction.

Main statement: every kept token carries a running score s_j = sum over ALL queries so
far of the attention weight softmax(q K^T)_j it received (the block's own queries
included). After each scale the cache keeps the R = round(recent * B) most recent tokens
plus the B - R others of highest score, B = ``budget_tokens(budget, L_{K-1})`` (the paper
splits the budget evenly: recent = 0.5). Ties go to the more recent token. The scores are
part of the state: they are serialised as float32 (and kept at float32 in memory, so the
bytes are the state exactly).

On the hard instance Alice's queries are zero: a token visible during scales k..K-1
collects sum_k T_k / n_k, so the OLDEST tokens are the heavy hitters; the choice never
sees the values, so error rate ~ (1 - B/L)/2.

Simplifications: one head; eviction once per scale (the paper evicts one token per
decoded token); the scores are not renormalised.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import QUERY_CHUNK, EvictionCache, fraction_option
from caches.entry import CacheEntry, EntryList
from reduction.attention import softmax_rows
from reduction.cache import CacheParams
from reduction.message import Reader, Writer

__all__ = ["H2OCache", "DEFAULT_RECENT"]

DEFAULT_RECENT = 0.5


class H2OCache(EvictionCache):
    """Recent window + heavy hitters by accumulated attention (Zhang et al. 2023).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count),
    ``recent`` (fraction of the budget given to the recent window, in [0, 1], default 0.5).
    """

    TAG = b"H2O1"
    NAME = "h2o"
    OPTIONS = frozenset({"budget", "recent"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.recent = fraction_option(params, "recent", DEFAULT_RECENT)
        self.n_recent = int(np.floor(self.recent * self.capacity + 0.5))
        self.scores = np.zeros(0, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def _attend(
        self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray, n_old: int
    ) -> np.ndarray:
        """Outputs P V with P = softmax(Q K^T), accumulating the column sums of P."""
        k = keys.astype(np.float64)
        v = values.astype(np.float64)
        received = np.zeros(k.shape[0])
        out = np.empty((queries.shape[0], v.shape[1]))
        for start in range(0, queries.shape[0], QUERY_CHUNK):
            p = softmax_rows(queries[start : start + QUERY_CHUNK] @ k.T)
            received += p.sum(axis=0)
            out[start : start + QUERY_CHUNK] = p @ v
        old = np.concatenate([self.scores, np.zeros(k.shape[0] - n_old, dtype=np.float32)])
        self._pending = (old.astype(np.float64) + received).astype(np.float32)
        return out

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """+inf for the R most recent tokens, the accumulated attention otherwise."""
        scores = self._pending.astype(np.float64)
        if self.n_recent:
            scores[np.argsort(positions)[-self.n_recent :]] = np.inf
        return scores

    def _after_eviction(self, keep: np.ndarray) -> None:
        self.scores = self._pending[keep]

    def _write_extra(self, w: Writer) -> None:
        w.array(self.scores, "<f4")

    def _read_extra(self, r: Reader) -> None:
        scores = r.array("<f4", (self.n_kept,), "scores")
        r.expect(bool(np.isfinite(scores).all() and (scores >= 0).all()),
                 "accumulated scores must be finite and >= 0")
        self.scores = scores


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "h2o",
    CacheEntry(
        H2OCache,
        {},
        "recent + heavy hitters by accumulated attention (Zhang et al. 2023)",
        budgeted=True,
    ),
)
