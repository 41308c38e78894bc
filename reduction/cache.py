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

__all__ = ["CacheParams", "KVCache", "BaseCache", "budget_tokens", "check_block"]


@dataclass(frozen=True)
class CacheParams:
    """Public parameters both parties know: head dimension, schedule, cache options.

    ``options`` holds JSON scalars only (a budget, a bit width, ...), so it crosses the
    process boundary as JSON; it carries nothing of Alice's input.
    """

    d: int
    schedule: Schedule
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int_at_least(self.d, "d", 1)
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

    def to_json(self) -> dict[str, Any]:
        return {"d": self.d, "schedule": self.schedule.to_json(), "options": dict(self.options)}

    @classmethod
    def from_json(cls, obj: Any) -> CacheParams:
        if not isinstance(obj, dict) or not {"d", "schedule", "options"} <= obj.keys():
            raise InvalidArgument("cache params must be an object with d, schedule and options")
        if not isinstance(obj["options"], dict):
            raise InvalidArgument("cache params 'options' must be an object")
        return cls(int(obj["d"]), Schedule.from_json(obj["schedule"]), obj["options"])


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
