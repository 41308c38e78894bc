"""Random eviction: a uniform random subset of B tokens (kvpress ``RandomPress``).

Purpose: the control policy of NVIDIA kvpress (``RandomPress``): the kept set carries
no information about the tokens at all.

Main statement: every token seen gets an independent uniform priority u_p (regenerated
from a 64-bit seed drawn from the cache rng, so priorities are a function of position);
after each scale the cache keeps the B = ``budget_tokens(budget, L_{K-1})`` tokens of
smallest priority among those kept so far and the block (bottom-B sampling). Because the
smallest-B set of the whole stream is also the smallest-B set of (smallest-B of the past)
+ (new block), the final kept set is a uniformly random B-subset of the L_{K-1} tokens,
exactly as if chosen once at the end. Error rate ~ (1 - B/L)/2 on the hard instance.

Memory: the seed (8 bytes) is part of the message, so Bob's side continues the same
priorities.

Simplifications: kvpress draws the subset once after the prompt; streaming bottom-B
sampling gives the same distribution.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams
from reduction.message import Reader, Writer

__all__ = ["RandomEvictionCache"]


class RandomEvictionCache(EvictionCache):
    """A uniformly random B-subset of the tokens (kvpress RandomPress).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count).
    """

    TAG = b"RND1"
    NAME = "random"

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        rng = np.random.default_rng(rng)
        self.seed = int(rng.integers(0, 2**63 - 1))

    def priorities(self) -> np.ndarray:
        """u_p for every position p of the schedule (uniform on [0, 1), from the seed)."""
        return np.random.default_rng(self.seed).random(self.params.schedule.total_tokens)

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """-u_p: the smallest priorities are kept."""
        return -self.priorities()[positions]

    def _write_extra(self, w: Writer) -> None:
        w.u64(self.seed)

    def _read_extra(self, r: Reader) -> None:
        self.seed = r.u64("seed")
        r.expect(self.seed < 2**63, f"seed {self.seed} out of range")


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "random",
    CacheEntry(
        RandomEvictionCache,
        {},
        "uniform random B-subset (kvpress RandomPress)",
        budgeted=True,
    ),
)
