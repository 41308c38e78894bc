"""Shared assertion: a cache's ``from_bytes`` rejects truncations and bit flips."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from reduction.cache import CacheParams


def assert_rejects_corruption(
    cls: Any, message: bytes, params: CacheParams, *, step: int = 29, flips: int = 20,
    seed: int = 2,
) -> None:
    """Every ``step``-th truncation and ``flips`` random single-bit flips raise ValueError."""
    for cut in range(0, len(message), step):
        with pytest.raises(ValueError):
            cls.from_bytes(message[:cut], params)
    for pos in np.random.default_rng(seed).integers(0, 8 * len(message), size=flips):
        flipped = bytearray(message)
        flipped[pos // 8] ^= 1 << (pos % 8)
        with pytest.raises(ValueError):
            cls.from_bytes(bytes(flipped), params)
