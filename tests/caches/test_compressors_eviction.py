"""Eviction compressors on the hard instance: an evicted row's bits are coin flips.

Prediction under test (docs/compressors.md): a policy keeping a fraction f of the L cached
rows, chosen without looking at the values, has error rate ~ (1 - f)/2 on uniform bits.

Derivation of the tolerance (var-256, d = 64, N = L * d = 424 * 64 = 27136 bits). Bob's
output row for an evicted token i is a function of the kept rows (and public keys) only,
and x_i is uniform and independent of them, so given the kept rows each of the
N_ev = (L - n_kept) * d evicted bits is wrong independently with probability exactly 1/2:
errors on evicted rows ~ Bin(N_ev, 1/2), mean N_ev / 2, sd sqrt(N_ev) / 2 (58.2 bits at
f = 1/2, i.e. 0.0021 in rate). Kept rows decode with no error at all (the kept set is a
subset, so gamma of Lemma L2 only shrinks; tested separately, so the kept-row allowance
is 0). We allow SIGMAS = 6 sd: a false alarm has probability < 2e-9 per check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caches import CACHES, resolve_cache
from caches._eviction import EvictionCache, eviction_message_bits, keep_top
from caches.knorm import KNormCache
from caches.scale_budget import scale_allocation
from caches.snapkv import pool_votes
from reduction.cache import CacheParams, budget_tokens
from reduction.decode import decode_bits
from reduction.message import frame
from reduction.parties import alice_message, bob_outputs
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule
from tests.strategies import small_schedules

EVICTION = ["streaming-llm", "h2o", "snapkv", "tova", "knorm", "random", "scale-budget"]
VAR256 = Schedule.preset("var-256")
D, EPS, ETA = 64, 0.6, 0.5  # d_min(424, 0.6) = 64
SIGMAS = 6.0
EXTRA = {"h2o": (4, 0), "random": (0, 8)}  # (bytes per kept token, fixed bytes)


def _binomial_tolerance(n_evicted_bits: int) -> float:
    """SIGMAS standard deviations of Bin(n, 1/2), in bits."""
    return SIGMAS * math.sqrt(n_evicted_bits) / 2


def _run(name: str, budget: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bytes]:
    """Alice -> bytes -> Bob on var-256: (bits, decoded bits, kept positions, message)."""
    rng = np.random.default_rng(seed)
    public = PublicParams(VAR256, D, EPS, ETA, key_seed=seed, cache=name,
                          options={"budget": budget})
    bits = rng.integers(0, 2, size=(VAR256.cached_tokens, D))
    message = alice_message(bits, public, rng)
    state = resolve_cache(name).cls.from_bytes(message, public.cache_params)
    decoded = decode_bits(bob_outputs(message, public), public.tau)
    return bits, decoded, state.positions, message


def test_all_policies_are_registered_as_budgeted():
    for name in EVICTION:
        assert CACHES[name].budgeted
        assert issubclass(CACHES[name].cls, EvictionCache)


@pytest.mark.parametrize("name", EVICTION)
def test_error_rate_at_half_budget_is_half_the_evicted_fraction(name):
    """run_verification at budget 0.5: |errors - (1 - f) N / 2| <= 6 sd, f measured."""
    result = run_verification(VAR256, D, EPS, ETA, [0], cache=name, options={"budget": 0.5},
                              isolation="inline")
    _, _, kept, _ = _run(name, 0.5, 0)  # the kept COUNT is B for every seed and policy
    n_kept = kept.size
    assert n_kept == budget_tokens(0.5, VAR256.cached_tokens) == 212
    f = n_kept / VAR256.cached_tokens
    n_ev = (VAR256.cached_tokens - n_kept) * D
    run = result.runs[0]
    assert abs(run.bit_errors - n_ev / 2) <= _binomial_tolerance(n_ev), (
        f"{name}: {run.error_rate:.4f} vs predicted {(1 - f) / 2:.4f}")
    assert not result.leak


@pytest.mark.parametrize("name", EVICTION)
def test_kept_rows_decode_and_evicted_rows_are_coin_flips(name):
    bits, decoded, kept, _ = _run(name, 0.3, 7)
    wrong = decoded != bits
    evicted = np.setdiff1d(np.arange(VAR256.cached_tokens), kept)
    assert not wrong[kept].any()
    n_ev = evicted.size * D
    assert abs(int(wrong[evicted].sum()) - n_ev / 2) <= _binomial_tolerance(n_ev)


@pytest.mark.parametrize("name", EVICTION)
def test_budget_one_decodes_every_bit(name):
    result = run_verification(VAR256, D, EPS, ETA, [3], cache=name, options={"budget": 1.0},
                              isolation="inline")
    assert result.bit_errors == 0


@pytest.mark.parametrize("name", EVICTION)
def test_message_bits_are_linear_in_kept_tokens(name):
    per_token, fixed = EXTRA.get(name, (0, 0))
    sizes = {}
    for budget in (0.25, 0.5, 1.0, 10):
        _, _, kept, message = _run(name, budget, 1)
        assert kept.size == budget_tokens(budget, VAR256.cached_tokens)
        sizes[budget] = 8 * len(message)
        assert sizes[budget] == eviction_message_bits(VAR256.cached_tokens, kept.size, D,
                                                      per_token, fixed)
    assert sizes[10] < sizes[0.25] < sizes[0.5] < sizes[1.0]


@pytest.mark.parametrize("name", EVICTION)
@pytest.mark.parametrize("budget", [0, -1, 1.5, 0.0, -0.5, float("nan"), float("inf"), "half",
                                    True, None])
def test_bad_budgets_raise(name, budget):
    with pytest.raises(ValueError, match="budget"):
        CACHES[name].cls(CacheParams(D, VAR256, {"budget": budget}), None)


@pytest.mark.parametrize(
    ("name", "options", "word"),
    [
        ("streaming-llm", {"sinks": -1}, "sinks"),
        ("h2o", {"recent": 1.5}, "recent"),
        ("snapkv", {"window": 0}, "window"),
        ("snapkv", {"kernel": 4}, "kernel"),
        ("snapkv", {"pooling": "mean"}, "pooling"),
        ("scale-budget", {"alpha": -0.1}, "alpha"),
    ],
)
def test_bad_policy_options_raise(name, options, word):
    with pytest.raises(ValueError, match=word):
        CACHES[name].cls(CacheParams(D, VAR256, {"budget": 0.5, **options}), None)


def test_integral_float_budget_is_a_token_count():
    assert CACHES["tova"].cls(CacheParams(D, VAR256, {"budget": 20.0}), None).capacity == 20


# -- bytes -----------------------------------------------------------------------------------
SMALL = Schedule.from_sides((1, 2, 3, 4))
SMALL_L = SMALL.cached_tokens  # 14


def _small_message(name: str, budget: float = 0.5, seed: int = 0) -> tuple[bytes, CacheParams]:
    rng = np.random.default_rng(seed)
    params = CacheParams(8, SMALL, {"budget": budget})
    cache = CACHES[name].cls(params, rng)
    for start, stop in SMALL.block_bounds[:-1]:
        t = stop - start
        cache.process(rng.normal(size=(t, 8)), rng.choice([-1, 1], size=(t, 8)) / math.sqrt(8),
                      rng.integers(0, 2, size=(t, 8)).astype(float))
    return cache.to_bytes(), params


@pytest.mark.parametrize("name", EVICTION)
def test_from_bytes_rejects_truncations_and_bit_flips(name):
    message, params = _small_message(name)
    cls = CACHES[name].cls
    assert cls.from_bytes(message, params).to_bytes() == message
    for cut in range(len(message)):
        with pytest.raises(ValueError):
            cls.from_bytes(message[:cut], params)
    rng = np.random.default_rng(0)
    for bit in rng.choice(8 * len(message), size=64, replace=False):
        flipped = bytearray(message)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ValueError):
            cls.from_bytes(bytes(flipped), params)
    with pytest.raises(ValueError):
        cls.from_bytes(message + b"\0", params)
    other = "tova" if name != "tova" else "knorm"
    with pytest.raises(ValueError, match="tag"):
        cls.from_bytes(_small_message(other)[0], params)


def test_from_bytes_rejects_well_framed_inconsistent_states():
    """Valid CRC, wrong content: every count is checked before any allocation."""
    params = CacheParams(8, SMALL, {"budget": 4})
    head = np.array([8], "<u2").tobytes()

    def msg(seen: int, kept: int, bitmap: bytes, rows: int) -> bytes:
        body = head + np.array([seen, kept], "<u4").tobytes() + bitmap
        return frame(b"TOV1", body + bytes(2 * rows * 8 * 2))

    cls = CACHES["tova"].cls
    assert cls.from_bytes(msg(8, 4, bytes([0x0F]), 4), params).n_kept == 4
    with pytest.raises(ValueError, match="exceed"):
        cls.from_bytes(msg(8, 5, bytes([0x1F]), 5), params)  # more than the budget
    with pytest.raises(ValueError, match="exceed"):
        cls.from_bytes(msg(2**31, 0, b"", 0), params)  # more tokens than the schedule
    with pytest.raises(ValueError, match="bitmap"):
        cls.from_bytes(msg(8, 4, bytes([0x07]), 4), params)  # bitmap disagrees
    with pytest.raises(ValueError, match="padding"):
        cls.from_bytes(msg(4, 4, bytes([0xFF]), 4), params)


# -- policies, by hand -------------------------------------------------------------------------
def _stream(name: str, schedule: Schedule, d: int, options: dict, queries=None, keys=None,
            seed: int = 0) -> EvictionCache:
    rng = np.random.default_rng(seed)
    n = schedule.cached_tokens
    keys = rng.choice([-1.0, 1.0], size=(n, d)) / math.sqrt(d) if keys is None else keys
    queries = np.zeros((n, d)) if queries is None else queries
    cache = CACHES[name].cls(CacheParams(d, schedule, options), rng)
    for start, stop in schedule.block_bounds[:-1]:
        cache.process(queries[start:stop], keys[start:stop], np.zeros((stop - start, d)))
    return cache


def test_knorm_ties_on_unit_norm_keys_keep_the_most_recent():
    """Degenerate case: every ||k|| = 1 exactly, so the tie-break keeps the last B."""
    cache = _stream("knorm", VAR256, D, {"budget": 0.5})
    assert cache.positions.tolist() == list(range(424 - 212, 424))
    norms = np.linalg.norm(cache.keys.astype(np.float64), axis=1)
    assert np.all(norms == 1.0)


def test_knorm_keeps_the_smallest_norms():
    """Hand case: norms 3, 1, 2, 0.5, 4 (one scale each of 1, then 4 tokens); B = 2."""
    schedule = Schedule(((1, 1), (2, 2), (3, 3)))
    keys = np.array([[3.0, 0], [1.0, 0], [0, 2.0], [0.5, 0], [0, 4.0]])
    cache = _stream("knorm", schedule, 2, {"budget": 2}, keys=keys)
    assert isinstance(cache, KNormCache)
    assert cache.positions.tolist() == [1, 3]


def test_streaming_llm_keeps_sinks_and_window():
    cache = _stream("streaming-llm", VAR256, D, {"budget": 100})
    assert cache.positions.tolist() == [0, 1, 2, 3] + list(range(424 - 96, 424))
    cache = _stream("streaming-llm", VAR256, D, {"budget": 3, "sinks": 4})
    assert cache.positions.tolist() == [1, 2, 3]


def test_h2o_zero_queries_make_the_oldest_tokens_heavy_hitters():
    """Zero queries: a token visible at scale k receives T_k / n_k there (uniform rows)."""
    schedule = Schedule.from_sides((1, 2, 3))  # tokens 1, 4 (cached L = 5), 9
    cache = _stream("h2o", schedule, 8, {"budget": 4, "recent": 0.5})
    # scale 1: token 0 gets 1; scale 2: five tokens get 4/5 each -> scores 1.8, 0.8 x 4.
    # B = 4, R = 2 recent (3, 4); then token 0 (1.8) and, of the tie 1 vs 2, the later 2.
    assert cache.positions.tolist() == [0, 2, 3, 4]
    assert np.allclose(cache.scores, [1.8, 0.8, 0.8, 0.8])


def test_snapkv_pooling_and_window():
    assert pool_votes(np.array([1.0, 0, 0, 0, 0, 0, 5.0]), 5, "max").tolist() == [
        1.0, 1.0, 1.0, 0.0, 5.0, 5.0, 5.0]
    cache = _stream("snapkv", VAR256, D, {"budget": 100, "window": 10})
    assert cache.positions.tolist() == list(range(324, 424))  # uniform votes: recency
    cache = _stream("snapkv", VAR256, D, {"budget": 100, "window": 10, "pooling": "avg"})
    assert 0 not in cache.positions and 423 in cache.positions  # padded edge scores lower


def test_tova_keeps_what_the_last_query_attends_to():
    schedule = Schedule(((1, 1), (2, 2), (3, 3)))
    keys = np.eye(5)
    queries = np.zeros((5, 5))
    queries[-1] = 10 * (keys[0] + keys[2])  # the last query of scale 2 looks at 0 and 2
    cache = _stream("tova", schedule, 5, {"budget": 2}, queries=queries, keys=keys)
    assert cache.positions.tolist() == [0, 2]


def test_random_eviction_is_uniform_and_seeded():
    counts = np.zeros(VAR256.cached_tokens)
    first = None
    for seed in range(200):
        kept = _stream("random", VAR256, 8, {"budget": 0.25}, seed=seed).positions
        counts[kept] += 1
        first = kept if first is None else first
    assert _stream("random", VAR256, 8, {"budget": 0.25}, seed=0).positions.tolist() == \
        first.tolist()
    # each token is kept w.p. 106/424 = 1/4: count ~ Bin(200, 1/4), sd 6.1; 6 sd band
    assert np.all(np.abs(counts - 50) <= 6 * math.sqrt(200 * 0.25 * 0.75))


def test_scale_budget_keeps_its_allocation_per_scale():
    cache = _stream("scale-budget", VAR256, D, {"budget": 0.5})
    alloc = scale_allocation(VAR256, 212)
    per_scale = [int(np.sum((cache.positions >= a) & (cache.positions < b)))
                 for a, b in VAR256.block_bounds[:-1]]
    assert per_scale == alloc and sum(alloc) == 212
    assert alloc[:4] == [1, 4, 9, 16]  # coarse scales whole
    fractions = [a / t for a, t in zip(alloc, VAR256.tokens)]
    assert all(x >= y for x, y in zip(fractions, fractions[1:]))


def test_keep_top_breaks_ties_towards_recent():
    assert keep_top(np.array([1.0, 1.0, 1.0]), np.array([5, 9, 7]), 1).tolist() == [1]


# -- properties ------------------------------------------------------------------------------
@st.composite
def streams(draw):
    schedule = draw(small_schedules(max_scales=4, max_side=5))
    n = schedule.cached_tokens
    as_count = draw(st.booleans())
    budget = draw(st.integers(1, n + 3)) if as_count else draw(
        st.floats(0.01, 1.0, allow_nan=False))
    name = draw(st.sampled_from(EVICTION))
    seed = draw(st.integers(0, 2**32 - 1))
    return schedule, budget, name, seed


@given(case=streams())
@settings(max_examples=40)
def test_kept_count_never_exceeds_the_budget(case):
    """For any schedule, budget and policy: <= B kept after every scale, == min(B, L) at
    the end of Alice's scales, and from_bytes(to_bytes) continues identically."""
    schedule, budget, name, seed = case
    d = 4
    rng = np.random.default_rng(seed)
    b = budget_tokens(budget, schedule.cached_tokens)
    cache = CACHES[name].cls(CacheParams(d, schedule, {"budget": budget}), rng)
    for start, stop in schedule.block_bounds[:-1]:
        t = stop - start
        cache.process(rng.normal(size=(t, d)), rng.normal(size=(t, d)), rng.normal(size=(t, d)))
        assert cache.n_kept <= b
        assert np.all(np.diff(cache.positions) > 0) and cache.positions.max() < stop
    if name != "scale-budget":
        assert cache.n_kept == min(b, schedule.cached_tokens)
    else:
        assert cache.n_kept == sum(scale_allocation(schedule, b))
    message = cache.to_bytes()
    restored = type(cache).from_bytes(message, cache.params)
    assert restored.to_bytes() == message
    t = schedule.last_scale_tokens
    q, k, v = rng.normal(size=(t, d)), np.zeros((t, d)), np.zeros((t, d))
    np.testing.assert_array_equal(cache.process(q, k, v), restored.process(q, k, v))
    assert restored.to_bytes() == cache.to_bytes()
