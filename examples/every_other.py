"""A third-party KV cache for kvbound: keep every other token (a student's first cache).

It follows the interface of docs/caches.md and imports only kvbound's public helpers
(attention, message framing). The cache keeps the keys and values of the tokens at even
positions of the token stream (0, 2, 4, ...) in float16 and forgets the others after
their scale has been processed. Its message is a framed header (tokens seen, d) followed
by the kept keys and values; which positions were kept follows from the count alone, so
no bitmap is needed.

What to expect on the hard instance (docs/course/problems.md, problem 4): Bob decodes the kept
tokens' bits exactly and the forgotten tokens' bits no better than coin flips, so about a
quarter of all bits come back wrong.

Run it from this directory:

    kvbound verify --cache every_other:EveryOtherCache --json
    kvbound check-cache every_other:EveryOtherCache
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from reduction.attention import attend
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["EveryOtherCache"]


class EveryOtherCache:
    """Keeps the tokens at even stream positions (float16); needs no options."""

    TAG: ClassVar[bytes] = b"EVO1"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        # rng is unused: this policy spends no randomness.
        self.params = params
        self.seen = 0  # tokens streamed so far = position of the next token
        self.keys = np.zeros((0, params.d), dtype=np.float16)
        self.values = np.zeros((0, params.d), dtype=np.float16)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Attend the block's queries to the kept tokens and the whole block, then forget
        the block's tokens at odd positions (block-causal VAR attention)."""
        k, v = check_block(keys, values, self.params.d)
        all_k = np.concatenate([self.keys, k.astype(np.float16)])
        all_v = np.concatenate([self.values, v.astype(np.float16)])
        out = attend(queries, all_k, all_v)
        even = (self.seen + np.arange(k.shape[0])) % 2 == 0
        self.keys = np.concatenate([self.keys, k[even].astype(np.float16)])
        self.values = np.concatenate([self.values, v[even].astype(np.float16)])
        self.seen += k.shape[0]
        return out

    def to_bytes(self) -> bytes:
        w = Writer().u32(self.seen).u16(self.params.d)
        w.array(self.keys, "<f2").array(self.values, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> EveryOtherCache:
        r = Reader(unframe(data, cls.TAG), "every-other cache message")
        seen = r.token_count(params.schedule.total_tokens, "tokens seen")
        d = r.u16("d")
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        kept = (seen + 1) // 2
        cache = cls(params)
        cache.seen = seen
        cache.keys = r.array("<f2", (kept, d), "keys")
        cache.values = r.array("<f2", (kept, d), "values")
        r.finish()
        return cache
