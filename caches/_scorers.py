"""Token scorers shared by the allocating caches (AdaKV, CriticalKV, PyramidKV): private.

Purpose: kvpress's AdaKVPress and CriticalKVPress wrap "any ScorerPress"
(NVIDIA/kvpress ``kvpress/presses/adakv_press.py`` L35-40, ``criticalkv_press.py``
L37-42, commit 8bb29b9). Here a scorer is a function of one head's candidates (the kept
rows and the new scale's, with the scale's queries) returning one finite score per
candidate, higher = keep; forced rows (windows, sinks) score max + 1 as in kvpress.
:data:`SCORERS` names the ones an allocating cache may wrap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from caches._eviction import attention_weights
from caches.expected_attention import expected_attention_scores
from caches.keydiff import keydiff_scores
from caches.lagkv import lagkv_scores
from caches.snapkv import pool_votes
from lowerbound.validation import InvalidArgument

__all__ = ["Scored", "SCORERS", "snapkv_press_scores", "scorer_option"]

SNAPKV_WINDOW = 64  # kvpress snapkv_press.py L38 and pyramidkv_press.py L43
SNAPKV_KERNEL = 5  # kvpress snapkv_press.py L39


@dataclass(frozen=True)
class Scored:
    """One head's candidates: the scale's queries (float64), keys and values (float16,
    kept rows first), their positions, how many were kept before, the head's capacity."""

    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    positions: np.ndarray
    n_old: int
    capacity: int

    @property
    def query_positions(self) -> np.ndarray:
        """Positions of the scale's queries (the block follows the kept rows)."""
        start = int(self.positions[self.n_old]) if self.positions.size > self.n_old else 0
        return start + np.arange(self.queries.shape[0])


def snapkv_press_scores(queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                        window: int, kernel: int = SNAPKV_KERNEL) -> np.ndarray:
    """kvpress's SnapKV score (snapkv_press.py L95-103): the mean over the last ``window``
    queries of the softmax weights, average-pooled (kernel, zero padding counted), the
    ``window`` newest tokens max + 1.

    >>> snapkv_press_scores(np.zeros((2, 2)), np.eye(2)[[0, 1, 0, 1]], np.arange(4), 1, 3)
    ... # doctest: +NORMALIZE_WHITESPACE
    array([0.16666667, 0.25      , 0.16666667, 1.25      ])
    """
    w = min(int(window), positions.size)
    observers = queries[-min(w, queries.shape[0]):] if w else queries[:0]
    order = np.argsort(positions, kind="stable")
    scores = np.empty(positions.size)
    prefix = order[: positions.size - w]
    if observers.shape[0]:
        votes = attention_weights(observers, keys).mean(axis=0)
    else:
        votes = np.zeros(positions.size)
    pooled = pool_votes(votes[prefix], kernel, "avg") if prefix.size else np.zeros(0)
    scores[prefix] = pooled
    scores[order[positions.size - w:]] = (pooled.max() if pooled.size else 0.0) + 1.0
    return scores


def _snapkv(c: Scored) -> np.ndarray:
    return snapkv_press_scores(c.queries, c.keys, c.positions, min(SNAPKV_WINDOW, c.capacity))


def _expected_attention(c: Scored) -> np.ndarray:
    return expected_attention_scores(c.queries, c.keys, c.values, c.positions,
                                     c.query_positions)


def _keydiff(c: Scored) -> np.ndarray:
    return keydiff_scores(c.keys)


def _knorm(c: Scored) -> np.ndarray:
    return -np.linalg.norm(c.keys.astype(np.float64), axis=1)


def _lagkv(c: Scored) -> np.ndarray:
    order = np.argsort(c.positions, kind="stable")
    scores = np.empty(c.positions.size)
    scores[order] = lagkv_scores(c.keys[order], c.values[order])
    return scores


#: The scorers an allocating cache may wrap (option ``scorer``), kvpress defaults each.
SCORERS: dict[str, Callable[[Scored], np.ndarray]] = {
    "snapkv": _snapkv,
    "expected-attention": _expected_attention,
    "keydiff": _keydiff,
    "knorm": _knorm,
    "lagkv": _lagkv,
}


def scorer_option(value: object, default: str = "snapkv") -> Callable[[Scored], np.ndarray]:
    """The scorer named by an option value (None: ``default``)."""
    name = default if value is None else value
    if not isinstance(name, str) or name not in SCORERS:
        raise InvalidArgument(f"scorer={value!r}; choose one of {', '.join(SCORERS)}")
    return SCORERS[name]
