"""Public keys of the reduction: random sign vectors sigma_i / sqrt(d), near-orthogonal.

Purpose: the embedding step of docs/theorem.md#reduction and Lemma L1. Keys are public
randomness, independent of Alice's bits, so checking a sampled family directly and
repairing it (resampling the rows involved in a bad pair) changes nothing in the bound.

Main statement (L1): if d >= d_min(L, eps), a family with max_{i != j} <k_i, k_j> <= eps
exists; we sample one and certify it by computing every inner product.

References: arXiv 2503.14881 (VAR), Johnson & Lindenstrauss (1984).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lowerbound.jl import d_min, d_min_exact_note
from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval

__all__ = ["KeyFamily", "sample_keys", "replay_keys", "max_inner_product", "bad_rows"]

_BLOCK = 1024
_COLUMNS = 4096


@dataclass(frozen=True, eq=False)
class KeyFamily:
    """L sign vectors (int8, L x d) with their certified max off-diagonal inner product.

    ``repairs`` (sampled families) lists, per repair round, the rows redrawn: with the
    generator it is enough to rebuild the family without the Gram pass
    (:func:`replay_keys`), which is how the worker processes get it.
    """

    signs: np.ndarray
    eps: float
    max_inner_product: float
    rounds: int
    repairs: tuple[tuple[int, ...], ...] = ()

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


def _column_maxima(signs: np.ndarray, block: int = _BLOCK, columns: int = _COLUMNS
                   ) -> np.ndarray:
    """c_j = max_{i<j} <sigma_i, sigma_j> for every j (-inf for j = 0), in ONE pass.

    Only the blocks on or above the diagonal are formed (never the L x L Gram): the block
    of rows [a, a + b) against columns [a, L), at most b x ``columns`` entries at a time.
    Products of +-1 vectors are integers below 2^24, exact in float32 in any order of
    summation, so the result does not depend on BLAS threads.
    """
    s = np.ascontiguousarray(signs, dtype=np.float32)
    n = s.shape[0]
    best = np.full(n, -np.inf, dtype=np.float32)
    g = np.empty((block, columns), dtype=np.float32)
    col_best = np.empty(columns, dtype=np.float32)
    for a in range(0, n, block):
        rows = s[a : a + block]
        b = rows.shape[0]
        for c in range(a, n, columns):
            cols = s[c : c + columns]
            w = cols.shape[0]
            gb = g[:b, :w]
            np.matmul(rows, cols.T, out=gb)
            if c < a + b:  # the tile meets the diagonal: keep i < j only
                gb[(c + np.arange(w))[None, :] <= (a + np.arange(b))[:, None]] = -np.inf
            np.max(gb, axis=0, out=col_best[:w])
            np.maximum(best[c : c + w], col_best[:w], out=best[c : c + w])
    return best


def _refresh_maxima(signs: np.ndarray, best: np.ndarray, rows: np.ndarray,
                    old_rows: np.ndarray) -> None:
    """Update ``best`` (column maxima) in place after ``signs[rows]`` replaced ``old_rows``.

    Only pairs with a replaced row changed. Column j (not replaced) keeps its maximum
    unless that maximum may have come from a replaced row (then it is recomputed), and
    takes the new pairs (r, j), r < j, into account; a replaced column is recomputed.
    """
    s = signs.astype(np.float32)
    n = s.shape[0]
    cols = np.arange(n)
    old = old_rows.astype(np.float32) @ s.T  # <sigma_r^old, sigma_j> (j's rows may be new;
    old_gain = _masked_max(old, rows, cols)    # only j outside ``rows`` are used below)
    stale = np.flatnonzero(np.isfinite(old_gain) & (best <= old_gain))
    redo = np.union1d(rows, stale)
    g = s[redo] @ s.T  # full rows of the Gram for the columns recomputed (few)
    g[cols[None, :] >= redo[:, None]] = -np.inf  # keep i < j (column j = redo row)
    best[redo] = g.max(axis=1) if n else best[redo]
    new = s[rows] @ s.T
    keep = np.setdiff1d(cols, redo)
    if keep.size:
        best[keep] = np.maximum(best[keep], _masked_max(new, rows, cols)[keep])


def _masked_max(g: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """max over r in ``rows`` with r < j of g[r, j], per column j (-inf if none)."""
    masked = np.where(rows[:, None] < cols[None, :], g, -np.inf)
    return masked.max(axis=0) if rows.size else np.full(cols.size, -np.inf)


def max_inner_product(signs: np.ndarray) -> float:
    """max_{i<j} <sigma_i, sigma_j> / d for a sign matrix (-inf for a single row).

    Notes: the quantity Lemma L1 (docs/theorem.md#l1) bounds by eps; computed exactly,
    block by block, upper triangle only.

    >>> max_inner_product(np.array([[1, 1], [1, -1], [-1, -1]], dtype=np.int8))
    0.0
    """
    signs = np.asarray(signs)
    return float(_column_maxima(signs).max(initial=-np.inf)) / signs.shape[1]


def bad_rows(signs: np.ndarray, eps: float) -> np.ndarray:
    """Rows j that are the later member of some pair i < j with <sigma_i, sigma_j> > eps*d."""
    signs = np.asarray(signs)
    return np.flatnonzero(_column_maxima(signs) > eps * signs.shape[1]).astype(np.int64)


def _draw(rng: np.random.Generator, rows: int, d: int) -> np.ndarray:
    """``rows`` uniform sign vectors (int8): the sampler's one way of drawing."""
    return (rng.integers(0, 2, size=(rows, d), dtype=np.int8) * 2 - 1).astype(np.int8)


def replay_keys(
    n_keys: int,
    d: int,
    eps: float,
    rng: np.random.Generator | int | None,
    repairs: tuple[tuple[int, ...], ...],
    max_inner_product: float,
) -> KeyFamily:
    """The family :func:`sample_keys` returned for the same generator, rebuilt from its
    repair log (the initial draw, then each round's rows redrawn) without the Gram pass.

    The certificate ``max_inner_product`` is the sampler's, computed once by the verifier
    (docs/theorem.md#reduction); here only its form is checked: rows in range, strictly
    increasing within a round, and max <<sigma_i, sigma_j>> d an integer <= eps d. A log
    that does not belong to the generator gives another family, never an uncertified
    one passed off as this one: the verifier compares against its own.

    >>> fam = sample_keys(300, 16, 0.75, rng=4, require_d_min=False)
    >>> again = replay_keys(300, 16, 0.75, 4, fam.repairs, fam.max_inner_product)
    >>> bool((again.signs == fam.signs).all()), again.rounds == fam.rounds
    (True, True)
    """
    rng = np.random.default_rng(rng)
    n = check_int_at_least(n_keys, "L", 1)
    dim = check_int_at_least(d, "d", 1)
    e = float(check_interval(eps, "eps", 0, 1))
    top = max_inner_product * dim
    if not (math.isfinite(top) and top == round(top) and top <= e * dim) and n > 1:
        raise InvalidArgument(f"a key certificate of max inner product {max_inner_product!r} is "
                              f"not an integer over d={dim} at most eps={e:g}")
    signs = _draw(rng, n, dim)
    for rows in repairs:
        r = np.asarray(rows, dtype=np.int64)
        if r.size == 0 or r[0] < 0 or r[-1] >= n or (r.size > 1 and (np.diff(r) <= 0).any()):
            raise InvalidArgument(f"a key repair round must list rows of 0..{n - 1} in "
                                  "increasing order")
        signs[r] = _draw(rng, r.size, dim)
    return KeyFamily(signs, e, float(max_inner_product), len(repairs) + 1, tuple(repairs))


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
            raise InvalidArgument(
                f"L={n} and eps={e:g} need d >= {need} (Hoeffding d_min; "
                f"{d_min_exact_note(n, e)}), got d={dim}; raise d or eps"
            )
    signs = _draw(rng, n, dim)
    best = _column_maxima(signs)  # the one full pass; repairs update it incrementally
    repairs: list[tuple[int, ...]] = []
    for rounds in range(1, rounds_allowed + 1):
        rows = np.flatnonzero(best > e * dim)
        if rows.size == 0:
            return KeyFamily(signs, e, float(best.max(initial=-np.inf)) / dim, rounds,
                             tuple(repairs))
        old = signs[rows].copy()
        signs[rows] = _draw(rng, rows.size, dim)
        repairs.append(tuple(int(r) for r in rows))
        _refresh_maxima(signs, best, rows, old)
    raise InvalidArgument(
        f"no family of L={n} sign keys with max inner product <= eps={e:g} found in "
        f"d={dim} after {rounds_allowed} repair rounds; d_min(L, eps) = {d_min(n, e)} "
        f"(Hoeffding), {d_min_exact_note(n, e)}: raise d or eps"
    )
