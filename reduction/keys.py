"""Public keys of the reduction: random sign vectors sigma_i / sqrt(d), near-orthogonal.

Purpose: the embedding step of docs/theorem.md#reduction and Lemma L1. Keys are public
randomness, independent of Alice's bits, so checking a sampled family directly and
repairing it (resampling the rows involved in a bad pair) changes nothing in the bound.

Main statement (L1): if d >= d_min(L, eps), a family with max_{i != j} <k_i, k_j> <= eps
exists; we sample one and certify it by computing every inner product.

References: arXiv 2503.14881 (VAR), Johnson & Lindenstrauss (1984).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lowerbound.jl import d_min, d_min_exact_note
from lowerbound.validation import check_int_at_least, check_interval

__all__ = ["KeyFamily", "sample_keys", "max_inner_product", "bad_rows"]

_BLOCK = 2048


@dataclass(frozen=True, eq=False)
class KeyFamily:
    """L sign vectors (int8, L x d) with their certified max off-diagonal inner product."""

    signs: np.ndarray
    eps: float
    max_inner_product: float
    rounds: int

    @property
    def keys(self) -> np.ndarray:
        """k_i = sigma_i / sqrt(d), unit-norm float64 rows."""
        return self.signs.astype(np.float64) / np.sqrt(self.signs.shape[1])

    @property
    def n_keys(self) -> int:
        return int(self.signs.shape[0])

    @property
    def d(self) -> int:
        return int(self.signs.shape[1])


def _gram_blocks(signs: np.ndarray, block: int = _BLOCK):  # type: ignore[no-untyped-def]
    """Yield (row offset, block of sigma_i . sigma_j for j > i only) in bounded memory."""
    s = signs.astype(np.float32)  # +-1 sums up to d < 2^24 are exact in float32
    n = s.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        g = s[start:stop] @ s.T
        rows = np.arange(start, stop)[:, None]
        cols = np.arange(n)[None, :]
        g[cols <= rows] = -np.inf  # keep the strict upper triangle
        yield start, g


def max_inner_product(signs: np.ndarray) -> float:
    """max_{i<j} <sigma_i, sigma_j> / d for a sign matrix (-inf for a single row).

    Notes: the quantity Lemma L1 bounds by eps; computed exactly, block by block.

    >>> max_inner_product(np.array([[1, 1], [1, -1], [-1, -1]], dtype=np.int8))
    0.0
    """
    signs = np.asarray(signs)
    d = signs.shape[1]
    best = -np.inf
    for _, g in _gram_blocks(signs):
        if g.size:
            best = max(best, float(g.max()))
    return best / d


def bad_rows(signs: np.ndarray, eps: float) -> np.ndarray:
    """Rows j that are the later member of some pair i < j with <sigma_i, sigma_j> > eps*d."""
    d = signs.shape[1]
    bad: list[np.ndarray] = []
    for _, g in _gram_blocks(signs):
        cols = np.nonzero((g > eps * d).any(axis=0))[0]
        if cols.size:
            bad.append(cols)
    if not bad:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(bad))


def sample_keys(
    n_keys: int,
    d: int,
    eps: float,
    rng: np.random.Generator | int | None = None,
    *,
    max_rounds: int = 100,
    require_d_min: bool = True,
) -> KeyFamily:
    """Sample L sign keys in dimension d with every <k_i, k_j> <= eps (i != j), certified.

    Rows of offending pairs are resampled until none is left (at most ``max_rounds``
    rounds). With ``require_d_min`` (the theorem's regime) d below the Hoeffding
    d_min(L, eps) is rejected up front.

    Notes: Lemma L1 (docs/theorem.md#l1); the family is independent of Alice's bits.

    >>> fam = sample_keys(8, 64, 0.75, rng=1)
    >>> fam.max_inner_product <= 0.75
    True
    """
    rng = np.random.default_rng(rng)
    n = check_int_at_least(n_keys, "L", 1)
    dim = check_int_at_least(d, "d", 1)
    e = float(check_interval(eps, "eps", 0, 1))
    rounds_allowed = check_int_at_least(max_rounds, "max_rounds", 1)
    if require_d_min:
        need = d_min(n, e)
        if dim < need:
            raise ValueError(
                f"L={n} and eps={e:g} need d >= {need} (Hoeffding d_min; "
                f"{d_min_exact_note(n, e)}), got d={dim}; raise d or eps"
            )
    signs = (rng.integers(0, 2, size=(n, dim), dtype=np.int8) * 2 - 1).astype(np.int8)
    for rounds in range(1, rounds_allowed + 1):
        rows = bad_rows(signs, e)
        if rows.size == 0:
            return KeyFamily(signs, e, max_inner_product(signs), rounds)
        signs[rows] = rng.integers(0, 2, size=(rows.size, dim), dtype=np.int8) * 2 - 1
    raise ValueError(
        f"no family of L={n} sign keys with max inner product <= eps={e:g} found in "
        f"d={dim} after {rounds_allowed} repair rounds; d_min(L, eps) = {d_min(n, e)} "
        f"(Hoeffding), {d_min_exact_note(n, e)}: raise d or eps"
    )
