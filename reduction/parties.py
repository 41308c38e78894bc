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

Bob's passes are independent (each starts from the same message): ``workers`` threads
share them, or, for a cache offering the fast path ``attend_with_zero_block`` (the exact
cache: his rows only, the zero block in closed form, float32 with a rounding bound checked
against his thresholds, reduction.attention32), share each pass's rows. Every GEMM runs
on one BLAS thread (reduction.isolation.threads), so the outputs do not depend on ``workers``.

These functions run inside the parties' worker processes (reduction.isolation.worker), or inline
for registered caches in fast tests; the verifier (reduction.protocol) sits above them
and never runs a third-party cache itself. Every state a cache returns is normalised
once, here, to a plain ``bytes`` object: that object is what is counted and sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction.attention import active_record, record_logits
from reduction.cachespec import resolve as resolve_cache
from reduction.errors import CacheFault
from reduction.isolation.threads import blas_threads, check_workers
from reduction.public import PublicParams

__all__ = ["CacheContractError", "BobAnswer", "build_cache", "stream_states", "bob_pass",
           "alice_states", "alice_message", "bob_answer", "bob_outputs", "normalise_message",
           "offers_fast_path"]


@dataclass(frozen=True)
class BobAnswer:
    """Bob's outputs (tokens x d) and the largest |logit| his cache's attention computed
    (None when it computed none through reduction.attention): a claim of his process."""

    outputs: np.ndarray
    max_abs_logit: float | None


class CacheContractError(CacheFault):
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
        raise InvalidArgument(f"Alice's bits have shape {x.shape}, expected (L', d) = ({n_keys}, "
                         f"{public.d})")
    keys = public.cached_keys()
    values = np.zeros((public.schedule.cached_tokens, public.d))
    values[:n_keys] = public.values(x)
    cache = build_cache(public, rng)
    blocks = ((np.zeros((stop - start, public.d)), keys[start:stop], values[start:stop])
              for start, stop in public.schedule.block_bounds[:-1])
    return stream_states(cache, blocks, public.cache)


Block = tuple[np.ndarray, np.ndarray, np.ndarray]


def stream_states(cache: Any, blocks: Iterable[Block], name: str,
                  outputs: list[np.ndarray] | None = None) -> list[bytes]:
    """Alice's streaming loop, the only one in kvbound: each scale block (queries, keys,
    values) through ``cache.process``, then the state as plain bytes
    (:func:`normalise_message`) after every block; ``outputs``, when given, receives
    what ``process`` returned (the contract checks read it)."""
    states = []
    for queries, keys, values in blocks:
        z = cache.process(queries, keys, values)
        if outputs is not None:
            outputs.append(np.asarray(z))
        states.append(normalise_message(cache.to_bytes(), name))
    return states


def bob_pass(cls: Any, message: bytes, params: Any, queries: np.ndarray, name: str) -> np.ndarray:
    """One of Bob's passes, the only one in kvbound: a cache rebuilt from the bytes alone
    (``cls.from_bytes(message, params)``) answers the last scale's queries with zero keys
    and values; its outputs (T_K, d) as float64, shape checked."""
    cache = cls.from_bytes(message, params)
    zero_kv = np.zeros_like(queries, dtype=np.float64)
    z = np.asarray(cache.process(queries, zero_kv, zero_kv), dtype=np.float64)
    if z.shape != queries.shape:
        raise CacheFault(f"cache {name!r}: process returned shape {z.shape}, "
                         f"expected {queries.shape}")
    return z


def build_cache(public: PublicParams, rng: np.random.Generator) -> Any:
    """A fresh cache on Alice's side. A ``ValueError`` from the cache's constructor is its
    refusal of the options it was given (bad input, :class:`InvalidArgument`)."""
    cls = resolve_cache(public.cache).cls
    params = public.cache_params
    try:
        return cls(params, rng)
    except InvalidArgument:
        raise
    except ValueError as exc:
        raise InvalidArgument(f"cache {public.cache!r} refused its options "
                              f"{dict(params.options)}: {exc}") from None


def alice_message(
    bits: np.ndarray, public: PublicParams, rng: np.random.Generator | int | None = None
) -> bytes:
    """Alice's message: her state after scale K-1 (docs/theorem.md#reduction)."""
    return alice_states(bits, public, rng)[-1]


def offers_fast_path(cls: type) -> bool:
    """Whether Bob may call ``attend_with_zero_block`` instead of ``process``: only when
    the class that defines ``process`` defines it too (a subclass changing ``process``
    does not inherit a fast path that would bypass its change).

    >>> import caches
    >>> from reduction.cachespec import resolve as resolve_cache
    >>> offers_fast_path(resolve_cache("exact").cls), offers_fast_path(resolve_cache("h2o").cls)
    (True, False)
    """
    owner = next((c for c in cls.__mro__ if "process" in vars(c)), None)
    return owner is not None and "attend_with_zero_block" in vars(owner)


def bob_answer(
    message: bytes, public: PublicParams, tokens: Iterable[int] | None = None,
    *, workers: int = 1,
) -> BobAnswer:
    """Bob's side: Z_hat rows of the requested carrying tokens, from the bytes alone.

    One pass per batch of T_K tokens, each from a cache freshly rebuilt from ``message``:
    queries C * k_i for the batch (zero rows elsewhere), zero keys and values; a cache
    with the fast path gets the batch's rows, T_K and the thresholds instead (module
    docstring). ``workers`` threads share the work; the outputs do not depend on it. Under
    a logit cap (or inside an active :func:`reduction.attention.record_logits`) the
    largest |logit| computed through reduction.attention in the passes is recorded;
    otherwise the claim is None.
    """
    if type(message) is not bytes:
        raise InvalidArgument(f"Bob's message must be plain bytes, got {type(message).__name__}")
    workers = check_workers(workers)
    n_keys = public.n_carriers
    wanted = np.arange(n_keys) if tokens is None else np.asarray(list(tokens), dtype=np.int64)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= n_keys):
        raise InvalidArgument(f"Bob's tokens must lie in [0, L') with L'={n_keys} carrying tokens")
    entry = resolve_cache(public.cache)
    params = public.cache_params
    t_last, d = public.schedule.last_scale_tokens, public.d
    thresholds = public.thresholds
    threshold = thresholds[0] if len(thresholds) == 1 else thresholds
    fast = offers_fast_path(entry.cls)
    batches = [wanted[s : s + t_last] for s in range(0, wanted.size, t_last)]

    def one_pass(batch: np.ndarray) -> np.ndarray:
        if not fast:
            queries = np.zeros((t_last, d))
            queries[: batch.size] = public.bob_queries(batch)
            return bob_pass(entry.cls, message, params, queries, public.cache)[: batch.size]
        cache = entry.cls.from_bytes(message, params)
        z = np.asarray(cache.attend_with_zero_block(  # type: ignore[attr-defined]
            public.bob_queries(batch), t_last, threshold=threshold, workers=workers),
            dtype=np.float64)
        if z.shape != (batch.size, d):
            raise CacheFault(f"cache {public.cache!r}: attend_with_zero_block returned shape "
                             f"{z.shape}, expected {(batch.size, d)}")
        return z

    out = np.empty((wanted.size, d), dtype=np.float64)
    # the logit record costs a pass over every score block: kept where a cap asks for it
    # (or an enclosing record listens), as the verifier's check is (docs/theorem.md#cap)
    wanted_record = public.effective_cap is not None or active_record() is not None
    with (record_logits() if wanted_record else nullcontext()) as record, blas_threads(1):
        if fast or workers == 1 or len(batches) < 2:
            for i, b in enumerate(batches):  # each pass straight into its rows
                out[i * t_last : i * t_last + b.size] = one_pass(b)
        else:  # each pass in a copy of this context, so the record sees its logits
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(copy_context().run, one_pass, b) for b in batches]
                for i, (b, f) in enumerate(zip(batches, futures)):
                    out[i * t_last : i * t_last + b.size] = f.result()
    return BobAnswer(out, record.max_abs if record is not None and record.count else None)


def bob_outputs(
    message: bytes, public: PublicParams, tokens: Iterable[int] | None = None,
    *, workers: int = 1,
) -> np.ndarray:
    """Bob's outputs alone (:func:`bob_answer` without the logit record)."""
    return bob_answer(message, public, tokens, workers=workers).outputs
