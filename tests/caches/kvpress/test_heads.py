"""kvpress presses on the multi-head, multi-layer instance (issue 18): one stand-in layer
per layer with its own ``layer_idx``, every head its own rows.

Runs where the construction has ``CacheParams.heads`` and ``layers`` (issue 18); before
that lands, one head is all there is and this module says so instead of running.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from caches.kvpress.adapter import cache_class
from caches.kvpress.state import KvpressState
from caches.registry import resolve_cache
from reduction.cache import CacheParams
from reduction.schedule import Schedule

HAS_HEADS = {"heads", "layers"} <= {f.name for f in dataclasses.fields(CacheParams)}
pytestmark = pytest.mark.skipif(
    not HAS_HEADS, reason="the multi-head instance (CacheParams.heads/layers, issue 18) is not "
    "in this tree: kvpress presses run on one head")

SCHEDULE, D = Schedule.parse("var-256"), 64
L = SCHEDULE.cached_tokens


def _stream(spec: str) -> tuple[object, KvpressState, np.ndarray]:
    params = CacheParams(D, SCHEDULE, {"compress_after": "last"}, heads=2,  # type: ignore[call-arg]
                         layers=2)
    cache = cache_class(spec)(params, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for a, b in SCHEDULE.block_bounds[:-1]:
        shape = (2, 2, b - a, D)
        keys = (rng.integers(0, 2, shape) * 2 - 1) / np.sqrt(D)
        out = cache.process(np.zeros(shape), keys, rng.integers(0, 2, shape).astype(float))
    message = cache.to_bytes()  # type: ignore[attr-defined]
    bob = resolve_cache(spec).cls.from_bytes(message, params)
    return cache, bob.state, out


def test_layer_idx_reaches_the_press() -> None:
    """PyramidKV's budget falls with layer_idx (pyramidkv_press.py lines 84-86): layer 0
    keeps more than layer 1, each head of a layer the same."""
    cache, state, out = _stream("kvpress:PyramidKVPress(compression_ratio=0.5)")
    assert [m.layer_idx for m in cache.modules] == [0, 1]  # type: ignore[attr-defined]
    kept = [[r.positions.size for r in layer] for layer in state.heads]
    assert kept[0][0] == kept[0][1] > kept[1][0] == kept[1][1]
    assert out.shape == (2, 2, SCHEDULE.block_bounds[-2][1] - SCHEDULE.block_bounds[-2][0], D)


def test_heads_of_a_layer_share_its_budget_under_adakv() -> None:
    """AdaKV prunes jointly over a layer's heads (adakv_press.py lines 61-81): the rows of a
    layer add up to H (1 - r) L, split unevenly; the message holds just those."""
    _, state, _ = _stream("kvpress:AdaKVPress(SnapKVPress(compression_ratio=0.5))")
    for layer in state.heads:
        sizes = [r.positions.size for r in layer]
        assert sum(sizes) == 2 * (L // 2) and len(set(sizes)) > 1
