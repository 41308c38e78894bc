"""KeyDiff (caches/keydiff.py): -cos(k_i, mean normalised key), top-B kept."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from caches.keydiff import KeyDiffCache, keydiff_scores
from reduction.cache import CacheParams
from reduction.schedule import Schedule


def test_scores_by_hand() -> None:
    """Keys e1, e2, (1, 1): normalised, their mean is a = (1 + 1/sqrt 2)/3 (1, 1), so
    cos(e1, a) = cos(e2, a) = 1/sqrt 2 and cos((1, 1), a) = 1: the diagonal key is the
    least distinctive."""
    s = keydiff_scores(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    assert np.allclose(s, [-1 / math.sqrt(2), -1 / math.sqrt(2), -1.0])


def test_the_cache_keeps_the_distinctive_keys() -> None:
    params = CacheParams(2, Schedule.parse("1,2,3"), {"budget": 2})
    cache = KeyDiffCache(params, None)
    cache.process(np.zeros((1, 2)), np.array([[1.0, 1.0]]), np.ones((1, 2)))
    cache.process(np.zeros((4, 2)), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2, 2.0]]),
                  np.ones((4, 2)))
    assert cache.positions.tolist() == [1, 2]  # e1 and e2; the (1, 1) direction goes


def test_a_zero_key_scores_zero() -> None:
    """torch's eps: a zero key has cosine 0 with anything (the unused-token rows)."""
    assert keydiff_scores(np.array([[0.0, 0.0], [1.0, 0.0]]))[0] == 0.0


@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 6)),
              elements=st.floats(-4, 4).filter(lambda x: abs(x) > 1e-3)),
       st.lists(st.floats(0.1, 10), min_size=12, max_size=12))
def test_scores_ignore_the_length_of_each_key(keys: np.ndarray, scale: list[float]) -> None:
    """Only directions count: rescaling any key by c > 0 changes no score."""
    c = np.array(scale[: keys.shape[0]])[:, None]
    assert np.allclose(keydiff_scores(keys), keydiff_scores(keys * c), atol=1e-9)
