"""The combinatorial number system: s-subsets of range(d) <-> integers in [0, C(d, s)).

Purpose: variant S2 of the sparsity priors (docs/theorem.md#s2). An s-sparse value row
is determined by its support, an s-subset of the d coordinates; Alice writes
floor(log2 C(d, s)) bits into each row by choosing the support of that rank, and the
support-storing cache keeps each row's rank in ceil(log2 C(d, s)) bits.

Main statement: the colex rank of a sorted subset c_1 < ... < c_s,
rank = C(c_1, 1) + C(c_2, 2) + ... + C(c_s, s), is a bijection from the s-subsets of
range(d) onto range(C(d, s)) (Knuth, TAOCP 4A, 7.2.1.3, Theorem L). Unranking is greedy:
c_s is the largest c with C(c, s) <= rank, then recurse on rank - C(c_s, s) and s - 1.

All arithmetic is on Python integers (C(128, 64) > 2^124 does not fit a machine word).

References: D. E. Knuth, The Art of Computer Programming 4A, section 7.2.1.3;
D. H. Lehmer (1964), the combinatorial number system.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence

import numpy as np

from lowerbound.sparsity import support_rank_bits
from lowerbound.validation import check_int_at_least

__all__ = ["rank_subset", "unrank_subset", "rank_rows", "unrank_rows", "rank_width"]


@functools.lru_cache(maxsize=32)
def _columns(d: int) -> tuple[tuple[int, ...], ...]:
    """cols[i][c] = C(c, i) for 0 <= c <= d, 0 <= i <= d (Pascal's triangle, exact)."""
    rows = [[1] + [0] * d]
    for _ in range(d):
        prev = rows[-1]
        rows.append([1] + [prev[i - 1] + prev[i] for i in range(1, d + 1)])
    return tuple(tuple(rows[c][i] for c in range(d + 1)) for i in range(d + 1))


def rank_width(d: int, s: int) -> int:
    """ceil(log2 C(d, s)): the bits that hold any rank of an s-subset of range(d) -- the
    one definition is :func:`lowerbound.sparsity.support_rank_bits` (docs/theorem.md#s2).

    >>> rank_width(64, 1), rank_width(6, 2), rank_width(8, 0)
    (6, 4, 0)
    """
    return support_rank_bits(max(d, 1), s) if d or s else 0


def rank_subset(support: Sequence[int]) -> int:
    """Colex rank sum_i C(c_i, i) of a strictly increasing sequence of non-negative ints.

    >>> rank_subset((0, 1, 2)), rank_subset((0, 1, 3)), rank_subset(())
    (0, 1, 0)
    """
    rank, prev = 0, -1
    d = (max(support) + 1) if len(support) else 0
    cols = _columns(max(d, len(support)))
    for i, c in enumerate(support, start=1):
        if c <= prev:
            raise ValueError(f"support {tuple(support)} must be strictly increasing")
        rank += cols[i][c]
        prev = c
    return rank


def unrank_subset(rank: int, s: int, d: int) -> tuple[int, ...]:
    """The s-subset of range(d) of colex rank ``rank`` (inverse of :func:`rank_subset`).

    >>> unrank_subset(1, 3, 8), unrank_subset(55, 3, 8)
    ((0, 1, 3), (5, 6, 7))
    """
    d = check_int_at_least(d, "d", 0)
    s = check_int_at_least(s, "s", 0)
    cols = _columns(d)
    if s > d or not 0 <= rank < cols[s][d]:
        raise ValueError(f"rank={rank} must lie in [0, C(d={d}, s={s}))")
    out = []
    for i in range(s, 0, -1):
        c = bisect.bisect_right(cols[i], rank) - 1  # largest c with C(c, i) <= rank
        out.append(c)
        rank -= cols[i][c]
    return tuple(reversed(out))


def rank_rows(mask: np.ndarray) -> list[int]:
    """The colex rank of each row's support (rows of a bool or 0/1 matrix).

    >>> rank_rows(np.array([[1, 1, 0, 0], [0, 0, 1, 1]]))
    [0, 5]
    """
    m = np.asarray(mask) != 0
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (rows x d), got shape {m.shape}")
    cols = _columns(m.shape[1])
    out = []
    for row in m:
        rank = 0
        for i, c in enumerate(np.flatnonzero(row).tolist(), start=1):
            rank += cols[i][c]
        out.append(rank)
    return out


def unrank_rows(ranks: Iterable[int], weights: Iterable[int], d: int) -> np.ndarray:
    """0/1 uint8 matrix whose row j is the support of colex rank ranks[j], |support| = weights[j].

    >>> unrank_rows([0, 5], [2, 2], 4).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 1]]
    """
    ranks = list(ranks)
    weights = list(weights)
    if len(ranks) != len(weights):
        raise ValueError(f"{len(ranks)} ranks but {len(weights)} weights")
    out = np.zeros((len(ranks), d), dtype=np.uint8)
    for j, (rank, s) in enumerate(zip(ranks, weights)):
        out[j, list(unrank_subset(int(rank), int(s), d))] = 1
    return out
