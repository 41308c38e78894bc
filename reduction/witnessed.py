"""Witnessed key families: a greedy search for many sign keys with every <k_i, k_j> <= eps.

Purpose: Lemma WITNESS (docs/theorem.md#witness). The union bound of Lemma L1 guarantees
only L' = max{L' : L'(L'-1)/2 e^{-eps^2 d/2} < 1} near-orthogonal sign keys in dimension d
(Corollary C1, docs/theorem.md#c1). A *sampled* family whose measured largest off-diagonal
inner product is <= eps is itself a certificate: the keys are public coins, independent
of Alice's bits, so the reduction may be run with the public coins fixed to that family,
and the Index bound (Lemma L4) then holds for N = L' d with L' the family's size.

Search (greedy with resampling): draw uniform sign vectors in batches, deterministically
from the public key seed; keep a candidate when its inner products with every kept key
(and with the candidates kept before it in its batch) are <= floor(eps d); stop at
``n_keys`` keys or after ``max_candidates`` draws. The result is then checked by an
independent exact computation of every pairwise inner product (reduction.keys), never
assumed: a family violating eps raises.

At L = 424, eps = 3/4, d = 16 the union bound guarantees 13 keys; the search finds all 424
(inner product <= 12 means Hamming distance >= 2, and 2^16 words leave room).

References: arXiv 2502.15955 (Haris & Onak, the low-dimension bound); Gilbert (1952) and
Varshamov (1957) for the greedy code argument.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval
from reduction.keys import KeyFamily, max_inner_product

__all__ = ["inner_product_threshold", "search_family", "certify_family", "witnessed_family",
           "witnessed_search", "witnessed_prefix"]

_BATCH = 256


def inner_product_threshold(d: int, eps: float) -> int:
    """floor(eps * d), eps read as its exact binary value: <sigma_i, sigma_j> <= eps d iff <=
    this integer (inner products of sign vectors are integers).

    >>> inner_product_threshold(16, 0.75), inner_product_threshold(10, 0.7)
    (12, 6)
    """
    return math.floor(Fraction(eps) * check_int_at_least(d, "d", 1))


def certify_family(signs: np.ndarray, eps: float) -> float:
    """The family's max_{i<j} <sigma_i, sigma_j> / d, checked to be <= eps exactly.

    Computed by :func:`reduction.keys.max_inner_product` (block Gram matrices), a code path
    independent of the search. Raises ``ValueError`` if some pair exceeds eps d.

    >>> certify_family(np.array([[1, 1], [1, -1]], dtype=np.int8), 0.5)
    0.0
    """
    s = np.asarray(signs)
    if s.ndim != 2 or s.shape[0] < 1:
        raise InvalidArgument(f"a key family must be a non-empty L x d sign matrix, got {s.shape}")
    measured = max_inner_product(s)
    if s.shape[0] == 1:
        return measured
    d = s.shape[1]
    worst = round(measured * d)  # an integer, exactly representable
    if Fraction(worst, d) > Fraction(eps):
        raise InvalidArgument(
            f"the key family has an inner product {worst}/{d} = {worst / d:g} > eps={eps:g}; "
            "it is no certificate (Lemma WITNESS)"
        )
    return measured


def search_family(
    n_keys: int,
    d: int,
    eps: float,
    rng: np.random.Generator | int | None = None,
    *,
    max_candidates: int | None = None,
) -> tuple[np.ndarray, int]:
    """Greedy search: up to ``n_keys`` sign vectors (int8) pairwise <= floor(eps d).

    Returns (signs, candidates drawn). Deterministic given ``rng``. ``max_candidates``
    defaults to max(64 n_keys, 4096). Not checked here: see :func:`witnessed_family`.

    >>> signs, tried = search_family(20, 16, 0.75, rng=0)
    >>> signs.shape, tried <= 4096
    ((20, 16), True)
    """
    rng = np.random.default_rng(rng)
    n = check_int_at_least(n_keys, "L", 1)
    dim = check_int_at_least(d, "d", 1)
    thr = inner_product_threshold(dim, float(check_interval(eps, "eps", 0, 1)))
    budget = check_int_at_least(
        max(64 * n, 4096) if max_candidates is None else max_candidates, "max_candidates", 1)
    kept = np.empty((n, dim), dtype=np.int8)
    kept_f = np.empty((n, dim), dtype=np.float32)  # +-1 sums are exact in float32
    count = tried = 0
    while count < n and tried < budget:
        m = min(_BATCH, budget - tried)
        cand = (rng.integers(0, 2, size=(m, dim), dtype=np.int8) * 2 - 1).astype(np.int8)
        tried += m
        cand_f = cand.astype(np.float32)
        if count:
            cand_ok = (cand_f @ kept_f[:count].T <= thr).all(axis=1)
            cand, cand_f = cand[cand_ok], cand_f[cand_ok]
        gram = cand_f @ cand_f.T
        accepted: list[int] = []
        for i in range(cand.shape[0]):
            if count + len(accepted) == n:
                break
            if not accepted or bool((gram[i, accepted] <= thr).all()):
                accepted.append(i)
        kept[count : count + len(accepted)] = cand[accepted]
        kept_f[count : count + len(accepted)] = cand_f[accepted]
        count += len(accepted)
    return kept[:count].copy(), tried


def witnessed_family(
    n_keys: int,
    d: int,
    eps: float,
    rng: np.random.Generator | int | None = None,
    *,
    max_candidates: int | None = None,
) -> KeyFamily:
    """The greedy family of :func:`search_family`, certified by :func:`certify_family`.

    ``rounds`` holds the number of candidates drawn. The family may have fewer than
    ``n_keys`` rows (never zero): its size is the witnessed L'.

    >>> fam = witnessed_family(424, 16, 0.75, rng=0)
    >>> fam.n_keys, fam.max_inner_product <= 0.75
    (424, True)
    """
    signs, tried = search_family(n_keys, d, eps, rng, max_candidates=max_candidates)
    measured = certify_family(signs, eps)
    return KeyFamily(signs, float(eps), measured, tried)


@functools.lru_cache(maxsize=8)
def witnessed_search(n_keys: int, d: int, eps: float, key_seed: int) -> KeyFamily:
    """The certified greedy family for up to ``n_keys`` keys from public seed ``key_seed``
    (cached; read-only). Its size is the witnessed L' before any logit cap."""
    family = witnessed_family(n_keys, d, eps, np.random.default_rng(key_seed))
    family.signs.setflags(write=False)
    return family


@functools.lru_cache(maxsize=8)
def witnessed_prefix(n_keys: int, d: int, eps: float, key_seed: int, carriers: int) -> KeyFamily:
    """The first ``carriers`` keys of the family searched for ``n_keys`` from ``key_seed``.

    A sub-family of a certified family is certified; its own max inner product is
    recomputed. Raises ``ValueError`` when the search found fewer than ``carriers`` keys.

    >>> witnessed_prefix(424, 16, 0.75, 0, 100).n_keys
    100
    """
    full = witnessed_search(n_keys, d, float(eps), key_seed)
    k = check_int_at_least(carriers, "carriers", 1)
    if k > full.n_keys:
        raise InvalidArgument(
            f"the witnessed search (L={n_keys}, d={d}, eps={eps:g}, key seed {key_seed}) "
            f"found {full.n_keys} keys, fewer than carriers={k}; use carriers <= "
            f"{full.n_keys} or raise d or eps"
        )
    if k == full.n_keys:
        return full
    signs = full.signs[:k]
    return KeyFamily(signs, float(eps), certify_family(signs, eps), full.rounds)
