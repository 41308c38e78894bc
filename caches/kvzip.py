"""KVzip: score every row by how much the context's reconstruction attends to it; prune
the lowest across all layers and heads at once.

Purpose: the query-agnostic cache of Kim et al. 2025 ("KVzip: Query-Agnostic KV Cache
Compression with Context Reconstruction", arXiv 2505.23416) as NVIDIA/kvpress implements
it: ``kvpress/presses/kvzip_press.py`` (commit 8bb29b9) L50-53 (defaults), L225-264 (the
reconstruction prompts), L287-358 (the score), L360-394 (the global pruning). kvpress only
masks the pruned rows (L390-394); here the message holds the kept rows only.

Main statement: the model re-reads its context ("Repeat the previous context exactly.")
and row i of head (l, h) scores the largest attention any reconstruction query pays it,

    s_{l,h,i} = max_j softmax(r_j K_{l,h}^T)_i,

the first n_sink rows of the sequence scoring 1; the R highest over ALL layers and heads
are kept (layerwise off), so heads and layers end with different counts.

Stand-in for the reconstruction: kvbound's model has no language model to re-read the
context. The queries that reconstruct token i of the instance are public: Bob's C k_i,
which Alice can form from the public keys. So r_j = C k_j for every candidate j of the
head: C is the protocol's public scale (``scale``, filled in by the protocol; 16 when the
cache runs outside it). On the hard instance
s_i ~ 1 / (1 + gamma_i) (token i's own query), near-ties that read only the public keys:
value-blind, error rate (1 - f)/2 with f the kept fraction of all rows.

Ported exactly: the score (max over reconstruction queries of the softmax weights), the
sinks at 1, the global bottom-k over layers and heads. Not ported: the chunking of the
context (chunks of 2048 tokens: kvbound's contexts are shorter), the repeated chunk's
own keys in the softmax (there is no repeated chunk here), KVzip+'s normalisation (needs
W_o and hidden states). The rule runs after every scale on the kept rows plus the new
block (ties: higher score, then the more recent token, then the lower head).
"""

from __future__ import annotations

import math

import numpy as np

from caches._eviction import int_option
from caches._heads import Candidates, HeadsEvictionCache, joint_top
from caches.entry import CacheEntry, EntryList
from lowerbound.validation import InvalidArgument
from reduction.attention import softmax_rows
from reduction.cache import CacheParams

__all__ = ["KVzipCache", "reconstruction_scores", "DEFAULT_SINKS", "DEFAULT_QUERY_SCALE"]

DEFAULT_SINKS = 4  # kvpress kvzip_press.py L52
DEFAULT_QUERY_SCALE = 16.0


def reconstruction_scores(keys: np.ndarray, positions: np.ndarray, scale: float,
                          n_sink: int = DEFAULT_SINKS) -> np.ndarray:
    """max_j softmax(scale k_j K^T)_i per row i; rows at positions < n_sink score 1.

    >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> bool(np.allclose(reconstruction_scores(k, np.array([5, 6]), np.log(3.0), 0),
    ...                  [0.75, 0.75]))
    True
    """
    k = np.asarray(keys, dtype=np.float64)
    weights = softmax_rows(scale * k @ k.T) if k.shape[0] else np.zeros((0, 0))
    scores = weights.max(axis=0) if k.shape[0] else np.zeros(0)
    scores[np.asarray(positions) < n_sink] = 1.0
    return scores


class KVzipCache(HeadsEvictionCache):
    """Reconstruction attention, pruned globally over layers and heads (KVzip, kvpress).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``sinks`` (default 4); ``scale`` (C of the reconstruction queries C k_j) comes from
    the protocol (16 outside it).
    """

    TAG = b"KVZ1"
    NAME = "kvzip"
    OPTIONS = frozenset({"budget", "sinks", "scale"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.sinks = int_option(params, "sinks", DEFAULT_SINKS, 0)
        scale = params.option("scale")
        scale = DEFAULT_QUERY_SCALE if scale is None else scale
        if (isinstance(scale, bool) or not isinstance(scale, (int, float))
                or not math.isfinite(scale) or scale <= 0):
            raise InvalidArgument(f"scale={scale!r} must be a positive real number (Bob's C)")
        self.query_scale = float(scale)

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        sizes = cand.sizes
        if self.rows >= int(sizes.sum()):
            return [np.arange(n) for n in sizes]
        scores = [reconstruction_scores(cand.keys[s], cand.positions[s], self.query_scale,
                                        self.sinks) for s in range(self.n_slots)]
        return joint_top(scores, cand.positions, self.rows)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "kvzip",
    CacheEntry(
        KVzipCache,
        {},
        "reconstruction attention, pruned over all heads at once (KVzip, kvpress)",
        budgeted=True,
        protocol=frozenset({"scale"}),
    ),
)
