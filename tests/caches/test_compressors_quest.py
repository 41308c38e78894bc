"""Quest: the control decodes every bit; on the hard instance page bounds tie, so a small
read budget fails; the page upper bound is a true upper bound; bytes and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from caches.quest import QuestCache, page_bounds, page_upper_bounds
from reduction.cache import CacheParams
from reduction.keys import sample_keys
from reduction.protocol import run_verification
from reduction.schedule import Schedule
from tests.corruption import assert_rejects_corruption

EPS, ETA = 0.7, 0.1
VAR256 = Schedule.preset("var-256")


def test_control_configuration_decodes_every_bit():
    inline = run_verification(VAR256, 64, EPS, ETA, 2, cache="quest", isolation="inline")
    assert inline.bit_errors == 0
    other = run_verification(VAR256, 64, EPS, ETA, 1, cache="quest", isolation="process")
    assert other.bit_errors == 0


def test_small_read_budget_fails_because_page_bounds_tie():
    result = run_verification(VAR256, 64, EPS, ETA, 1, cache="quest", options={"budget": 0.1},
                              isolation="inline")
    assert result.bit_errors > 0 and not result.leak


def test_on_the_hard_instance_page_bounds_tie_at_c():
    """The true page attains C; a full page of 16 misses C with prob. <= d 2^-16 only."""
    family = sample_keys(424, 64, EPS, np.random.default_rng(0))
    lo, hi = page_bounds(family.keys, 16)
    c = 20.0
    tokens = np.arange(0, 424, 5)
    ub = page_upper_bounds(c * family.keys[tokens], lo, hi)
    np.testing.assert_allclose(ub[np.arange(tokens.size), tokens // 16], c, rtol=1e-12)
    full = ub[:, : 424 // 16]
    assert np.mean(np.isclose(full, c, rtol=1e-12)) > 1 - 64 * 2.0**-16 * 5


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(6)),
                  elements=st.floats(-5, 5, allow_nan=False)),
       hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.just(6)),
                  elements=st.floats(-5, 5, allow_nan=False)),
       st.integers(1, 9))
def test_page_upper_bound_bounds_every_score_in_the_page(keys, queries, page):
    lo, hi = page_bounds(keys, page)
    ub = page_upper_bounds(queries, lo, hi)
    scores = queries @ keys.T
    for p in range(lo.shape[0]):
        assert (scores[:, p * page : (p + 1) * page].max(axis=1) <= ub[:, p] + 1e-9).all()


def _stream(cache: QuestCache, d: int) -> None:
    rng = np.random.default_rng(0)
    for start, stop in cache.params.schedule.block_bounds[:-1]:
        t = stop - start
        cache.process(rng.standard_normal((t, d)), rng.standard_normal((t, d)),
                      rng.standard_normal((t, d)))


@pytest.mark.parametrize("budget", [1.0, 0.3, 2])
def test_bytes_round_trip_gives_the_same_outputs(budget):
    params = CacheParams(8, Schedule.from_sides([1, 2, 3, 4, 6]),
                         {"budget": budget, "page_size": 3})
    alice = QuestCache(params)
    _stream(alice, 8)
    message = alice.to_bytes()
    bob = QuestCache.from_bytes(message, params)
    assert bob.to_bytes() == message
    q = np.random.default_rng(5).standard_normal((7, 8))
    zeros = np.zeros((7, 8))
    np.testing.assert_array_equal(alice.process(q, zeros, zeros), bob.process(q, zeros, zeros))


def test_from_bytes_rejects_truncations_and_bit_flips():
    params = CacheParams(8, Schedule.from_sides([1, 2, 3, 4]), {"page_size": 4})
    cache = QuestCache(params)
    _stream(cache, 8)
    message = cache.to_bytes()
    assert_rejects_corruption(QuestCache, message, params, step=23, flips=20, seed=2)


@pytest.mark.parametrize(("options", "match"), [({"budget": 0}, "budget=0"),
                                               ({"budget": 1.5}, "budget=1.5"),
                                               ({"page_size": 0}, "page_size=0")])
def test_bad_options_name_the_value(options, match):
    with pytest.raises(ValueError, match=match):
        QuestCache(CacheParams(8, VAR256, options))
