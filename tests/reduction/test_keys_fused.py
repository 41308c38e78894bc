"""The fused key check (Lemma L1, docs/theorem.md#l1) against dense reference code.

One upper-triangle pass gives every column's max_{i<j} <sigma_i, sigma_j>; repairs update
it incrementally. The family, its certificate and its round count must be exactly those of
the plain algorithm: form the whole Gram, resample the later member of every bad pair,
repeat, then take the max off-diagonal entry.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from reduction.keys import (
    _column_maxima,
    _refresh_maxima,
    bad_rows,
    max_inner_product,
    sample_keys,
)


def dense_sample(n: int, d: int, eps: float, seed: int, max_rounds: int = 100):  # type: ignore[no-untyped-def]
    """The plain algorithm, with the whole Gram in int64."""
    rng = np.random.default_rng(seed)
    signs = (rng.integers(0, 2, size=(n, d), dtype=np.int8) * 2 - 1).astype(np.int8)
    for rounds in range(1, max_rounds + 1):
        g = signs.astype(np.int64) @ signs.T.astype(np.int64)
        g[np.tril_indices(n)] = np.iinfo(np.int64).min
        rows = np.flatnonzero((g > eps * d).any(axis=0))
        if rows.size == 0:
            return signs, (g.max() / d if n > 1 else -np.inf), rounds
        signs[rows] = rng.integers(0, 2, size=(rows.size, d), dtype=np.int8) * 2 - 1
    return None


@given(st.integers(1, 400), st.integers(8, 40), st.sampled_from([0.5, 0.6, 0.75]),
       st.integers(0, 10**6))
def test_sampled_family_equals_the_dense_algorithm(n: int, d: int, eps: float, seed: int
                                                   ) -> None:
    ref = dense_sample(n, d, eps, seed)
    if ref is None:  # the dense algorithm gives up too: so must the fused one
        return
    signs, mip, rounds = ref
    fam = sample_keys(n, d, eps, np.random.default_rng(seed), require_d_min=False)
    np.testing.assert_array_equal(fam.signs, signs)
    assert fam.rounds == rounds
    assert fam.max_inner_product == mip


def test_repairs_are_exercised_and_still_match() -> None:
    """Parameters where several repair rounds happen (the incremental update runs)."""
    seen = 0
    for seed in range(3):
        ref = dense_sample(600, 32, 0.6, seed)
        assert ref is not None
        fam = sample_keys(600, 32, 0.6, np.random.default_rng(seed), require_d_min=False)
        np.testing.assert_array_equal(fam.signs, ref[0])
        assert (fam.rounds, fam.max_inner_product) == (ref[2], ref[1])
        seen = max(seen, fam.rounds)
    assert seen >= 3


@given(st.integers(1, 300), st.integers(1, 24), st.integers(0, 10**6), st.integers(1, 40),
       st.integers(1, 40))
def test_column_maxima_equal_the_dense_gram(n: int, d: int, seed: int, block: int,
                                            columns: int) -> None:
    """Any row block and column tile cover the strict upper triangle exactly once."""
    s = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(n, d))
    g = s.astype(np.int64) @ s.T.astype(np.int64)
    g[np.tril_indices(n)] = np.iinfo(np.int64).min
    want = np.where(np.arange(n) == 0, -np.inf, g.max(axis=0))
    np.testing.assert_array_equal(_column_maxima(s, block=block, columns=columns), want)
    assert max_inner_product(s) == (want.max() / d if n > 1 else -np.inf)
    np.testing.assert_array_equal(bad_rows(s, 0.5), np.flatnonzero(want > 0.5 * d))


@given(st.integers(2, 200), st.integers(1, 16), st.integers(0, 10**6), st.floats(0.01, 0.5))
def test_incremental_update_equals_a_fresh_pass(n: int, d: int, seed: int, share: float
                                                ) -> None:
    """After replacing any rows, the updated column maxima equal a new full pass."""
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, d))
    best = _column_maxima(signs)
    rows = np.flatnonzero(rng.random(n) < share)
    old = signs[rows].copy()
    signs[rows] = rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows.size, d))
    _refresh_maxima(signs, best, rows, old)
    np.testing.assert_array_equal(best, _column_maxima(signs))
