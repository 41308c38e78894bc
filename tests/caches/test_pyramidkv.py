"""PyramidKV (caches/pyramidkv.py): layer budgets in a pyramid, SnapKV within a head."""

from __future__ import annotations

import numpy as np
import pytest

from caches._scorers import snapkv_press_scores
from caches.pyramidkv import PyramidKVCache, pyramid_budgets
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule
from tests.caches.multihead import run_heads


def test_budgets_by_hand() -> None:
    """q = 100, D = 3, f = 1/2, w = 10, beta = 20: m = 60, min = 2.5, max = 97.5 >= q - w,
    so max = 90 and min = 100 - 90 = 10 >= w: steps of 40, budgets 90, 50, 10."""
    assert pyramid_budgets(100, 3, 0.5, window=10, beta=20) == [90, 50, 10]


def test_var256_pyramid_and_its_fallback() -> None:
    b = pyramid_budgets(424, 16, 0.5)
    assert (b[0], b[1], b[-1], sum(b)) == (360, 340, 64, 16 * 212)
    assert pyramid_budgets(424, 16, 0.7)[::15] == [360, 234]  # max = q - w, min = 2qf - max
    # below f = 1/2 the bottom layer would fall under the window: uniform, kvpress's fallback
    assert pyramid_budgets(424, 16, 0.45) == [round(424 * 0.45)] * 16
    assert pyramid_budgets(424, 1, 0.5) == [212]  # one layer: no slope


def test_snapkv_score_by_hand() -> None:
    """Zero queries: uniform votes 1/4; window 1 forced (max + 1); the prefix of three,
    average-pooled with kernel 3 and zero padding: 2/12, 3/12, 2/12."""
    s = snapkv_press_scores(np.zeros((2, 2)), np.eye(2)[[0, 1, 0, 1]], np.arange(4), 1, 3)
    assert np.allclose(s, [2 / 12, 3 / 12, 2 / 12, 1 + 3 / 12])


def test_each_layer_keeps_its_budget() -> None:
    run = run_heads(PyramidKVCache, 3, 2, {"budget": 0.5}, seed=0)
    caps = pyramid_budgets(424, 3, 0.5)
    assert run.kept.tolist() == [[c, c] for c in caps]


def test_bad_options() -> None:
    for options in ({"kernel": 4}, {"beta": 0}, {"window": 0}):
        with pytest.raises(InvalidArgument):
            PyramidKVCache(CacheParams(4, Schedule.parse("1,2"), options, layers=2), None)
