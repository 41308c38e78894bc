"""AdaKV: the heads of a layer share its budget; the lowest scores across heads go first.

Purpose: the head-wise adaptive budget of Feng et al. 2024 ("Ada-KV: Optimizing KV Cache
Eviction by Adaptive Budget Allocation for Efficient LLM Inference", arXiv 2407.11550) as
NVIDIA/kvpress implements it: ``kvpress/presses/adakv_press.py`` (commit 8bb29b9) L35-36
(alpha_safeguard 0.2), L53-77 (the selection). kvpress only masks the pruned rows
(``module.masked_key_indices``, L73-77: the tensors keep their size); here the message
holds the kept rows only, so the memory is the real one.

Main statement: layer l keeps R_l rows (R split evenly over the D layers). With
n = floor(R_l / H) the per-head nominal count, each head first protects its
floor(alpha * n) best tokens (scored +inf); then the R_l best of the layer's flattened
(head, token) scores are kept, so a head whose tokens score high keeps more than n and
one whose tokens score low keeps fewer. Ties: the more recent token, then the lower head.

On the hard instance Alice's queries are zero: SnapKV's votes (the default base score)
tie within each head, so the allocation is decided by the tie rule and every head keeps
about n of its newest tokens; with a value-aware base score (expected-attention) the
heads with heavier rows keep more. Either way every (layer, head, token) row carries d
fresh bits: error rate (1 - f)/2 with f the kept fraction of all rows.

Ported exactly: alpha_safeguard 0.2, n_safe = int(n_kept * alpha), the joint pruning of
H (n - n_kept) rows per layer. Our choices: the layer budgets split R evenly (kvpress
gives every layer the same compression ratio); the rule runs after every scale on the
kept rows plus the new block, whose per-head counts may differ (kvpress starts from equal
counts); the base scorers are those of caches/_scorers.py with kvpress's defaults.
"""

from __future__ import annotations

import numpy as np

from caches._eviction import fraction_option, keep_top
from caches._heads import Candidates, HeadsEvictionCache, joint_top, split_evenly
from caches._scorers import Scored, scorer_option
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["AdaKVCache", "ALPHA_SAFEGUARD"]

ALPHA_SAFEGUARD = 0.2


class AdaKVCache(HeadsEvictionCache):
    """Head-wise budgets within each layer, lowest scores pruned jointly (AdaKV, kvpress).

    Options: ``budget`` (kept fraction of all D*H*L_{K-1} rows, or a row count),
    ``scorer`` (snapkv (default), expected-attention, keydiff, knorm, lagkv),
    ``alpha`` (the safeguard fraction in [0, 1], default 0.2).
    """

    TAG = b"ADA1"
    NAME = "adakv"
    OPTIONS = frozenset({"budget", "scorer", "alpha"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.scorer = scorer_option(params.option("scorer"))
        self.alpha = fraction_option(params, "alpha", ALPHA_SAFEGUARD)
        self.layer_rows = split_evenly(self.rows, self.layers)

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        keep: list[np.ndarray] = []
        for layer in range(self.layers):
            slots = range(layer * self.heads, (layer + 1) * self.heads)
            sizes = [cand.positions[s].size for s in slots]
            budget = int(self.layer_rows[layer])
            if budget >= sum(sizes):
                keep.extend(np.arange(n) for n in sizes)
                continue
            nominal = budget // self.heads
            n_safe = int(nominal * self.alpha)
            scores = []
            for s in slots:
                c = Scored(queries[s], cand.keys[s], cand.values[s], cand.positions[s],
                           int(cand.n_old[s]), max(1, nominal))
                sc = np.asarray(self.scorer(c), dtype=np.float64)
                sc[keep_top(sc, c.positions, n_safe)] = np.inf
                scores.append(sc)
            keep.extend(joint_top(scores, [cand.positions[s] for s in slots], budget))
        return keep


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "adakv",
    CacheEntry(
        AdaKVCache,
        {},
        "a layer's heads share its budget, pruned jointly (AdaKV, kvpress)",
        budgeted=True,
    ),
)
