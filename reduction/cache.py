"""The KV-cache interface every compressor implements, and its public parameters.

Purpose: the streaming compression problem of docs/theorem.md#model. An algorithm keeps a
state S; for each scale it receives (Q_k, K_k, V_k), returns its attention outputs Z_k
(block-causal: the block's queries see every kept token, the block's own included) and
updates S. Its memory is the size of S in bits: here ``8 * len(cache.to_bytes())``.

The contract (checked by tests for every registered cache):

* ``Cls(params, rng)`` builds an empty cache on Alice's side; ``rng`` is the cache's own
  randomness (random eviction, sketches, sampling). Anything Bob needs of it must be
  written into the bytes.
* ``process(queries, keys, values) -> outputs`` handles one scale block.
* ``to_bytes()`` returns the whole state; ``Cls.from_bytes(data, params)`` rebuilds it
  from those bytes and the public :class:`CacheParams` alone, and raises a ``ValueError``
  (:class:`reduction.message.CorruptMessageError`) on bytes it did not write.

Many heads and layers (docs/theorem.md#c2-run): ``CacheParams.heads`` H and ``layers`` D.
With D * H > 1 every block is a (D, H, T_k, d) array and ``process`` returns (D, H, T_k, d)
outputs; a class that handles this itself sets ``MULTI_HEAD = True`` (class attribute),
any other is run head by head, one instance per (layer, head), by the zoo's per-head
wrapper (the uniform split of the budget). With D = H = 1 nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.message import Reader, Writer, frame, unframe
from reduction.schedule import Schedule

__all__ = ["CacheParams", "KVCache", "BaseCache", "budget_tokens", "budget_rows",
           "uniform_split", "check_block", "check_heads_block"]


@dataclass(frozen=True)
class CacheParams:
    """Public parameters both parties know: head dimension, schedule, cache options, and
    how many heads and layers the cache serves at once.

    ``options`` holds JSON scalars only (a budget, a bit width, ...), so it crosses the
    process boundary as JSON; it carries nothing of Alice's input.

    ``heads`` H and ``layers`` D (docs/theorem.md#c2-run): with H = D = 1 (the default)
    a cache's blocks are (T_k, d) arrays, exactly as for one head. With D * H > 1 every
    block is a (D, H, T_k, d) array (queries, keys and values alike) and ``process``
    returns (D, H, T_k, d) outputs; a class handling that itself sets the class
    attribute ``MULTI_HEAD = True``, any other class is run head by head by the zoo's
    per-head wrapper. A ``budget`` is then a kept fraction (or count) of all D * H * L
    cached rows, allocated by each policy its own way.
    """

    d: int
    schedule: Schedule
    options: Mapping[str, Any] = field(default_factory=dict)
    heads: int = 1
    layers: int = 1

    def __post_init__(self) -> None:
        check_int_at_least(self.d, "d", 1)
        check_int_at_least(self.heads, "heads", 1)
        check_int_at_least(self.layers, "layers", 1)
        for key, value in self.options.items():
            if not isinstance(key, str) or not (
                value is None or isinstance(value, (bool, int, float, str))
            ):
                raise InvalidArgument(
                    f"cache option {key!r}={value!r} must be a JSON scalar (bool, int, float, str)"
                )
        object.__setattr__(self, "options", dict(self.options))

    def option(self, name: str, default: Any = None) -> Any:
        """The option ``name``, or ``default`` when it is not set."""
        return self.options.get(name, default)

    @property
    def n_heads(self) -> int:
        """D * H, the heads the cache serves (1 for the one-head reduction)."""
        return self.heads * self.layers

    @property
    def multi_head(self) -> bool:
        """Whether blocks are (D, H, T_k, d) arrays (D * H > 1) rather than (T_k, d)."""
        return self.n_heads > 1

    @property
    def block_prefix(self) -> tuple[int, ...]:
        """The leading axes of every block: (D, H), or () for one head.

        >>> CacheParams(4, Schedule.parse("var-256"), heads=2, layers=3).block_prefix
        (3, 2)
        """
        return (self.layers, self.heads) if self.multi_head else ()

    def one_head(self, options: Mapping[str, Any] | None = None) -> CacheParams:
        """The same parameters for a single head (options replaced when given)."""
        return CacheParams(self.d, self.schedule,
                           self.options if options is None else options)

    def to_json(self) -> dict[str, Any]:
        return {"d": self.d, "schedule": self.schedule.to_json(), "options": dict(self.options),
                "heads": self.heads, "layers": self.layers}

    @classmethod
    def from_json(cls, obj: Any) -> CacheParams:
        if not isinstance(obj, dict) or not {"d", "schedule", "options"} <= obj.keys():
            raise InvalidArgument("cache params must be an object with d, schedule and options")
        if not isinstance(obj["options"], dict):
            raise InvalidArgument("cache params 'options' must be an object")
        heads, layers = obj.get("heads", 1), obj.get("layers", 1)
        if type(heads) is not int or type(layers) is not int:
            raise InvalidArgument(f"cache params heads={heads!r}, layers={layers!r} must be "
                                  "whole numbers >= 1")
        return cls(int(obj["d"]), Schedule.from_json(obj["schedule"]), obj["options"],
                   heads=heads, layers=layers)


@runtime_checkable
class KVCache(Protocol):
    """What a KV cache (exact or compressed) offers the Alice/Bob protocol."""

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append one scale block and return its queries' attention outputs."""
        ...

    def to_bytes(self) -> bytes:
        """The whole state as bytes: the message, whose length is the measured memory."""
        ...

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> KVCache:
        """Rebuild from the bytes and public parameters alone (ValueError if invalid)."""
        ...


def budget_tokens(budget: float | int, n_tokens: int) -> int:
    """Tokens kept under a budget given as a kept fraction in (0, 1] or a token count >= 1.

    Convention: the fraction KEPT (kvpress's ``compression_ratio`` is the fraction
    removed, i.e. 1 - budget). A fraction rounds up, so a positive budget keeps >= 1 token.

    >>> budget_tokens(0.5, 424), budget_tokens(1.0, 424), budget_tokens(100, 424)
    (212, 424, 100)
    >>> budget_tokens(1000, 424)
    424
    """
    n = check_int_at_least(n_tokens, "n_tokens", 0)
    if isinstance(budget, bool):
        raise InvalidArgument(
            f"budget={budget!r} must be a fraction in (0, 1] or a token count >= 1")
    if isinstance(budget, (int, np.integer)):
        count = check_int_at_least(int(budget), "budget", 1)
        return min(count, n)
    b = float(budget)
    if math.isfinite(b) and b.is_integer() and b > 1:
        return min(int(b), n)
    if not (math.isfinite(b) and 0.0 < b <= 1.0):
        raise InvalidArgument(
            f"budget={budget} must be a kept fraction in (0, 1] or a whole token count >= 1"
        )
    return min(n, max(1, math.ceil(b * n - 1e-9)))


def check_block(keys: np.ndarray, values: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """A scale block's keys and values as float64 (tokens, d) arrays, shapes checked.

    >>> k, v = check_block(np.zeros((2, 3)), np.ones((2, 3)), 3)
    >>> k.shape, v.dtype
    ((2, 3), dtype('float64'))
    """
    k = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if k.shape != v.shape or k.ndim != 2 or k.shape[1] != d:
        raise InvalidArgument(f"keys {k.shape} and values {v.shape} must both be (tokens, d={d})")
    return k, v


def budget_rows(budget: float | int, params: CacheParams) -> int:
    """B_tot: the rows kept, over all D * H heads, under a budget (docs/theorem.md#c2-run).

    A fraction f keeps ceil(f * D * H * L) of the D * H * L cached rows, a whole count
    that many; with one head this is :func:`budget_tokens` of L.

    >>> p = CacheParams(4, Schedule.parse("var-256"), heads=4, layers=2)
    >>> budget_rows(0.25, p), budget_rows(1.0, p), budget_tokens(0.25, 424)
    (848, 3392, 106)
    """
    return budget_tokens(budget, params.n_heads * params.schedule.cached_tokens)


def uniform_split(total: int, parts: int) -> list[int]:
    """``total`` split over ``parts`` as evenly as whole numbers allow, the larger shares
    first: the uniform allocation of a budget over heads.

    >>> uniform_split(10, 4)
    [3, 3, 2, 2]
    """
    n = check_int_at_least(parts, "parts", 1)
    t = check_int_at_least(total, "total", 0)
    q, r = divmod(t, n)
    return [q + 1] * r + [q] * (n - r)


def check_heads_block(queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                      params: CacheParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A multi-head scale block as float64 (D, H, T, d) arrays, shapes checked.

    >>> p = CacheParams(3, Schedule.parse("var-256"), heads=2)
    >>> q, k, v = check_heads_block(np.zeros((1, 2, 4, 3)), np.zeros((1, 2, 4, 3)),
    ...                             np.ones((1, 2, 4, 3)), p)
    >>> v.shape
    (1, 2, 4, 3)
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (queries, keys, values))
    want = (params.layers, params.heads)
    for name, a in (("queries", q), ("keys", k), ("values", v)):
        if a.ndim != 4 or a.shape[:2] != want or a.shape[3] != params.d:
            raise InvalidArgument(f"{name} have shape {a.shape}; a block for {params.layers} "
                                  f"layers of {params.heads} heads is (D={params.layers}, "
                                  f"H={params.heads}, tokens, d={params.d})")
    if not q.shape[2] == k.shape[2] == v.shape[2]:
        raise InvalidArgument(f"queries {q.shape}, keys {k.shape} and values {v.shape} must "
                              "hold the same tokens")
    return q, k, v


_C = TypeVar("_C", bound="BaseCache")


class BaseCache:
    """A base for caches: it owns the checks of every scale block and the message framing.

    Purpose: the plumbing every cache of the zoo needs, written once (docs/theorem.md#model).
    A subclass sets ``TAG`` (4 bytes that open its messages), ``NAME`` (for error
    messages) and ``OPTIONS``, and implements :meth:`write_state` / :meth:`read_state`
    (its state after the header, with :class:`reduction.message.Writer` / ``Reader``) and
    ``process``, which calls :meth:`checked_block` first. ``to_bytes`` frames the state
    with the tag and a checksum; ``from_bytes`` unframes, rebuilds an empty cache from the
    public parameters, reads the state and refuses trailing bytes, so a subclass can only
    accept bytes it wrote (or a forgery of its own format, which it must validate).
    """

    TAG: ClassVar[bytes] = b"BASE"
    NAME: ClassVar[str] = "base"
    OPTIONS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.d = params.d
        self.n_seen = 0

    def checked_block(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block (queries as float64), its shapes and the schedule's token count checked
        against ``n_seen``, which the subclass advances once the block is stored."""
        q = np.asarray(queries, dtype=np.float64)
        k = np.asarray(keys)
        v = np.asarray(values)
        t = k.shape[0] if k.ndim == 2 else -1
        if t < 1 or k.shape != (t, self.d) or v.shape != (t, self.d):
            raise ValueError(
                f"keys and values must both have shape (T, d) with T >= 1 and d={self.d}; got "
                f"{k.shape} and {v.shape}")
        if q.ndim != 2 or q.shape[1] != self.d:
            raise ValueError(f"queries must have shape (T_q, {self.d}), got {q.shape}")
        total = self.params.schedule.total_tokens
        if self.n_seen + t > total:
            raise ValueError(
                f"{self.n_seen} tokens seen plus a block of {t} exceed the schedule's {total}")
        return q, k, v

    def write_state(self, w: Writer) -> None:
        """Write the whole state (the subclass's format)."""
        raise NotImplementedError

    def read_state(self, r: Reader) -> None:
        """Read back what :meth:`write_state` wrote, validating every field."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The state, framed with ``TAG`` and a checksum (reduction.message)."""
        w = Writer()
        self.write_state(w)
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls: type[_C], data: bytes, params: CacheParams) -> _C:
        """Rebuild from the bytes and the public parameters alone (CorruptMessageError, a
        ValueError, on bytes this class did not write)."""
        r = Reader(unframe(data, cls.TAG), f"{cls.NAME} cache message")
        cache = cls(params, None)
        cache.read_state(r)
        r.finish()
        return cache
