"""The two parties of the reduction: what Alice's and Bob's processes each compute.

Purpose: docs/theorem.md#reduction. Alice streams scales 1..K-1 into a fresh cache (keys
= the public keys in order, values = the rows of X, queries = 0) and her state after
each scale is taken as bytes; the state after scale K-1 is her message. Bob rebuilds
the cache from the message and the public parameters alone and feeds the last scale:
queries C*k_i for a batch of up to T_K tokens, zero keys and values, ceil(L/T_K) passes
from the same message. In the low-dimension variant (docs/theorem.md#c1, #unused) X has
L' rows: the first L' cached tokens carry them, the others get zero keys and values, and
Bob queries only the carriers. For a VAR head (docs/theorem.md#var-head) keys and queries
pass through the head's normalisation (PublicParams.cached_keys, .bob_queries). Bob
records the largest |logit| his cache's attention computed (reduction.attention) and
reports it with his outputs: a claim the verifier checks against its own recomputation.

These functions run inside the parties' worker processes (reduction.worker), or inline
for registered caches in fast tests; the verifier (reduction.protocol) sits above them
and never runs a third-party cache itself. Every state a cache returns is normalised
once, here, to a plain ``bytes`` object: that object is what is counted and sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from reduction.attention import record_logits
from reduction.compressors import resolve_cache
from reduction.public import PublicParams

__all__ = ["CacheContractError", "BobAnswer", "alice_states", "alice_message", "bob_answer",
           "bob_outputs", "normalise_message"]


@dataclass(frozen=True)
class BobAnswer:
    """Bob's outputs (tokens x d) and the largest |logit| his cache's attention computed
    (None when it computed none through reduction.attention): a claim of his process."""

    outputs: np.ndarray
    max_abs_logit: float | None


class CacheContractError(ValueError):
    """A cache broke the contract of reduction.cache (e.g. ``to_bytes`` not bytes)."""


def normalise_message(state: object, cache: str) -> bytes:
    """The state a cache returned as one plain ``bytes`` object (its buffer, copied).

    A ``bytes`` subclass is copied through the buffer protocol, so an overridden
    ``__len__`` or ``__bytes__`` cannot change what is counted or sent; anything else
    (``bytearray``, ``memoryview``, str, ...) is a contract error naming the cache.

    >>> class Liar(bytes):
    ...     def __len__(self): return 10**6
    >>> m = normalise_message(Liar(b"abc"), "demo")
    >>> type(m) is bytes, len(m)
    (True, 3)
    """
    if type(state) is bytes:
        return state
    if isinstance(state, bytes):
        return memoryview(state).tobytes()
    raise CacheContractError(
        f"cache {cache!r}: to_bytes() returned {type(state).__name__}; it must return bytes "
        "(convert a bytearray or memoryview with bytes(...))"
    )


def alice_states(
    bits: np.ndarray, public: PublicParams, rng: np.random.Generator | int | None = None
) -> list[bytes]:
    """Alice's cache state, as bytes, after each of the scales 1..K-1 (the memory of
    docs/theorem.md#mem is the largest); the last one is her message."""
    rng = np.random.default_rng(rng)
    x = np.asarray(bits)
    n_keys = public.n_carriers
    if x.shape != (n_keys, public.d):
        raise ValueError(f"Alice's bits have shape {x.shape}, expected (L', d) = ({n_keys}, "
                         f"{public.d})")
    keys = public.cached_keys()
    values = np.zeros((public.schedule.cached_tokens, public.d))
    values[:n_keys] = public.values(x)
    cache = resolve_cache(public.cache).cls(public.cache_params, rng)
    states = []
    for start, stop in public.schedule.block_bounds[:-1]:
        zeros_q = np.zeros((stop - start, public.d))
        cache.process(zeros_q, keys[start:stop], values[start:stop])
        states.append(normalise_message(cache.to_bytes(), public.cache))
    return states


def alice_message(
    bits: np.ndarray, public: PublicParams, rng: np.random.Generator | int | None = None
) -> bytes:
    """Alice's message: her state after scale K-1 (docs/theorem.md#reduction)."""
    return alice_states(bits, public, rng)[-1]


def bob_answer(
    message: bytes, public: PublicParams, tokens: Iterable[int] | None = None
) -> BobAnswer:
    """Bob's side: Z_hat rows of the requested carrying tokens, from the bytes alone.

    One pass per batch of T_K tokens, each from a cache freshly rebuilt from ``message``:
    queries C * k_i for the batch (zero rows elsewhere), zero keys and values. The
    largest |logit| computed through reduction.attention in the passes is recorded.
    """
    if type(message) is not bytes:
        raise ValueError(f"Bob's message must be plain bytes, got {type(message).__name__}")
    n_keys = public.n_carriers
    wanted = np.arange(n_keys) if tokens is None else np.asarray(list(tokens), dtype=np.int64)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= n_keys):
        raise ValueError(f"Bob's tokens must lie in [0, L') with L'={n_keys} carrying tokens")
    entry = resolve_cache(public.cache)
    params = public.cache_params
    t_last, d = public.schedule.last_scale_tokens, public.d
    zero_kv = np.zeros((t_last, d))
    out = np.empty((wanted.size, d), dtype=np.float64)
    with record_logits() as record:
        for start in range(0, wanted.size, t_last):
            batch = wanted[start : start + t_last]
            cache = entry.cls.from_bytes(message, params)
            queries = np.zeros((t_last, d))
            queries[: batch.size] = public.bob_queries(batch)
            z = np.asarray(cache.process(queries, zero_kv, zero_kv), dtype=np.float64)
            if z.shape != (t_last, d):
                raise ValueError(f"{public.cache}.process returned shape {z.shape}, "
                                 f"expected ({t_last}, {d})")
            out[start : start + batch.size] = z[: batch.size]
    return BobAnswer(out, record.max_abs if record.count else None)


def bob_outputs(
    message: bytes, public: PublicParams, tokens: Iterable[int] | None = None
) -> np.ndarray:
    """Bob's outputs alone (:func:`bob_answer` without the logit record)."""
    return bob_answer(message, public, tokens).outputs
