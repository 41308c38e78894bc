"""KeyDiff: keep the tokens whose keys differ most from the mean key direction.

Purpose: the key-similarity eviction of Park et al. 2025 ("KeyDiff: Key Similarity-Based
KV Cache Eviction for Long-Context LLM Inference in Resource-Constrained Environments",
arXiv 2504.15364) as kvpress ports it: NVIDIA/kvpress ``kvpress/presses/keydiff_press.py``
L45-46 (at commit 8bb29b9), with the pruning of ``scorer_press.py`` L92-95.

Main statement: with the anchor a = mean_i k_i / ||k_i|| over the candidates (the kept
rows and the new scale's), token i scores s_i = -cos(k_i, a); the B highest are kept
(B = ``budget_tokens(budget, L_{K-1})``, ties to the more recent token). The score
reads the keys only, never the values or the queries.

On the hard instance the keys are random sign vectors: every key has norm 1, the anchor
is their mean, and cos(k_i, a) = (1 + sum_{j != i} <k_i, k_j>) / (n ||a||) varies from
token to token, so the order is not a tie (unlike K-norm's) but it is value-blind:
error rate ~ (1 - B/L)/2.

Ported exactly: the anchor (``F.normalize`` with its eps 1e-12 on the norm), the score
(``F.cosine_similarity`` with its eps 1e-8 on each norm), the top-B selection. Our
choices: the rule runs after every scale on the kept rows plus the new block (the paper's
block-wise iteration, kvpress ``BlockPress``), one head per instance (the multi-head
runs wrap it per head, so every head keeps the same count, as kvpress's ScorerPress
does).
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache
from caches.entry import CacheEntry, EntryList

__all__ = ["KeyDiffCache", "keydiff_scores"]

NORMALIZE_EPS = 1e-12  # torch.nn.functional.normalize's default
COSINE_EPS = 1e-8  # torch.nn.functional.cosine_similarity's default


def keydiff_scores(keys: np.ndarray) -> np.ndarray:
    """-cos(k_i, mean_j k_j / ||k_j||) for every row (kvpress keydiff_press.py L45-46).

    >>> keydiff_scores(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])).round(4).tolist()
    [-0.7071, -0.7071, -1.0]
    """
    k = np.asarray(keys, dtype=np.float64)
    norms = np.linalg.norm(k, axis=1)
    anchor = (k / np.maximum(norms, NORMALIZE_EPS)[:, None]).mean(axis=0)
    denom = np.maximum(norms, COSINE_EPS) * max(float(np.linalg.norm(anchor)), COSINE_EPS)
    return -(k @ anchor) / denom


class KeyDiffCache(EvictionCache):
    """Keys least similar to the mean key direction kept (KeyDiff, via kvpress).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count).
    """

    TAG = b"KDF1"
    NAME = "keydiff"

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        return keydiff_scores(keys)


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "keydiff",
    CacheEntry(
        KeyDiffCache,
        {},
        "keys least like the mean key direction kept (KeyDiff 2025, kvpress)",
        budgeted=True,
    ),
)
