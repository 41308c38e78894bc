"""StreamingLLM: keep the first ``sinks`` tokens and the most recent ones.

Purpose: the attention-sink cache of Xiao et al. 2023 ("Efficient Streaming Language
Models with Attention Sinks", arXiv 2309.17453) as a compressor of the reduction.

Main statement: after every scale the cache holds the ``sinks`` earliest tokens (4 in
the paper) plus the W = B - sinks most recent ones, B = ``budget_tokens(budget,
L_{K-1})`` (so the final state holds exactly min(B, tokens seen) tokens; if B <= sinks
only the B latest of the sink tokens remain). The kept set depends on positions only, so
on the hard instance the evicted rows' bits are lost: error rate ~ (1 - B/L)/2.

Simplifications: one head, eviction once per scale (the paper evicts per decoded token);
the paper re-assigns positions inside the cache for its rotary embedding, which has no
counterpart here (keys are stored as given).
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, int_option
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["StreamingLLMCache", "DEFAULT_SINKS"]

DEFAULT_SINKS = 4


class StreamingLLMCache(EvictionCache):
    """Attention sinks + a sliding window of recent tokens (Xiao et al. 2023).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count),
    ``sinks`` (integer >= 0, default 4).
    """

    TAG = b"SLL1"
    NAME = "streaming-llm"
    OPTIONS = frozenset({"budget", "sinks"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.sinks = int_option(params, "sinks", DEFAULT_SINKS, 0)

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """Sinks score +inf, every other token its position (recency)."""
        return np.where(positions < self.sinks, np.inf, positions.astype(np.float64))


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "streaming-llm",
    CacheEntry(
        StreamingLLMCache,
        {},
        "4 sink tokens + the most recent (Xiao et al. 2023)",
        budgeted=True,
    ),
)
