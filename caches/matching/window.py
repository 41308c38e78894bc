"""The windowed cache: keep only the last w - 1 scales, bit-packed (variant S3).

Purpose: the matching cache of docs/theorem.md#s3 (ours). Under attention to the last w
scales, the tokens of scale k see scales k - w + 1 .. k (w counts the current scale), so
after scale k only scales k - w + 2 .. k can ever be seen again: the cache keeps exactly
those w - 1 scales and drops the rest. Each kept token is stored the packer's way
(docs/theorem.md#tight): its 0/1 value row at one bit per coordinate, and its key only as
its sign pattern inside a minimal perfect hash (~1.84 bits per key) that routes Bob's
query C k_i to the row (:mod:`caches._routed`).

Main statement: on the S3 instance with the same w, Bob's output row for a visible token
i is x_i exactly; the message has L_w d + (hash bits) + O(log L) + 64 bits with
L_w = T_{K-w+1} + ... + T_{K-1}, within a factor 1 + O(1/d) of the S3 bound
(1 - H2(delta)) d L_w at delta = 0. With w = 1 nothing cached is ever visible again and
the message is empty apart from its framing.

Option: ``w`` (integer >= 1, default 2). Values must be 0 or 1 (ValueError otherwise).
The outputs on Alice's side are hard attention over the window (stored scales + the
block); see :mod:`._routed` for the rest.

References: arXiv 2503.14881 (the VAR schedules whose T_{K-1} is a constant fraction of
n^2); the packer (:mod:`caches.matching.packer`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches._eviction import int_option
from caches._routed import BitRowsRoutedCache
from caches.entry import CacheEntry, EntryList
from reduction.cache import CacheParams

__all__ = ["WindowCache", "DEFAULT_WINDOW"]

DEFAULT_WINDOW = 2


class WindowCache(BitRowsRoutedCache):
    """The 0/1 value rows of the last w - 1 scales, bit-packed, routed by a key hash."""

    TAG: ClassVar[bytes] = b"WIN1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"w"})
    NAME: ClassVar[str] = "window"

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.w = int_option(params, "w", DEFAULT_WINDOW, 1)
        self._block_sizes: list[int] = []

    def _append(self, signs: np.ndarray, values: np.ndarray) -> None:
        super()._append(signs, values)
        self._block_sizes.append(int(signs.shape[0]))

    def _after_block(self) -> None:
        """Drop every scale older than the last w - 1 (they are never visible again)."""
        first = max(0, len(self._block_sizes) - (self.w - 1))
        keep = self._block_sizes[first:] if self.w > 1 else []
        start = self.stored_tokens - sum(keep)
        self._block_sizes = keep
        self._signs, self._values = self._signs[start:], self._values[start:]


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "window",
    CacheEntry(
        WindowCache,
        {"w": DEFAULT_WINDOW},
        "the last w - 1 scales only (attention to the last w scales, the current one "
        "counted): 1 bit per 0/1 value + a ~1.84 bit/key hash of the key signs (variant S3)",
    ),
)
