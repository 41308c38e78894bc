"""Shared mechanics of the token-eviction caches (StreamingLLM, H2O, SnapKV, TOVA, ...).

Purpose: every eviction policy listed in docs/compressors.md keeps the float16 keys and values of a
subset of the tokens seen so far and differs only in *which* tokens it keeps. This
private module holds the common part: append a scale block, attend the block's queries to
every kept token and to the block's own tokens (block-causal, docs/theorem.md#model), then
evict down to the budget B = ``budget_tokens(budget, L_{K-1})`` by the scores the
subclass supplies (higher = keep), and serialise the kept rows.

Main statement (a prediction worth testing): a policy whose final state
keeps a fraction f of the L_{K-1} cached rows, chosen without looking at the values,
loses exactly the bits of the evicted rows: Bob's output for an evicted token i is a
function of the kept rows only, so each of its d bits decodes wrongly with probability
1/2 on uniform bits and the expected error rate is (1 - f)/2.

Conventions shared by all subclasses:

* **When**: attention first, eviction after, once per ``process()`` call (per scale). The
  papers evict per decoded token; a VAR scale is decoded in parallel, so the scale is
  the unit here. The state after any call holds at most B tokens.
* **Ties** (zero queries during Alice's scales make every attention score equal; unit-norm
  keys make every key norm equal): broken deterministically in favour of the MORE RECENT
  token (larger position). No randomness is spent on ties.
* **Memory** (the message): 4-byte tag, header (d: u16, tokens seen: u32, tokens kept:
  u32), a bitmap of the kept positions (one bit per token seen, so ``ceil(seen / 8)``
  bytes), the kept keys and values at float16, then the policy's extra state (e.g. H2O's
  float32 scores), then the CRC-32. Everything Bob's side needs is in the bytes.

References: Xiao et al. 2023 (arXiv 2309.17453); Zhang et al. 2023 (arXiv 2306.14048);
Li et al. 2024 (arXiv 2404.14469); Oren et al. 2024 (arXiv 2401.06104); Devoto et al.
2024 (arXiv 2406.11430); NVIDIA kvpress (``RandomPress``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar

import numpy as np

from reduction.attention import attend, softmax_rows
from reduction.cache import BaseCache, CacheParams, budget_tokens
from reduction.message import (
    FRAME_OVERHEAD_BYTES,
    Reader,
    Writer,
    check_header_field,
)

__all__ = [
    "DEFAULT_BUDGET",
    "EvictionCache",
    "keep_top",
    "attention_weights",
    "budget_option",
    "int_option",
    "fraction_option",
    "eviction_message_bits",
]

DEFAULT_BUDGET = 0.5
QUERY_CHUNK = 512
_HEADER_FIELDS = "d (u16), tokens seen (u32), tokens kept (u32)"

_E = TypeVar("_E", bound="EvictionCache")


def eviction_message_bits(
    seen: int, kept: int, d: int, per_token_bytes: int = 0, fixed_bytes: int = 0
) -> int:
    """Bits of an eviction cache's message: 8 * (8 + 10 + ceil(seen/8) + kept * (4d + e) + f).

    Framing (8 bytes), header (10), kept bitmap, float16 K and V of the kept tokens, and
    the policy's extra state: ``per_token_bytes`` e (H2O's float32 score: 4) and
    ``fixed_bytes`` f (random eviction's seed: 8). Linear in the kept tokens.

    >>> eviction_message_bits(424, 212, 64)
    434744
    >>> eviction_message_bits(424, 424, 64)
    868920
    """
    return 8 * (FRAME_OVERHEAD_BYTES + 10 + (seen + 7) // 8
                + kept * (4 * d + per_token_bytes) + fixed_bytes)


def budget_option(params: CacheParams) -> int:
    """B, the tokens kept after Alice's scales: ``budget_tokens(budget, L_{K-1})``.

    The option ``budget`` is the kept fraction in (0, 1] or a token count >= 1 (default
    :data:`DEFAULT_BUDGET`); kvpress's ``compression_ratio`` would be 1 - budget.
    """
    budget = params.option("budget", DEFAULT_BUDGET)
    if isinstance(budget, str) or budget is None:
        raise ValueError(
            f"budget={budget!r} must be a kept fraction in (0, 1] or a whole token count >= 1"
        )
    return budget_tokens(budget, params.schedule.cached_tokens)


def int_option(params: CacheParams, name: str, default: int, lower: int) -> int:
    """An integer option ``>= lower`` (floats with integral value accepted)."""
    value: Any = params.option(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lower:
        raise ValueError(f"{name}={value!r} must be an integer >= {lower}")
    return int(value)


def fraction_option(params: CacheParams, name: str, default: float) -> float:
    """A real option in the closed interval [0, 1]."""
    value: Any = params.option(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(float(value))
        or not 0.0 <= float(value) <= 1.0
    ):
        raise ValueError(f"{name}={value!r} must be a real number in the closed interval [0, 1]")
    return float(value)


def keep_top(scores: np.ndarray, positions: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, ties to the larger position, in index order.

    The common selection rule of every eviction policy (ties: more recent token kept).

    >>> keep_top(np.array([1.0, 3.0, 3.0, 0.0]), np.array([0, 1, 2, 3]), 2).tolist()
    [1, 2]
    >>> keep_top(np.zeros(4), np.array([0, 1, 2, 3]), 2).tolist()
    [2, 3]
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(positions, dtype=np.int64)
    if np.isnan(s).any():
        raise ValueError("eviction scores contain NaN")
    order = np.lexsort((-p, -s))  # primary key: score descending; then position descending
    return np.sort(order[: max(0, int(k))])


def attention_weights(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """softmax_rows(Q K^T) in float64 (the attention matrix; for a few observation rows).

    Notes: docs/theorem.md#model; used by the attention-scored policies (TOVA, SnapKV).

    >>> attention_weights(np.zeros((1, 2)), np.eye(2)).tolist()
    [[0.5, 0.5]]
    """
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    return softmax_rows(q @ k.T) if q.shape[0] else np.zeros((0, k.shape[0]))


class EvictionCache(BaseCache):
    """Base of the eviction caches: float16 K/V of the kept tokens plus their positions.

    Subclasses set ``TAG`` and override :meth:`_scores` (higher = keep); optionally
    :meth:`_attend` (to observe attention while attending), :meth:`_target` (how many
    tokens to keep after a block), and the extra-state hooks.
    """

    TAG: ClassVar[bytes] = b"EVC0"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"budget"})
    NAME: ClassVar[str] = "eviction"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.d = check_header_field(params.d, 16, "the eviction cache's d")
        self.capacity = budget_option(params)
        self.keys = np.zeros((0, params.d), dtype=np.float16)
        self.values = np.zeros((0, params.d), dtype=np.float16)
        self.positions = np.zeros(0, dtype=np.int64)
        self._configure(params, rng)

    # -- hooks ---------------------------------------------------------------------------
    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        """Read and validate the policy's options (called by ``__init__``)."""

    def _attend(
        self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray, n_old: int
    ) -> np.ndarray:
        """The block's outputs over kept + block tokens (override to observe attention)."""
        return attend(queries, keys, values)

    def _scores(self, queries: np.ndarray, keys: np.ndarray, positions: np.ndarray,
                n_old: int) -> np.ndarray:
        """One score per candidate token (kept + block); the top ones are kept."""
        raise NotImplementedError

    def _target(self, n_old: int, n_new: int) -> int:
        """How many of the ``n_old + n_new`` candidates to keep after this block."""
        return min(self.capacity, n_old + n_new)

    def _after_eviction(self, keep: np.ndarray) -> None:
        """Reindex per-token extra state by the kept candidate indices."""

    def _write_extra(self, w: Writer) -> None:
        """Serialise the policy's extra state (after keys and values)."""

    def _read_extra(self, r: Reader) -> None:
        """Read back what :meth:`_write_extra` wrote (validate every value)."""

    def _max_kept(self) -> int:
        """The most tokens a valid state can hold (for validating bytes)."""
        return self.capacity

    # -- the contract --------------------------------------------------------------------
    @property
    def n_kept(self) -> int:
        return int(self.positions.size)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block at float16, attend its queries to kept + block, then evict."""
        q, k_new, v_new = self.checked_block(queries, keys, values)
        t = k_new.shape[0]
        n_old = self.n_kept
        all_k = np.concatenate([self.keys, k_new.astype(np.float16)])
        all_v = np.concatenate([self.values, v_new.astype(np.float16)])
        all_p = np.concatenate([self.positions, self.n_seen + np.arange(t, dtype=np.int64)])
        out = self._attend(q, all_k, all_v, n_old)
        target = self._target(n_old, t)
        if target < all_p.size:
            scores = self._scores(q, all_k, all_p, n_old)
            keep = keep_top(scores, all_p, target)
        else:
            keep = np.arange(all_p.size)
        self._after_eviction(keep)
        self.keys, self.values, self.positions = all_k[keep], all_v[keep], all_p[keep]
        self.n_seen += t
        return out

    def write_state(self, w: Writer) -> None:
        mask = np.zeros(self.n_seen, dtype=np.uint8)
        mask[self.positions] = 1
        w.u16(self.d).u32(self.n_seen).u32(self.n_kept)
        w.raw(np.packbits(mask).tobytes())
        w.array(self.keys, "<f2").array(self.values, "<f2")
        self._write_extra(w)

    def read_state(self, r: Reader) -> None:
        params = self.params
        d = r.u16("d")
        n_seen = r.u32("tokens seen")
        n_kept = r.u32("tokens kept")
        total = params.schedule.total_tokens
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        r.expect(n_seen <= total, f"{n_seen} tokens seen exceed the schedule's {total}")
        r.expect(
            n_kept <= min(n_seen, self._max_kept()),
            f"{n_kept} kept tokens exceed min(seen={n_seen}, budget={self._max_kept()})",
        )
        bits = np.unpackbits(np.frombuffer(r.raw((n_seen + 7) // 8, "kept bitmap"), np.uint8))
        r.expect(not bits[n_seen:].any(), "nonzero padding bits after the kept bitmap")
        positions = np.flatnonzero(bits[:n_seen]).astype(np.int64)
        r.expect(
            positions.size == n_kept,
            f"the bitmap marks {positions.size} kept tokens, the header says {n_kept}",
        )
        keys = r.array("<f2", (n_kept, d), "keys")
        values = r.array("<f2", (n_kept, d), "values")
        r.expect(bool(np.isfinite(keys).all() and np.isfinite(values).all()),
                 "non-finite key or value")
        self.keys, self.values, self.positions, self.n_seen = keys, values, positions, n_seen
        self._read_extra(r)
