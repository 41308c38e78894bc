"""SubGen-style cache: online clustering of keys, counts, and sampled (key, value) pairs.

Purpose: a numpy compressor in the spirit of SubGen (Zandieh, Han, Mirrokni & Karbasi
2024, "SubGen: Token Generation in Sublinear Time and Memory", arXiv 2402.06082): the
keys are clustered online into at most m centres; each centre keeps its count n_j and a
uniform sample S_j of t_j = min(t, n_j) of its (key, value) pairs. Attention of a query
q is estimated as

    Z(q) ~ N(q) / D(q),  D(q) = sum_j n_j exp(<q, c_j>)                 (centres)
                         N(q) = sum_j (n_j / t_j) sum_{(k, v) in S_j} exp(<q, k>) v
                                                                           (samples)

plus the current block's own tokens, attended exactly (they are in working memory), then
folded into the sketch. Memory O(d (m + m t)) = O(d (m t + s)) with s = m t samples.

Clustering (SubGen's greedy delta-net): a new key joins the nearest centre if it lies
within ``radius`` of it; otherwise it opens a new centre (the centre IS that first key,
stored at float16) while fewer than m exist; once m centres exist it joins the nearest
centre whatever the distance (the budget overrides the radius). Distance ties go to the
lower centre index. Sampling: every position p has a uniform priority u_p regenerated
from a 64-bit seed (drawn from the cache rng and stored in the message); S_j holds the
t_j members of smallest priority, a uniform sample without replacement (bottom-t).

Budget: B = ``budget_tokens(budget, L_{K-1})`` is the number of sampled (key, value)
pairs s = m * t: m = max(1, B // t) centres with t = ``samples_per_centre`` (default 1).
At budget 1 every cached key is its own centre (if the keys are farther apart than
``radius``) and the estimate is exact attention. On the hard instance (near-orthogonal
keys) the forced merges lose the merged tokens: the error rate is not the eviction
policies' (1 - f)/2 (see the tests for the measured values).

Simplifications: one head; SubGen's numerator uses l2-norm sampling of value rows over the
whole stream, replaced here by the per-centre uniform samples; centres are not moved.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from caches._eviction import QUERY_CHUNK, budget_option, int_option
from caches.entry import CacheEntry, EntryList
from reduction.bitpack import pack_codes, packed_size, unpack_codes
from reduction.cache import CacheParams
from reduction.message import Reader, Writer, check_header_field, frame, unframe

__all__ = ["SubGenCache", "DEFAULT_RADIUS", "DEFAULT_SAMPLES_PER_CENTRE"]

DEFAULT_RADIUS = 0.5
DEFAULT_SAMPLES_PER_CENTRE = 1


class SubGenCache:
    """Clustered keys + per-centre samples (after SubGen, Zandieh et al. 2024).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count: the total
    samples m * t), ``samples_per_centre`` t (integer >= 1, default 1), ``radius`` (the
    clustering radius delta, a finite real >= 0, default 0.5).
    """

    TAG: ClassVar[bytes] = b"SGN1"
    NAME: ClassVar[str] = "subgen"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"budget", "samples_per_centre", "radius"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.d = check_header_field(params.d, 16, "the SubGen cache's d")
        self.budget = budget_option(params)
        self.t = int_option(params, "samples_per_centre", DEFAULT_SAMPLES_PER_CENTRE, 1)
        self.m_max = max(1, self.budget // self.t)
        radius: Any = params.option("radius", DEFAULT_RADIUS)
        if (isinstance(radius, bool) or not isinstance(radius, (int, float))
                or not math.isfinite(float(radius)) or float(radius) < 0):
            raise ValueError(f"radius={radius!r} must be a finite real number >= 0")
        self.radius = float(radius)
        self.seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1))
        self.n_seen = 0
        self.centres = np.zeros((0, self.d), dtype=np.float16)
        self.counts = np.zeros(0, dtype=np.int64)
        # samples, grouped by centre: centre index, position, key, value
        self.s_centre = np.zeros(0, dtype=np.int64)
        self.s_pos = np.zeros(0, dtype=np.int64)
        self.s_keys = np.zeros((0, self.d), dtype=np.float16)
        self.s_values = np.zeros((0, self.d), dtype=np.float16)
        self.s_founder = np.zeros(0, dtype=bool)  # the sample is its centre's first key

    def priorities(self) -> np.ndarray:
        """u_p for every position of the schedule (uniform on [0, 1), from the seed)."""
        return np.random.default_rng(self.seed).random(self.params.schedule.total_tokens)

    # -- the estimate --------------------------------------------------------------------
    def estimate(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """N(q) / D(q) over the sketch plus the block (keys, values) attended exactly."""
        q = np.asarray(queries, dtype=np.float64)
        c = self.centres.astype(np.float64)
        sk = self.s_keys.astype(np.float64)
        sv = self.s_values.astype(np.float64)
        bk = np.asarray(keys, dtype=np.float64)
        bv = np.asarray(values, dtype=np.float64)
        log_n = np.log(self.counts.astype(np.float64)) if self.counts.size else np.zeros(0)
        t_j = np.minimum(self.counts, self.t)
        log_w = (log_n - np.log(t_j))[self.s_centre] if self.s_centre.size else np.zeros(0)
        out = np.empty((q.shape[0], self.d))
        for start in range(0, q.shape[0], QUERY_CHUNK):
            qb = q[start : start + QUERY_CHUNK]
            sc = qb @ c.T + log_n
            ss = qb @ sk.T + log_w
            sb = qb @ bk.T
            m = np.max(np.concatenate([sc, ss, sb], axis=1), axis=1, keepdims=True)
            den = np.exp(sc - m).sum(axis=1, keepdims=True) + np.exp(sb - m).sum(
                axis=1, keepdims=True)
            num = np.exp(ss - m) @ sv + np.exp(sb - m) @ bv
            out[start : start + QUERY_CHUNK] = num / den
        return out

    # -- the sketch update -----------------------------------------------------------------
    def _fold(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Cluster the block's keys one by one and update counts and bottom-t samples."""
        prio = self.priorities()
        centres = [row for row in self.centres]
        c64 = np.zeros((self.m_max, self.d))
        c64[: len(centres)] = self.centres.astype(np.float64)
        counts = [int(c) for c in self.counts]
        samples: list[list[tuple[int, np.ndarray, np.ndarray, bool]]] = [[] for _ in counts]
        for c, p, k, v, f in zip(self.s_centre, self.s_pos, self.s_keys, self.s_values,
                                 self.s_founder):
            samples[int(c)].append((int(p), k, v, bool(f)))
        for i in range(keys.shape[0]):
            pos = self.n_seen + i
            key, value = keys[i], values[i]
            j = -1
            if centres:
                dist = np.linalg.norm(c64[: len(centres)] - key.astype(np.float64), axis=1)
                j = int(np.argmin(dist))
                if dist[j] > self.radius and len(centres) < self.m_max:
                    j = -1
            if j < 0:
                j = len(centres)
                centres.append(key)
                c64[j] = key.astype(np.float64)
                counts.append(0)
                samples.append([])
            counts[j] += 1
            group = samples[j]
            founder = counts[j] == 1
            if len(group) < self.t:
                group.append((pos, key, value, founder))
            else:
                worst = max(range(len(group)), key=lambda g: prio[group[g][0]])
                if prio[pos] < prio[group[worst][0]]:
                    group[worst] = (pos, key, value, founder)
        flat = [(j, *s) for j, g in enumerate(samples) for s in sorted(g, key=lambda s: s[0])]
        self.centres = np.array(centres, dtype=np.float16).reshape(-1, self.d)
        self.counts = np.array(counts, dtype=np.int64)
        self.s_centre = np.array([f[0] for f in flat], dtype=np.int64)
        self.s_pos = np.array([f[1] for f in flat], dtype=np.int64)
        self.s_keys = np.array([f[2] for f in flat], dtype=np.float16).reshape(-1, self.d)
        self.s_values = np.array([f[3] for f in flat], dtype=np.float16).reshape(-1, self.d)
        self.s_founder = np.array([f[4] for f in flat], dtype=bool)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Estimate the block's outputs (sketch + the block exactly), then fold it in."""
        k_new = np.asarray(keys)
        v_new = np.asarray(values)
        t = k_new.shape[0] if k_new.ndim == 2 else -1
        if t < 1 or k_new.shape != (t, self.d) or v_new.shape != (t, self.d):
            raise ValueError(
                f"keys and values must both have shape (T, d) with T >= 1 and d={self.d}; got "
                f"{k_new.shape} and {v_new.shape}"
            )
        q = np.asarray(queries, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != self.d:
            raise ValueError(f"queries must have shape (T_q, {self.d}), got {q.shape}")
        total = self.params.schedule.total_tokens
        if self.n_seen + t > total:
            raise ValueError(
                f"{self.n_seen} tokens seen plus a block of {t} exceed the schedule's {total}"
            )
        k16, v16 = k_new.astype(np.float16), v_new.astype(np.float16)
        out = self.estimate(q, k16, v16)
        self._fold(k16, v16)
        self.n_seen += t
        return out

    # -- bytes -------------------------------------------------------------------------------
    def _position_bits(self) -> int:
        return max(1, (self.params.schedule.total_tokens - 1).bit_length())

    def to_bytes(self) -> bytes:
        """seed u64, d u16, seen u32, centres u32; centres f16, counts u32; sample
        positions (packed, ceil(log2 L_K) bits each), founder flags (1 bit each), the keys
        of the non-founder samples and all sample values at f16. A founder sample's key IS
        its centre, so it is not stored twice."""
        w = Writer().u64(self.seed).u16(self.d).u32(self.n_seen).u32(self.counts.size)
        w.array(self.centres, "<f2").array(self.counts, "<u4")
        w.raw(pack_codes(self.s_pos, self._position_bits()))
        w.raw(np.packbits(self.s_founder.astype(np.uint8)).tobytes())
        w.array(self.s_keys[~self.s_founder], "<f2").array(self.s_values, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> SubGenCache:
        r = Reader(unframe(data, cls.TAG), "subgen cache message")
        cache = cls(params, None)
        seed = r.u64("seed")
        d = r.u16("d")
        n_seen = r.u32("tokens seen")
        m = r.u32("centres")
        total = params.schedule.total_tokens
        r.expect(seed < 2**63, f"seed {seed} out of range")
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        r.expect(n_seen <= total, f"{n_seen} tokens seen exceed the schedule's {total}")
        r.expect(m <= min(n_seen, cache.m_max),
                 f"{m} centres exceed min(seen={n_seen}, m={cache.m_max})")
        centres = r.array("<f2", (m, d), "centres")
        counts = r.array("<u4", (m,), "counts").astype(np.int64)
        r.expect(bool((counts >= 1).all()) and int(counts.sum()) == n_seen,
                 f"centre counts must be >= 1 and sum to the {n_seen} tokens seen")
        t_j = np.minimum(counts, cache.t)
        n_samples = int(t_j.sum())
        bits = cache._position_bits()
        pos = unpack_codes(r.raw(packed_size(n_samples, bits), "sample positions"), bits,
                           n_samples).astype(np.int64)
        r.expect(bool((pos < n_seen).all()) and np.unique(pos).size == n_samples,
                 "sample positions must be distinct and < tokens seen")
        flag_bits = np.unpackbits(np.frombuffer(r.raw((n_samples + 7) // 8, "founder flags"),
                                                np.uint8))
        r.expect(not flag_bits[n_samples:].any(), "nonzero padding bits after the founder flags")
        founder = flag_bits[:n_samples].astype(bool)
        s_centre = np.repeat(np.arange(m), t_j)
        r.expect(np.unique(s_centre[founder]).size == int(founder.sum()),
                 "a centre has two founder samples")
        s_keys = np.empty((n_samples, d), dtype=np.float16)
        s_keys[founder] = centres[s_centre[founder]]
        s_keys[~founder] = r.array("<f2", (n_samples - int(founder.sum()), d), "sample keys")
        s_values = r.array("<f2", (n_samples, d), "sample values")
        r.expect(bool(np.isfinite(centres).all() and np.isfinite(s_keys).all()
                      and np.isfinite(s_values).all()), "non-finite centre, key or value")
        r.finish()
        cache.seed, cache.n_seen = seed, n_seen
        cache.centres, cache.counts = centres, counts
        cache.s_centre, cache.s_founder = s_centre, founder
        cache.s_pos, cache.s_keys, cache.s_values = pos, s_keys, s_values
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "subgen",
    CacheEntry(
        SubGenCache,
        {},
        "clustered keys + per-centre samples (after SubGen, Zandieh et al. 2024)",
        budgeted=True,
    ),
)
