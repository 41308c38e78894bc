"""LagKV: score each partition of tokens against the min/max of the partition after it.

Purpose: the lag-relative eviction of Liang et al. 2025 ("LagKV: Lag-Relative Information
of the KV Cache Tells Which Tokens Are Important", arXiv 2504.04704) as NVIDIA/kvpress
implements it: ``kvpress/presses/lagkv_press.py`` (commit 8bb29b9) L40-43 (defaults),
L54-86 (the score), L88-97 (one partition against the next).

Main statement: with n candidates in position order, n_sink sinks and lag size g, if
n < n_sink + 2g nothing is scored (sinks 1, the rest increasing with position, so the
newest are kept). Otherwise the tokens after the sinks are cut into partitions of g; for
each partition but the last, with the next partition as reference and per channel its
min m_c and max M_c,

    u_i = softmax over the partition of std_c((x_{i,c} - m_c) / (M_c - m_c)),

computed for keys and for values and averaged; within its partition a token's score is
its rank / g (cross_scoring off). The sinks and the tail (the last partition and the
remainder) score 1 and are kept first; the B highest are kept, ties to the more recent.

On the hard instance the reference min/max are -1/sqrt(d), +1/sqrt(d) for keys and 0, 1
for values, so the normalised rows are 0/1 vectors and u_i depends only on how balanced
the signs of k_i and the bits of x_i are: the order reads the values' weights but not
which bits are set, and Bob still guesses an evicted row without it: error rate
~ (1 - B/L)/2.

Ported exactly: the defaults (n_sink 4, lag 128, cross_scoring off), the partitioning,
the normalisation, std (unbiased, as torch's), the softmax, the rank transform, the forced
sinks and tail. Our choices: a reference channel with M_c = m_c (kvpress divides by 0 and
gets NaN) contributes 0; ranks of equal scores follow position (a stable sort; torch's
is not); the rule runs after every scale on the kept rows plus the new block (positions
in order, gaps left by evictions ignored), one head per instance.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, int_option
from caches.entry import CacheEntry, EntryList
from reduction.attention import softmax_rows
from reduction.cache import CacheParams

__all__ = ["LagKVCache", "lagkv_scores", "partition_scores"]

DEFAULT_SINKS = 4
DEFAULT_LAG = 128


def partition_scores(states: np.ndarray) -> np.ndarray:
    """softmax over each partition of std_c of the rows normalised by the next partition's
    per-channel min and max; ``states`` is (partitions, lag, d), the result
    (partitions - 1, lag) (kvpress lagkv_press.py L88-97).

    >>> x = np.array([[[0.0, 2.0], [1.0, 1.0]], [[0.0, 0.0], [2.0, 2.0]]])
    >>> partition_scores(x).round(4).tolist()
    [[0.6698, 0.3302]]
    """
    x = np.asarray(states, dtype=np.float64)
    ref, cur = x[1:], x[:-1]
    lo = ref.min(axis=1, keepdims=True)
    span = ref.max(axis=1, keepdims=True) - lo
    safe = np.where(span > 0, span, 1.0)
    norm = np.where(span > 0, (cur - lo) / safe, 0.0)
    spread = norm.std(axis=2, ddof=1) if x.shape[2] > 1 else np.zeros(cur.shape[:2])
    return softmax_rows(spread)


def lagkv_scores(keys: np.ndarray, values: np.ndarray, n_sink: int = DEFAULT_SINKS,
                 lag: int = DEFAULT_LAG) -> np.ndarray:
    """LagKV's score of every row (in position order): sinks and tail 1, else rank / lag.

    >>> lagkv_scores(np.zeros((5, 2)), np.zeros((5, 2)), n_sink=1, lag=4).tolist()
    [1.0, 0.0, 0.25, 0.5, 0.75]
    """
    k = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    n, d = k.shape
    if n < n_sink + 2 * lag:
        scores = np.ones(n)
        if n > n_sink:
            scores[n_sink:] = np.arange(n - n_sink) / (n - n_sink)
        return scores
    end = n_sink + ((n - n_sink) // lag) * lag
    parts = ((end - n_sink) // lag, lag, d)
    u = (partition_scores(k[n_sink:end].reshape(parts))
         + partition_scores(v[n_sink:end].reshape(parts))) / 2
    ranks = u.argsort(axis=1, kind="stable").argsort(axis=1, kind="stable") / lag
    return np.concatenate([np.ones(n_sink), ranks.ravel(), np.ones(n - end + lag)])


class LagKVCache(EvictionCache):
    """Lag-relative key and value spread, ranked per partition (LagKV, via kvpress).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count), ``sinks``
    (default 4), ``lag`` (partition size, default 128).
    """

    TAG = b"LAG1"
    NAME = "lagkv"
    OPTIONS = frozenset({"budget", "sinks", "lag"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.sinks = int_option(params, "sinks", DEFAULT_SINKS, 0)
        self.lag = int_option(params, "lag", DEFAULT_LAG, 1)

    def _score_candidates(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                          positions: np.ndarray, n_old: int) -> np.ndarray:
        order = np.argsort(positions, kind="stable")
        scores = np.empty(positions.size)
        scores[order] = lagkv_scores(keys[order], values[order], self.sinks, self.lag)
        return scores


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "lagkv",
    CacheEntry(
        LagKVCache,
        {},
        "key/value spread against the next partition (LagKV 2025, kvpress)",
        budgeted=True,
    ),
)
