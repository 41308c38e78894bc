"""KVzip (caches/kvzip.py): reconstruction attention, pruned over all heads at once."""

from __future__ import annotations

import numpy as np

from caches import CACHES
from caches.kvzip import KVzipCache, reconstruction_scores
from reduction.cache import CacheParams
from reduction.public import PublicParams
from reduction.schedule import Schedule


def test_scores_by_hand() -> None:
    """Keys e1, e2 at scale ln 3: each reconstruction query puts 3/4 on its own key,
    1/4 on the other; the max over queries is 3/4 for both. A sink scores 1."""
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.allclose(reconstruction_scores(k, np.array([5, 6]), np.log(3.0), 4), [0.75, 0.75])
    assert reconstruction_scores(k, np.array([0, 6]), np.log(3.0), 4).tolist()[0] == 1.0


def test_duplicated_keys_lose_rows_to_distinct_ones() -> None:
    """Head 0 holds four orthogonal keys (each reconstructed alone: score ~ 1), head 1 four
    copies of one key (each gets 1/4): of 5 rows kept over both heads, head 0 keeps 4,
    head 1 its newest token only."""
    params = CacheParams(4, Schedule.parse("2,3"), {"budget": 5, "sinks": 0, "scale": 20.0},
                         heads=2)
    cache = KVzipCache(params, None)
    keys = np.stack([np.eye(4), np.tile([1.0, 0, 0, 0], (4, 1))])[None]
    cache.process(np.zeros((1, 2, 4, 4)), keys, np.zeros((1, 2, 4, 4)))
    assert [p.tolist() for p in cache.positions] == [[0, 1, 2, 3], [3]]


def test_the_protocol_hands_kvzip_bobs_scale() -> None:
    public = PublicParams(Schedule.parse("var-256"), 64, 0.6, 0.5, key_seed=0, cache="kvzip")
    assert public.cache_params.option("scale") == public.scale
    assert CACHES["kvzip"].protocol == frozenset({"scale"})
    outside = CacheParams(8, Schedule.parse("1,2"), {})
    assert KVzipCache(outside, None).query_scale == 16.0


def test_on_unused_heads_kvzip_allocates_like_the_oracle() -> None:
    """The allocation variant (docs/theorem.md#alloc), 2 layers x 2 heads, 2 of them all
    zero, f = 1/4 of all rows (R = 424). A zero head's keys coincide, so each of its rows
    gets reconstruction weight 1/n, far below a carrying head's ~1: KVzip's global
    selection gives the carrying heads every row but the zero heads' 4 sinks (scored 1):
    416 of their 848 rows, error (1 - 416/848)/2 = 0.2547, where a value-blind uniform
    split (SnapKV on every head) keeps 212 of 848: (1 - 1/4)/2."""
    from kvbound.experiments import run_sweep

    result = run_sweep(Schedule.parse("var-256"), 64, 0.75, 0.25, caches=["kvzip", "snapkv"],
                       budgets=[0.25], seeds=[0], isolation="inline", heads=2, layers=2,
                       unused_heads=2)
    rate = {p.cache: p.error_rate for p in result.measured}
    n_ev = (848 - 416) * 64  # evicted carrying bits: Bin(n_ev, 1/2) errors
    tol = 6 * np.sqrt(n_ev) / 2 / (848 * 64)
    assert abs(rate["kvzip"] - (1 - 416 / 848) / 2) <= tol
    assert abs(rate["snapkv"] - (1 - 212 / 848) / 2) <= 6 * np.sqrt(636 * 64) / 2 / (848 * 64)
