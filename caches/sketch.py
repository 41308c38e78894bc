"""JL-sketched keys: keys projected to r dimensions, values kept in fp16.

Purpose: a random-projection key compressor (the Johnson-Lindenstrauss idea behind e.g.
"QJL", arXiv 2406.03482, without its 1-bit quantisation). The cache stores K P (tokens x
r, fp16) with P a d x r Gaussian matrix scaled by 1/sqrt(r), and V in fp16; a query q is
projected by the same P, so scores are (qP)(KP)^T, an unbiased estimate of q K^T.

Main statement (JL, Dasgupta & Gupta 2003): for fixed q, k,
E[(qP).(kP)] = q.k and Var = (|q|^2 |k|^2 + (q.k)^2)/r; so Bob's score of the true token
C|k|^2 = C carries noise ~ C*sqrt(2/r) and each of the other L - 1 scores noise ~ C/sqrt(r).
Small r lets other tokens overtake the true one; measured on var-256, d = 64 (eps 0.7,
eta 0.1, seed 0): r = 4 loses ~46% of the bits, r = 32 and r = 64 decode every bit (the
true score still leads by enough), at 16*(r + d) bits per token, far above the bound.
Memory = 16*N_tok*(r + d) bits + the 64-bit seed + header.

P is regenerated on both sides from a 64-bit seed that Alice draws from the cache rng and
writes into the bytes (its 64 bits count as memory): ``default_rng(seed).standard_normal
((d, r)) / sqrt(r)``. Options: ``rank`` = r in 1..16*d (default 32) -- the sweep's budget
axis, values {4, 16, 32} (and d). r may exceed d (up to 16*d): the projection is then
an embedding whose score noise still falls as 1/sqrt(r), at more memory than exact.

Simplifications of the numpy version: a dense Gaussian P (no fast JL transform), fp16
storage of the projected keys, values left uncompressed.

References: Johnson & Lindenstrauss (1984); Dasgupta & Gupta, "An elementary proof of a
theorem of Johnson and Lindenstrauss", Random Struct. Alg. 22 (2003); Zandieh, Daliri &
Han, "QJL: 1-Bit Quantized JL Transform for KV Cache Quantization", arXiv 2406.03482.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from caches.entry import CacheEntry, EntryList
from reduction.attention import attend
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["SketchCache", "projection", "check_sketch_rank", "MAX_RANK_PER_D"]

MAX_RANK_PER_D = 16


def check_sketch_rank(rank: object, d: int) -> int:
    """``rank`` as an int in 1..16*d (r > d is allowed: an embedding, not a reduction).

    >>> check_sketch_rank(32, 16)
    32
    """
    top = MAX_RANK_PER_D * d
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= top:
        raise ValueError(f"rank={rank!r} must be an integer in 1..16*d={top}")
    return int(rank)


def projection(seed: int, d: int, r: int) -> np.ndarray:
    """The d x r JL matrix of ``seed``: standard normal entries / sqrt(r).

    >>> projection(7, 4, 2).shape
    (4, 2)
    """
    return np.random.default_rng(seed).standard_normal((d, r)) / np.sqrt(r)


class SketchCache:
    """Projected fp16 keys, fp16 values, the projection's seed (see the module docstring)."""

    TAG: ClassVar[bytes] = b"JLS1"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"rank"})

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.rank = check_sketch_rank(params.option("rank", 32), params.d)
        rng = np.random.default_rng(rng)
        self.seed = int(rng.integers(0, 2**63 - 1, dtype=np.int64))
        self._proj = projection(self.seed, params.d, self.rank)
        self.sketched = np.zeros((0, self.rank), dtype=np.float16)
        self.values = np.zeros((0, params.d), dtype=np.float16)

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append (K P, V) in fp16; attend with scores (Q P)(K P)^T."""
        k, v = check_block(keys, values, self.params.d)
        with np.errstate(over="ignore"):
            kp = (k @ self._proj).astype(np.float16)
            vh = v.astype(np.float16)
        if not (np.isfinite(kp).all() and np.isfinite(vh).all()):
            raise ValueError("sketched keys or values exceed the float16 range")
        self.sketched = np.concatenate([self.sketched, kp])
        self.values = np.concatenate([self.values, vh])
        q = np.asarray(queries, dtype=np.float64) @ self._proj
        return attend(q, self.sketched.astype(np.float64), self.values.astype(np.float64))

    def to_bytes(self) -> bytes:
        """``u64 seed | u32 tokens | K P (fp16) | V (fp16)``."""
        w = Writer().u64(self.seed).u32(self.sketched.shape[0])
        w.array(self.sketched, "<f2").array(self.values, "<f2")
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> SketchCache:
        cache = cls(params, np.random.default_rng(0))
        r = Reader(unframe(data, cls.TAG), "JL sketch cache message")
        cache.seed = r.u64("seed")
        n = r.token_count(params.schedule.total_tokens)
        cache.sketched = r.array("<f2", (n, cache.rank), "sketched keys")
        cache.values = r.array("<f2", (n, params.d), "values")
        r.finish()
        r.expect(bool(np.isfinite(cache.sketched).all() and np.isfinite(cache.values).all()),
                 "non-finite entries")
        cache._proj = projection(cache.seed, params.d, cache.rank)
        return cache


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add("sketch", CacheEntry(SketchCache, {"rank": 32},
                                    "JL projection of keys to r dims (seed in the bytes), "
                                    "fp16 values (option rank in 1..d, default 32; sweep "
                                    "rank 4,16,32)"))
