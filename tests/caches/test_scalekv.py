"""ScaleKV (caches/var/scalekv.py): drafter/refiner budgets, pooled raw logits of a grid."""

from __future__ import annotations

import numpy as np
import pytest

from caches.var.scalekv import (
    ScaleKVCache,
    parse_layers,
    scalekv_capacities,
    scalekv_scores,
    scalekv_window,
)
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule
from tests.caches.multihead import run_heads

VAR256 = Schedule.parse("var-256")


def test_window_by_hand() -> None:
    """13 x 13 scale starting at 255: patch 13 // 4 = 3, centres 1, 4, 7, 10 in each
    direction: 255 + 13 r + c."""
    want = [255 + 13 * r + c for r in (1, 4, 7, 10) for c in (1, 4, 7, 10)]
    assert scalekv_window(13, 13, 255, 424).tolist() == want
    assert scalekv_window(3, 3, 5, 14).tolist() == list(range(14))  # side < 4: the last 16
    assert scalekv_window(4, 6, 0, 40).tolist() == list(range(24, 40))  # not square


def test_capacities_by_hand() -> None:
    """D = 2, one drafter, B = 42, W = 16: Max = 2*42 - 16 = 68, Min = 84 - 68 = 16."""
    assert scalekv_capacities(2, 1, 42, 424) == (68, 16)
    assert scalekv_capacities(16, 1, 43, 424) == (424, 17)
    high, low = scalekv_capacities(32, 2, 650, 921)  # the 2B JSON, Scale 9: 920 and 632
    assert 2 * high + 30 * low <= 32 * 650 and abs(high - 920) <= 1 and abs(low - 632) <= 1
    assert scalekv_capacities(4, 4, 30, 424) == (30, 30)  # no refiners: all keep B


def test_scores_are_pooled_raw_logits() -> None:
    """One window query (1, 0): raw logits 1, 0 (not softmax weights), the window token
    -inf; max pooling with kernel 3 spreads the 1, then the window is masked again."""
    k = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert scalekv_scores(np.array([[1.0, 0.0]]), k, np.array([2]), 1).tolist() == [
        1.0, 0.0, -np.inf]
    assert scalekv_scores(np.array([[1.0, 0.0]]), k, np.array([2]), 3).tolist() == [
        1.0, 1.0, -np.inf]
    two = np.array([[3.0, 0.0], [-2.0, 0.0]])  # sums of logits, 3 - 2 = 1 on key 0
    assert scalekv_scores(two, k, np.array([2]), 1).tolist() == [1.0, 0.0, -np.inf]


def test_nothing_is_pruned_while_the_cache_is_small() -> None:
    params = CacheParams(16, VAR256, {"budget": 0.01}, heads=2)
    cache = ScaleKVCache(params, None)
    rng = np.random.default_rng(0)
    for start, stop in VAR256.block_bounds[:5]:  # 1 + 4 + 9 + 16 + 25 = 55 tokens
        shape = (1, 2, stop - start, 16)
        cache.process(rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape))
    assert cache.n_kept == 2 * 55


def test_the_drafter_layer_keeps_more() -> None:
    """var-256, D = 2 (drafter: layer 0), 10%: R = 85 rows, B = 42: 68 and 16."""
    run = run_heads(ScaleKVCache, 2, 1, {"budget": 0.1}, seed=0)
    assert run.kept.tolist() == [[68], [16]]
    run = run_heads(ScaleKVCache, 2, 1, {"budget": 0.1, "drafters": "1"}, seed=0)
    assert run.kept.tolist() == [[16], [68]]


def test_parse_layers() -> None:
    assert parse_layers("0, 23", 32) == (0, 23) and parse_layers("", 4) == ()
    for bad in ("32", "a", "-1", 1.5):
        with pytest.raises(InvalidArgument):
            parse_layers(bad, 32)
