"""CriticalKV: two-stage selection, the second stage weighted by ||W_o v||_1.

Purpose: the output-perturbation criterion of Feng et al. 2025 ("Identify Critical KV
Cache in LLM Inference from an Output Perturbation Perspective", arXiv 2502.03805) as
NVIDIA/kvpress implements it: ``kvpress/presses/criticalkv_press.py`` (commit 8bb29b9)
L37-44 (defaults), L57-76 (||W_o v||_1), L78-92 (the two stages).

Main statement: with a base score s (any scorer of caches/_scorers.py; SnapKV by
default) and B = ``budget_tokens(budget, L_{K-1})`` kept tokens, stage 1 keeps the
floor(B * first_stage_ratio) best by s; stage 2 ranks the others by

    (s_i + eps) * ||W_o v_i||_1,   eps = 1e-4,

and the B highest overall are kept (ties to the more recent token).

On the hard instance Alice's queries are zero, so SnapKV's votes tie: stage 1 keeps the
newest tokens, stage 2 the heaviest value rows among the rest. As for expected attention
(value norms), the choice reads only the rows' weights and Bob guesses an evicted row
without it: error rate ~ (1 - B/L)/2.

Ported exactly: the two stages, the counts (``int`` of the products), eps and the
default first_stage_ratio 0.5. Stand-in: W_o is the layer's output projection, learned
weights that kvbound's head does not have; we take W_o = I_d (one head, the identity
output projection), so ||W_o v||_1 = ||v||_1 = weight(x_i) on the hard instance.
CriticalAdaKV (the same stages with AdaKV's head-wise budgets, L118-194) is not ported
here; caches/adakv.py is the head-wise allocator. One head per instance.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, fraction_option, keep_top
from caches._scorers import Scored, scorer_option
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["CriticalKVCache", "critical_scores", "EPSILON", "FIRST_STAGE_RATIO"]

EPSILON = 1e-4
FIRST_STAGE_RATIO = 0.5


def critical_scores(base: np.ndarray, values: np.ndarray, positions: np.ndarray,
                    n_kept: int, first_stage_ratio: float = FIRST_STAGE_RATIO,
                    epsilon: float = EPSILON) -> np.ndarray:
    """Stage 1: the int(n_kept * ratio) best base scores forced (+inf); stage 2:
    (s + eps) * ||v||_1 for the rest (W_o = I; kvpress criticalkv_press.py L78-92).

    >>> critical_scores(np.array([3.0, 1.0, 2.0]), np.array([[0.0, 1], [1, 1], [0, 0]]),
    ...                 np.arange(3), 2).tolist()
    [inf, 2.0002, 0.0]
    """
    s = np.asarray(base, dtype=np.float64)
    stage1 = keep_top(s, positions, int(n_kept * first_stage_ratio))
    out = (s + epsilon) * np.abs(np.asarray(values, dtype=np.float64)).sum(axis=1)
    out[stage1] = np.inf
    return out


class CriticalKVCache(EvictionCache):
    """Base scores, then (s + eps) * ||v||_1 for the second half (CriticalKV, via kvpress).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count),
    ``scorer`` (the base score: snapkv (default), expected-attention, keydiff, knorm,
    lagkv), ``first_stage`` (fraction of B chosen by the base score alone, default 0.5).
    """

    TAG = b"CRT1"
    NAME = "criticalkv"
    OPTIONS = frozenset({"budget", "scorer", "first_stage"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.scorer = scorer_option(params.option("scorer"))
        self.first_stage = fraction_option(params, "first_stage", FIRST_STAGE_RATIO)

    def _score_candidates(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                          positions: np.ndarray, n_old: int) -> np.ndarray:
        target = self._target(n_old, positions.size - n_old)
        base = self.scorer(Scored(queries, keys, values, positions, n_old, target))
        return critical_scores(base, values, positions, target, self.first_stage)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "criticalkv",
    CacheEntry(
        CriticalKVCache,
        {},
        "base score, then (s + eps) ||W_o v||_1, W_o = I (CriticalKV, kvpress)",
        budgeted=True,
    ),
)
