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
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.schedule import Schedule

__all__ = ["CacheParams", "KVCache", "budget_tokens", "check_block"]


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
