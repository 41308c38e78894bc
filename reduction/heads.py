"""The multi-head, multi-layer instance: every head's keys, values and queries at once.

Purpose: Corollary C2 as a run (docs/theorem.md#c2-run) and its allocation variant
(docs/theorem.md#alloc). A run on D layers of H heads has D * H heads, numbered
j = layer * H + head ("(layer, head) order"). Each head carries its own Index instance:
the bit matrix X^(j) (L' x d), its own key family (PublicParams.key_family(j)), and Bob's
queries C * k_i^(j). Alice's bits for the whole run are one ((D H - U) L', d) matrix, the
heads that carry bits stacked in (layer, head) order, so they cross the process boundary
as one instance does.

The allocation variant: ``unused_heads`` U > 0 heads, a public set drawn from the run's
key seed (the child of ``SeedSequence(key_seed)`` after the D * H children of the key
families), carry key 0 and value 0 in every row and no bits; Bob ignores them.

Functions: :func:`unused_head_set`, :func:`carrying_heads`, :func:`heads_cached_keys`
(D, H, L, d), :func:`heads_values` (Alice's values, (D, H, L, d)),
:func:`heads_bob_queries` (D, H, rows, d) for a list of carrier positions, and for the
verifier :func:`head_errors` and :func:`recomputed_max_abs_logit`.
"""

from __future__ import annotations

import functools

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction.public import PublicParams
from reduction.var_head import max_abs_logit

__all__ = ["unused_head_set", "carrying_heads", "carrying_or_one", "heads_cached_keys",
           "heads_values", "heads_bob_queries", "split_rows", "head_errors",
           "recomputed_max_abs_logit"]


@functools.lru_cache(maxsize=16)
def _unused(key_seed: int, n_heads: int, unused: int) -> tuple[int, ...]:
    if unused == 0:
        return ()
    child = np.random.SeedSequence(key_seed, spawn_key=(n_heads,))
    picked = np.random.default_rng(child).choice(n_heads, size=unused, replace=False)
    return tuple(sorted(int(j) for j in picked))


def unused_head_set(public: PublicParams) -> tuple[int, ...]:
    """The U heads (flat indices, sorted) with zero keys and values (docs/theorem.md#alloc).

    >>> from reduction.schedule import Schedule
    >>> p = PublicParams(Schedule.parse("var-256"), 64, 0.75, 0.25, 7, heads=4, layers=2,
    ...                  unused_heads=3)
    >>> s = unused_head_set(p); len(s), s == unused_head_set(p), all(0 <= j < 8 for j in s)
    (3, True, True)
    """
    return _unused(public.key_seed, public.n_heads, public.unused_heads)


def carrying_heads(public: PublicParams) -> np.ndarray:
    """The heads that carry bits (flat indices in (layer, head) order): all but the unused."""
    unused = set(unused_head_set(public))
    return np.array([j for j in range(public.n_heads) if j not in unused], dtype=np.int64)


def _grid(public: PublicParams, rows: int) -> np.ndarray:
    return np.zeros((public.layers, public.heads, rows, public.d))


def heads_cached_keys(public: PublicParams) -> np.ndarray:
    """(D, H, L, d): every carrying head's cached keys (PublicParams.cached_keys(j)), zero
    rows in the unused heads."""
    out = _grid(public, public.schedule.cached_tokens)
    for j in carrying_heads(public):
        out[divmod(int(j), public.heads)] = public.cached_keys(int(j))
    return out


def heads_values(public: PublicParams, bits: np.ndarray) -> np.ndarray:
    """(D, H, L, d): Alice's values, rows of X^(j) in the first L' positions of carrying
    head j, zero everywhere else. ``bits`` is the ((D H - U) L', d) matrix of the run."""
    x = np.asarray(bits)
    lp, d = public.n_carriers, public.d
    if x.shape != (public.bit_rows, d):
        raise InvalidArgument(f"Alice's bits have shape {x.shape}, expected "
                              f"({public.bit_rows}, {d}): L'={lp} rows for each of the "
                              f"{public.bit_rows // lp} heads carrying bits")
    out = _grid(public, public.schedule.cached_tokens)
    per_head = public.values(x).reshape(-1, lp, d)
    for row, j in enumerate(carrying_heads(public)):
        out[divmod(int(j), public.heads)][:lp] = per_head[row]
    return out


def heads_bob_queries(public: PublicParams, positions: np.ndarray) -> np.ndarray:
    """(D, H, len(positions), d): Bob's queries for these carrier positions in every
    carrying head (PublicParams.bob_queries(positions, j)), zero rows in unused heads."""
    pos = np.asarray(positions, dtype=np.int64)
    out = _grid(public, pos.size)
    for j in carrying_heads(public):
        out[divmod(int(j), public.heads)] = public.bob_queries(pos, int(j))
    return out


def split_rows(public: PublicParams, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of Alice's stacked bit matrix as (flat head index, carrier position).

    >>> from reduction.schedule import Schedule
    >>> p = PublicParams(Schedule.parse("var-256"), 64, 0.75, 0.25, 7, heads=2)
    >>> [a.tolist() for a in split_rows(p, np.array([0, 423, 424, 847]))]
    [[0, 0, 1, 1], [0, 423, 0, 423]]
    """
    r = np.asarray(rows, dtype=np.int64)
    stacked, position = np.divmod(r, public.n_carriers)
    return carrying_heads(public)[stacked], position


def carrying_or_one(public: PublicParams) -> np.ndarray:
    """The heads carrying bits; the one head (index 0) of a one-head run."""
    if not public.multi_head:
        return np.zeros(1, dtype=np.int64)
    return carrying_heads(public)


def recomputed_max_abs_logit(public: PublicParams, rows: np.ndarray) -> float:
    """The largest |logit| Bob's queries for ``rows`` create against the cached keys,
    recomputed by the verifier from the public keys (#cap, #var-head).

    With D * H heads, per head carrying bits, max_i ||q_i|| * max_j ||k_j||: by
    Cauchy-Schwarz no logit of that head exceeds it, and it is attained, since Bob's query
    for token i is a positive multiple of the head's own key k_i and all its nonzero keys
    have one norm (sign vectors, scaled or normalised). O(L d) per head instead of a
    Gram matrix; ``tests/reduction/test_heads_protocol.py`` compares it with the full
    product.
    """
    if not public.multi_head:
        return max_abs_logit(public.bob_queries(rows), public.cached_keys())
    head_of, position = split_rows(public, rows)
    best = 0.0
    for j in np.unique(head_of):
        q = public.bob_queries(position[head_of == j], int(j))
        k = public.cached_keys(int(j))
        q_norm = float(np.sqrt(np.einsum("ij,ij->i", q, q).max(initial=0.0)))
        k_norm = float(np.sqrt(np.einsum("ij,ij->i", k, k).max(initial=0.0)))
        best = max(best, q_norm * k_norm)
    return best


def head_errors(public: PublicParams, row_errors: np.ndarray) -> tuple[int | None, ...]:
    """Symbol errors per head, (layer, head) order; None for an unused head."""
    per_carrying = row_errors.reshape(-1, public.n_carriers).sum(axis=1)
    out: list[int | None] = [None] * public.n_heads
    for j, count in zip(carrying_or_one(public), per_carrying, strict=True):
        out[int(j)] = int(count)
    return tuple(out)
