"""AMS-KV (caches/var/amskv.py): condensed + local scales, demanding layers keep all."""

from __future__ import annotations

import numpy as np

from caches.var.amskv import AMSKVCache, ams_plan, cosine_rows, kept_scales, upsample_index
from reduction.cache import CacheParams
from reduction.schedule import Schedule
from tests.caches.multihead import run_heads

VAR256 = Schedule.parse("var-256")


def test_rules_by_hand() -> None:
    assert kept_scales(5, 2, 1) == [0, 1, 5] and kept_scales(1, 2, 1) == [0, 1]
    assert kept_scales(8, 2, 2) == [0, 1, 7, 8]
    # a 3 x 3 map over a 2 x 2 one: rows 0-1 map to row 0, row 2 to row 1, same for columns
    assert upsample_index(3, 3, 2, 2).tolist() == [0, 0, 1, 0, 0, 1, 2, 2, 3]
    assert np.allclose(cosine_rows(np.array([[1.0, 0], [0, 0]]), np.array([[1.0, 1], [1, 0]])),
                       [2**-0.5, 0.0])


def test_plan_on_var256() -> None:
    """Efficient heads keep 1 + 4 + 169 = 174 of 424 rows with one local scale, 5 with
    none. Half of 16 layers' rows (3392): 16 * 174 = 2784 fit, the 608 left need
    ceil(608 / 250) = 3 demanding layers of 174 + 608 // 3 = 376 rows. A tenth (678 rows)
    does not fit one local scale: none (80 rows), then 2 demanding layers of 5 + 299."""
    assert ams_plan(16 * 424 // 2, 16, 1, VAR256, 2, 1) == (3, 1, 376)
    assert ams_plan(16 * 424 // 10, 16, 1, VAR256, 2, 1) == (2, 0, 304)
    assert ams_plan(16 * 424, 16, 1, VAR256, 2, 1) == (16, 1, 424)
    assert ams_plan(16 * 174, 16, 1, VAR256, 2, 1) == (0, 1, 174)


def test_the_layer_whose_scales_repeat_is_the_efficient_one() -> None:
    """Two layers on scales 1x1, 2x2, 3x3 (14 cached), condensed 1, local 1: at scale 3
    an efficient layer would drop scale 2, so the split is made there. Layer 0's scale 3
    repeats its scale 2 (upsampled: cosine 1), layer 1's is fresh: layer 1 is
    demanding. Budget 24 rows = 10 (scales 1 and 3) + 14 (all)."""
    schedule = Schedule.parse("1,2,3,4")
    params = CacheParams(4, schedule, {"budget": 24, "condensed": 1, "local": 1}, layers=2)
    cache = AMSKVCache(params, None)
    rng = np.random.default_rng(0)
    keys = [rng.normal(size=(2, 1, t, 4)) for t in (1, 4, 9)]
    up = upsample_index(3, 3, 2, 2)
    keys[2][0, 0] = keys[1][0, 0][up]  # layer 0 repeats itself
    values = [k.copy() for k in keys]
    for k, v in zip(keys, values):
        cache.process(np.zeros_like(k), k, v)
    assert cache.demanding.tolist() == [False, True]
    assert [p.tolist() for p in cache.positions] == [[0] + list(range(5, 14)),
                                                   list(range(14))]
    rebuilt = AMSKVCache.from_bytes(cache.to_bytes(), params)
    assert rebuilt.demanding.tolist() == [False, True]


def test_efficient_layers_lose_what_they_drop() -> None:
    """var-256, 4 layers, 60% of the 1696 rows (1018): 4 efficient layers take 696, the
    322 left go to ceil(322 / 250) = 2 demanding layers of 174 + 161 = 335 rows (the
    condensed scales and their newest tokens). Each head loses (1 - kept/424)/2."""
    run = run_heads(AMSKVCache, 4, 1, {"budget": 0.6}, seed=2)
    assert sorted(run.kept.ravel().tolist()) == [174, 174, 335, 335]
    for layer, error in enumerate(run.head_errors().ravel()):
        kept = int(run.kept.ravel()[layer])
        assert abs(error - (1 - kept / 424) / 2) <= 0.02
    demanding = run.kept_mask[run.kept.ravel() == 335][0, 0]  # a demanding head's rows
    assert demanding[:5].all() and demanding[-330:].all() and not demanding[5:94].any()
