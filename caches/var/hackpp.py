"""HACK++: HACK with the attention budget decoupled from the cache budget.

Purpose: the follow-up of HACK by Qin et al. ("HACK++: Towards More Effective Head-Aware
Key-Value Compression for Efficient Visual Autoregressive Modeling", arXiv 2606.08302);
only its abstract could be read, so this port holds what the abstract states and says
which parts are ours.

What the abstract states (ported): the head classes and strategies of HACK (see
caches/var/hack.py); the budget of what the current scale ATTENDS TO is separate from
the budget of what is CACHED (near-lossless at 30% attention and 10% cache, robust at
1% cache); a reliance-aware allocation from head-specific priors calibrated once
offline (reliance on history differs by head type and shifts over layers and steps).

Our rules: each query of a scale attends to the ceil(a n) keys of highest logit among
the n cached-and-new ones (``attention`` a, default 0.3): it changes the outputs and
the compute, never the memory; the cache budget defaults to 10%. Stand-in: the
calibrated priors need real prompts; with priors all 1 the reliance-aware split is
HACK's class split.

On the hard instance the attention budget costs Bob nothing (his query C k_i ranks its
own key first) and the cache is HACK's: error rate (1 - f)/2 with f the kept fraction
of all rows (0.45 at 10%, 0.495 at 1%).
"""

from __future__ import annotations

import math

import numpy as np

from caches._eviction import fraction_option
from caches.entry import CacheEntry, EntryList
from caches.var.hack import HACKCache
from lowerbound.validation import InvalidArgument
from reduction.attention import attend, softmax_rows
from reduction.cache import CacheParams

__all__ = ["HACKPlusCache", "top_attention", "DEFAULT_ATTENTION", "DEFAULT_CACHE"]

DEFAULT_ATTENTION = 0.3
DEFAULT_CACHE = 0.1


def top_attention(queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                  fraction: float) -> np.ndarray:
    """Each query's softmax over its ceil(fraction n) highest logits only.

    >>> q = np.array([[1.0, 0.0]]); k = np.array([[2.0, 0], [1, 0], [0, 0]])
    >>> v = np.array([[1.0], [0.0], [5.0]])
    >>> bool(np.allclose(top_attention(q, k, v, 0.5), [[np.e / (np.e + 1)]]))
    True
    """
    n = keys.shape[0]
    m = max(1, math.ceil(fraction * n - 1e-9))
    if m >= n:
        return attend(queries, keys, values)
    logits = np.asarray(queries, dtype=np.float64) @ np.asarray(keys, dtype=np.float64).T
    top = np.argpartition(-logits, m - 1, axis=1)[:, :m]
    weights = np.zeros_like(logits)
    np.put_along_axis(weights, top, softmax_rows(np.take_along_axis(logits, top, 1)), 1)
    return weights @ np.asarray(values, dtype=np.float64)


class HACKPlusCache(HACKCache):
    """HACK's cache with a separate attention budget (HACK++, paper abstract).

    Options: HACK's (``budget`` default 0.1 here), ``attention`` (fraction of the keys
    each query attends to, in (0, 1], default 0.3).
    """

    TAG = b"HKP1"
    NAME = "hackpp"
    OPTIONS = HACKCache.OPTIONS | {"attention"}
    DEFAULT_BUDGET = DEFAULT_CACHE

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        super()._configure(params, rng)
        self.attention = fraction_option(params, "attention", DEFAULT_ATTENTION)
        if self.attention <= 0.0:
            raise InvalidArgument(f"attention={self.attention!r} must be a fraction in (0, 1]")

    def _attend(self, slot: int, queries: np.ndarray, keys: np.ndarray,
                values: np.ndarray) -> np.ndarray:
        return top_attention(queries, keys, values, self.attention)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "hackpp",
    CacheEntry(
        HACKPlusCache,
        {},
        "HACK + a separate attention budget, cache 10% (HACK++; rules partly ours)",
        budgeted=True,
    ),
)
