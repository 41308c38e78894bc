"""TOVA: keep the tokens the latest query attends to most.

Purpose: Token Omission Via Attention of Oren et al. 2024 ("Transformers are Multi-State
RNNs", arXiv 2401.06104) as a compressor of the reduction.

Main statement: after each scale, keep the top-B tokens (kept + the block's own) by the
attention weight softmax(q_last K^T) of the block's LAST query, B = ``budget_tokens(
budget, L_{K-1})``; ties go to the more recent token. During Alice's scales the queries
are zero, the weights uniform, so TOVA keeps the B most recent tokens; the scores never
see the values, so error rate ~ (1 - B/L)/2 on the hard instance.

Simplifications: one head (the paper averages the weights over heads); eviction once per
scale, scored by the scale's last query (the paper drops one token per decoded token).
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, attention_weights
from caches.entry import CacheEntry, EntryList

__all__ = ["TOVACache"]


class TOVACache(EvictionCache):
    """Top-B tokens by the latest query's attention (Oren et al. 2024).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count).
    """

    TAG = b"TOV1"
    NAME = "tova"

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """The last query's attention weight on every candidate token."""
        return attention_weights(queries[-1:], keys)[0]


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "tova",
    CacheEntry(
        TOVACache,
        {},
        "top-B by the latest query's attention (Oren et al. 2024)",
        budgeted=True,
    ),
)
