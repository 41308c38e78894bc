"""K-norm: keep the keys with the smallest L2 norm.

Purpose: the key-norm eviction of Devoto et al. 2024 ("A Simple and Effective L2
Norm-Based Strategy for KV Cache Compression", arXiv 2406.11430), kvpress
``KnormPress``, as a compressor of the reduction.

Main statement: after each scale keep the B = ``budget_tokens(budget, L_{K-1})`` tokens
whose stored (float16) keys have the smallest ||k||_2. Degenerate case: the reduction's
keys are sigma_i / sqrt(d), all of norm exactly 1 (also in float16, every entry having the
same magnitude), so every score ties and the shared tie-break decides: the MORE RECENT
tokens are kept, i.e. K-norm keeps the last B tokens. Bob's zero keys (norm 0) would be
kept first. Either way the choice ignores the values: error rate ~ (1 - B/L)/2.

Simplifications: one head; eviction once per scale (the paper prunes the prompt once).
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache
from caches.entry import CacheEntry, EntryList

__all__ = ["KNormCache"]


class KNormCache(EvictionCache):
    """Smallest-key-norm tokens kept (Devoto et al. 2024); ties to the more recent token.

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count).
    """

    TAG = b"KNM1"
    NAME = "knorm"

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """-||k||_2 of the stored float16 key (computed in float64)."""
        return -np.linalg.norm(keys.astype(np.float64), axis=1)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "knorm",
    CacheEntry(
        KNormCache,
        {},
        "smallest key L2 norms kept (Devoto et al. 2024)",
        budgeted=True,
    ),
)
