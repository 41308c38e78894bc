"""Shared assertion: a cache's ``from_bytes`` rejects truncations and bit flips.

The check itself is :func:`caches.contract.check_rejects_corruption` (also run by
``kvbound check-cache``); this wrapper keeps the compressor tests' call site short.
"""

from __future__ import annotations

from typing import Any

from caches.contract import check_rejects_corruption
from reduction.cache import CacheParams


def assert_rejects_corruption(
    cls: Any, message: bytes, params: CacheParams, *, step: int = 29, flips: int = 20,
    seed: int = 2,
) -> None:
    """Every ``step``-th truncation and ``flips`` random single-bit flips raise ValueError."""
    check_rejects_corruption(cls, params, message, step=step, flips=flips, seed=seed)
