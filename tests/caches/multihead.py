"""A small multi-head, multi-layer run of the reduction, for the caches of issue 18.

Each of the D*H heads carries its own Index instance: its keys are the one-head
reduction's certified family for its own key seed (``PublicParams.cached_keys``), its
values fresh uniform bits; Bob queries C k_i in every head in the same passes of T_K
tokens and thresholds at tau (Lemma L3), C and tau being those of the one-head instance
(they depend on L, T_K, eps and eta only, docs/theorem.md#l3). A cache with
``MULTI_HEAD`` receives (D, H, T, d) blocks; any other is run head by head with the
uniform share of the row budget, as the zoo's per-head wrapper does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reduction.cache import CacheParams, budget_rows, uniform_split
from reduction.decode import decode_bits
from reduction.isolation.threads import blas_threads
from reduction.public import PublicParams
from reduction.schedule import Schedule

VAR256 = Schedule.parse("var-256")
D_HEAD, EPS, ETA = 64, 0.6, 0.5  # d_min(424, 0.6) = 64


@dataclass
class HeadsRun:
    """What a run measured: bits, decoded bits, kept rows per head, the message bytes."""

    bits: np.ndarray  # (D, H, L, d)
    decoded: np.ndarray  # (D, H, L, d)
    kept_mask: np.ndarray  # (D, H, L): the rows Alice's message keeps
    message_bytes: int

    @property
    def kept(self) -> np.ndarray:
        """(D, H) rows kept per head."""
        return self.kept_mask.sum(axis=2)

    @property
    def error_rate(self) -> float:
        return float((self.bits != self.decoded).mean())

    @property
    def kept_fraction(self) -> float:
        return float(self.kept.sum()) / (self.kept.size * self.bits.shape[2])

    @property
    def predicted(self) -> float:
        """The eviction law: (1 - f)/2 with f the kept fraction of all rows."""
        return (1.0 - self.kept_fraction) / 2.0

    def head_errors(self) -> np.ndarray:
        return (self.bits != self.decoded).mean(axis=(2, 3))


def keys_for(layers: int, heads: int, seed: int, schedule: Schedule = VAR256,
             d: int = D_HEAD) -> tuple[np.ndarray, PublicParams]:
    """(D, H, L, d) public keys, head (l, h) from key seed 1000 seed + l H + h."""
    publics = [PublicParams(schedule, d, EPS, ETA, key_seed=1000 * seed + s)
               for s in range(layers * heads)]
    keys = np.stack([p.cached_keys() for p in publics])
    return keys.reshape(layers, heads, schedule.cached_tokens, d), publics[0]


def _kept_positions(cache: Any) -> list[np.ndarray]:
    """Kept positions per head: an eviction cache's ``positions`` (one array, or one per
    head), or every token seen (a cache that keeps every row, e.g. ThinK)."""
    positions = getattr(cache, "positions", None)
    if isinstance(positions, list):
        return positions
    if positions is not None:
        return [np.asarray(positions)]
    return [np.arange(cache.n_seen)]


def run_heads(cls: Any, layers: int, heads: int, options: dict[str, Any], seed: int = 0,
              schedule: Schedule = VAR256, d: int = D_HEAD,
              scale_option: bool = False) -> HeadsRun:
    """Alice streams scales 1..K-1 into the cache, Bob decodes from its bytes alone
    (one BLAS thread: small products, where a thread pool only costs)."""
    with blas_threads(1):
        return _run(cls, layers, heads, options, seed, schedule, d, scale_option)


def _run(cls: Any, layers: int, heads: int, options: dict[str, Any], seed: int,
         schedule: Schedule, d: int, scale_option: bool) -> HeadsRun:
    keys, public = keys_for(layers, heads, seed, schedule, d)
    rng = np.random.default_rng(seed)
    n, t_k = schedule.cached_tokens, schedule.last_scale_tokens
    bits = rng.integers(0, 2, size=(layers, heads, n, d)).astype(np.float64)
    if scale_option:
        options = {**options, "scale": float(public.scale)}
    multi = bool(getattr(cls, "MULTI_HEAD", False))
    if multi:
        params = CacheParams(d, schedule, options, heads=heads, layers=layers)
        caches = [cls(params, rng)]
    else:
        shares: list[Any] = [None] * (layers * heads)
        if "budget" in options:  # the uniform split of the rows, a token count per head
            shape = CacheParams(d, schedule, heads=heads, layers=layers)
            shares = uniform_split(budget_rows(options["budget"], shape), layers * heads)
        one = [CacheParams(d, schedule, options if s is None else {**options, "budget": s})
               for s in shares]
        caches = [cls(p, rng) for p in one]
    for start, stop in schedule.block_bounds[:-1]:
        q = np.zeros((layers, heads, stop - start, d))
        k, v = keys[:, :, start:stop], bits[:, :, start:stop]
        if multi:
            caches[0].process(q, k, v)
        else:
            for s, c in enumerate(caches):
                c.process(q[s // heads, s % heads], k[s // heads, s % heads],
                          v[s // heads, s % heads])
    messages = [c.to_bytes() for c in caches]
    kept = np.zeros((layers * heads, n), dtype=bool)
    for s, pos in enumerate(p for c in caches for p in _kept_positions(c)):
        kept[s, pos] = True
    decoded = np.zeros_like(bits)
    zeros = np.zeros((layers, heads, t_k, d))
    for first in range(0, n, t_k):
        last = min(n, first + t_k)
        q = np.zeros((layers, heads, t_k, d))
        q[:, :, : last - first] = public.scale * keys[:, :, first:last]
        if multi:
            out = cls.from_bytes(messages[0], params).process(q, zeros, zeros)
        else:
            out = np.stack([cls.from_bytes(m, p).process(q[s // heads, s % heads],
                                                         zeros[0, 0], zeros[0, 0])
                            for s, (m, p) in enumerate(zip(messages, one))])
            out = out.reshape(layers, heads, t_k, d)
        decoded[:, :, first:last] = decode_bits(out[:, :, : last - first], public.tau)
    return HeadsRun(bits, decoded, kept.reshape(layers, heads, n), sum(len(m) for m in messages))
