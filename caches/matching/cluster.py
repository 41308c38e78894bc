"""Orthant clustering with one sampled value per cluster, SubGen-style (variant S4).

Purpose: the matching cache of docs/theorem.md#s4 (ours). When the keys have rank r, only
L'(r) = e^{Theta(r)} of them can be told apart by attention, and on the S4 instance the L
cached tokens share L' key directions. Following SubGen (Zandieh, Han, Mirrokni & Karbasi
2024, arXiv 2402.06082: cluster the keys online, keep per cluster a few sampled
(key, value) pairs), this cache clusters keys by their sign pattern (the orthant of the
key space they lie in) and keeps, per cluster, one value row sampled uniformly from its
members (bottom-1 sampling on priorities drawn from the cache's rng). Its memory is per
cluster, not per token: L' (d + ~1.84) bits plus O(log L) on the S4 instance, which
tracks the S4 bound d L'(r).

What it simplifies, relative to SubGen: clusters are orthants (radius: "same sign
pattern"), so a cluster's key is not stored as a vector: a minimal perfect hash of the
clusters' sign patterns routes a query to its cluster (:mod:`._routed`), and the output
is the cluster's sampled value row (hard attention to the routed cluster). SubGen's
counts (the softmax denominator) are not needed for that output and not stored; its
l2-norm value sampling is replaced by one uniform sample per cluster.

Main statement: on the S4 instance every member of a cluster carries the same value row,
so Bob's output for q = C k_c is that row exactly and every bit decodes. Off it, merged
tokens lose their own values (they answer with their cluster's sample).

No options. Values must be 0 or 1 (ValueError otherwise).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._routed import BitRowsRoutedCache
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["ClusterCache"]


class ClusterCache(BitRowsRoutedCache):
    """One uniformly sampled 0/1 value row per key orthant, routed by a key hash."""

    TAG: ClassVar[bytes] = b"CLU1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset()
    NAME: ClassVar[str] = "cluster"

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self._rng = np.random.default_rng(rng)
        self._slot: dict[bytes, int] = {}  # packed sign pattern -> stored row
        self._priority: list[float] = []

    def _append(self, signs: np.ndarray, values: np.ndarray) -> None:
        """Open a cluster per new orthant; a member replaces the sample if its priority is lower."""
        priorities = np.asarray(self._rng.random(signs.shape[0]), dtype=np.float64)
        new_signs: list[np.ndarray] = []
        new_values: list[np.ndarray] = []
        for sign, value, u in zip(signs, values, priorities.tolist()):
            key = np.packbits(sign).tobytes()
            row = self._slot.get(key)
            if row is None:
                self._slot[key] = self.stored_tokens + len(new_signs)
                self._priority.append(u)
                new_signs.append(sign)
                new_values.append(value)
            elif row >= self.stored_tokens:
                j = row - self.stored_tokens
                if u < self._priority[row]:
                    self._priority[row], new_values[j] = u, value
            elif u < self._priority[row]:
                self._priority[row] = u
                self._values[row] = value
        self._signs = np.concatenate([self._signs, np.asarray(new_signs, bool).reshape(-1, self.d)])
        self._values = np.concatenate([self._values,
                                       np.asarray(new_values, np.int8).reshape(-1, self.d)])


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "cluster",
    CacheEntry(
        ClusterCache,
        {},
        "SubGen-style: keys clustered by orthant (sign pattern), one uniformly sampled 0/1 "
        "value row per cluster + a ~1.84 bit/cluster hash (variant S4)",
    ),
)
