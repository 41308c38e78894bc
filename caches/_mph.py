"""A minimal perfect hash over 64-bit fingerprints, RecSplit-lite (private helper).

Purpose: the instance-optimal packer (docs/theorem.md#tight, "Tightness") stores, in place
of the L keys, only what routes Bob's query to its row: a bijection from the L distinct
key fingerprints onto the slots 0..L-1. Information-theoretically a minimal perfect hash
needs log2(e) ~ 1.443 bits per key (Fredman & Komlos 1984); this one spends ~1.84
(measured mean over 10 random sets of 424 and of 1216 keys: 1.836 and 1.835; range
1.75-1.91), with buckets of ~12 keys and leaves of up to 12.

Construction (a simplified RecSplit, Esposito, Mueller Graf & Vigna 2020):

* bucket(fp) = floor(splitmix64(fp ^ SALT_BUCKET) / 2^32 * nb / 2^32), nb = ceil(n / 12);
  bucket sizes are written with a Golomb-Rice code (the last one is implied by n);
* each bucket of m keys splits recursively: a node with m > LEAF_SIZE stores the least
  seed s for which exactly a = floor(m / 2) keys have h_s mod m < a (those go left, onto
  the first a slots), a leaf (2 <= m <= LEAF_SIZE) stores the least seed for which
  h_s mod m is a bijection onto its m slots; h_s(fp) = splitmix64(g + s * GOLDEN2),
  g = splitmix64(fp ^ SALT_KEY). Seeds of a node of m keys are geometric with success
  probability p(m) (m!/m^m for a leaf, C(m,a)(a/m)^a(1-a/m)^(m-a) for a split) and are
  Rice-coded with the parameter minimising the expected length for p(m), so both sides
  derive it from m alone.

Keys outside the set are mapped to some slot (a minimal perfect hash cannot tell); the
packer documents what that means for its outputs.

References: Esposito, Mueller Graf, Vigna, "RecSplit: Minimal Perfect Hashing via
Recursive Splitting", ALENEX 2020; Steele, Lea, Flood, "Fast splittable pseudorandom
number generators" (splitmix64), OOPSLA 2014; Fredman & Komlos, SIAM J. Alg. Disc. Meth.
5 (1984) (the log2 e bits/key bound).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from caches._bitstream import BitReader, BitWriter

__all__ = [
    "BUCKET_SIZE",
    "LEAF_SIZE",
    "MphTable",
    "build_mph",
    "build_mph_into",
    "check_decodes",
    "decode_mph",
    "fingerprints",
    "sign_words",
    "words_fingerprint",
    "splitmix64",
]

BUCKET_SIZE = 12
LEAF_SIZE = 12
MAX_SEED = 1 << 40
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_GOLDEN2 = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SALT_BUCKET = np.uint64(0x243F6A8885A308D3)
_SALT_KEY = np.uint64(0x13198A2E03707344)
_S30, _S27, _S31, _S32 = (np.uint64(s) for s in (30, 27, 31, 32))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of x + GOLDEN (a bijection of uint64), element-wise.

    >>> hex(int(splitmix64(np.zeros(1, np.uint64))[0]))
    '0xe220a8397b1dcdaf'
    """
    z = np.atleast_1d(np.asarray(x, dtype=np.uint64)) + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def sign_words(signs: np.ndarray) -> np.ndarray:
    """Sign patterns (rows of a bool n x d array, True = negative) as ceil(d/64) big-endian
    64-bit words per row, zero-padded: an injective code of the pattern.

    >>> sign_words(np.array([[True, False, True]])).tolist()
    [[11529215046068469760]]
    """
    s = np.asarray(signs, dtype=bool)
    n = s.shape[0]
    packed = np.packbits(s, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    padded = np.zeros((n, max(width, 8)), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return np.ascontiguousarray(padded).view(">u8").astype(np.uint64)


def words_fingerprint(words: np.ndarray) -> np.ndarray:
    """64-bit fingerprints of :func:`sign_words` rows: the word itself for one word (d <=
    64, injective); above, the words chained through splitmix64 (two patterns may share a
    fingerprint; the packer's exception list compares whole patterns, and a minimal
    perfect hash refuses equal fingerprints)."""
    w = np.asarray(words, dtype=np.uint64)
    if w.shape[1] == 1:
        return w[:, 0].copy()
    h = np.zeros(w.shape[0], dtype=np.uint64)
    for j in range(w.shape[1]):
        h = splitmix64(h ^ w[:, j])
    return h


def fingerprints(signs: np.ndarray) -> np.ndarray:
    """64-bit fingerprints of sign patterns (rows of a bool n x d array, True = negative):
    :func:`words_fingerprint` of :func:`sign_words`.

    >>> fingerprints(np.array([[True, False, True]])).tolist()
    [11529215046068469760]
    """
    return words_fingerprint(sign_words(signs))


def _n_buckets(n: int) -> int:
    return -(-n // BUCKET_SIZE)


def _buckets(fps: np.ndarray, nb: int) -> np.ndarray:
    h = splitmix64(fps ^ _SALT_BUCKET) >> _S32
    return ((h * np.uint64(nb)) >> _S32).astype(np.int64)


def _node_hash(g: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    return splitmix64(g + seeds.astype(np.uint64) * _GOLDEN2)


@functools.cache
def _rice_k_geometric(p: float) -> int:
    """Rice parameter minimising k + 1 + E[X >> k] for X ~ Geometric(p) failures."""
    if p >= 1.0:
        return 0

    def cost(k: int) -> float:
        r = math.exp((1 << k) * math.log1p(-p))
        return k + 1 + r / (1 - r)

    return min(range(48), key=cost)


@functools.cache
def _rice_k_bucket() -> int:
    """Rice parameter minimising the expected code of a Poisson(BUCKET_SIZE) bucket size."""
    lam = float(BUCKET_SIZE)
    pmf = [math.exp(-lam + m * math.log(lam) - math.lgamma(m + 1)) for m in range(200)]
    return min(range(8), key=lambda k: sum(p * ((m >> k) + 1 + k) for m, p in enumerate(pmf)))


def _p_leaf(m: int) -> float:
    return math.exp(math.lgamma(m + 1) - m * math.log(m))


def _p_split(m: int) -> float:
    a = m // 2
    return math.comb(m, a) * (a / m) ** a * (1 - a / m) ** (m - a)


def _k_node(m: int) -> int:
    return _rice_k_geometric(_p_leaf(m) if m <= LEAF_SIZE else _p_split(m))


def _search(g: np.ndarray, m: int) -> int:
    """Least seed making the node of keys ``g`` a bijection (leaf) or an even split."""
    batch = 4096 if m <= LEAF_SIZE else 64
    full = np.uint64((1 << m) - 1)
    for start in range(0, MAX_SEED, batch):
        seeds = np.arange(start, start + batch, dtype=np.uint64)
        h = _node_hash(g[:, None], seeds[None, :]) % np.uint64(m)
        if m <= LEAF_SIZE:
            ok = np.bitwise_or.reduce(np.uint64(1) << h, axis=0) == full
        else:
            ok = np.count_nonzero(h < np.uint64(m // 2), axis=0) == m // 2
        hits = np.flatnonzero(ok)
        if hits.size:
            return start + int(hits[0])
    raise RuntimeError(f"no seed below {MAX_SEED} for a node of {m} keys")  # pragma: no cover


def build_mph(fps: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Encode a minimal perfect hash of distinct fingerprints: (bits as bytes, slot per key).

    Raises ValueError if two fingerprints are equal. The slots are a permutation of
    0..n-1, checked here.

    >>> data, slots = build_mph(np.arange(20, dtype=np.uint64))
    >>> sorted(slots.tolist()) == list(range(20))
    True
    """
    writer = BitWriter()
    slots = build_mph_into(writer, fps)
    return writer.to_bytes(), slots


def build_mph_into(writer: BitWriter, fps: np.ndarray) -> np.ndarray:
    """Write a minimal perfect hash of distinct fingerprints into ``writer``; return slots.

    The bits are what :func:`decode_mph` reads back for ``n = fps.size`` keys.
    """
    fps = np.asarray(fps, dtype=np.uint64)
    n = int(fps.size)
    if np.unique(fps).size != n:
        raise ValueError("two keys share a 64-bit fingerprint; a minimal perfect hash needs "
                         "distinct keys")
    slots = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return slots
    nb = _n_buckets(n)
    bucket = _buckets(fps, nb)
    g = splitmix64(fps ^ _SALT_KEY)
    order = np.argsort(bucket, kind="stable")
    sizes = np.bincount(bucket, minlength=nb)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    kb = _rice_k_bucket()
    for size in sizes[:-1]:
        writer.rice(int(size), kb)

    def node(idx: np.ndarray, offset: int) -> None:
        m = int(idx.size)
        if m <= 1:
            slots[idx] = offset
            return
        seed = _search(g[idx], m)
        writer.rice(seed, _k_node(m))
        h = _node_hash(g[idx], np.array([seed])) % np.uint64(m)
        if m <= LEAF_SIZE:
            slots[idx] = offset + h.astype(np.int64)
        else:
            a = m // 2
            left = h < np.uint64(a)
            node(idx[left], offset)
            node(idx[~left], offset + a)

    for j in range(nb):
        node(order[offsets[j] : offsets[j + 1]], int(offsets[j]))
    if not np.array_equal(np.sort(slots), np.arange(n)):  # pragma: no cover - a bug guard
        raise AssertionError("minimal perfect hash is not a bijection")
    return slots


@dataclass(frozen=True)
class MphTable:
    """A decoded minimal perfect hash: a forest of nodes, one tree per bucket."""

    n: int
    root: np.ndarray
    size: np.ndarray
    offset: np.ndarray
    seed: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def lookup(self, fps: np.ndarray) -> np.ndarray:
        """Slot of each fingerprint (the key's own slot if it was in the set; else any)."""
        fps = np.atleast_1d(np.asarray(fps, dtype=np.uint64))
        if self.n == 0:
            raise ValueError("lookup in an empty minimal perfect hash")
        g = splitmix64(fps ^ _SALT_KEY)
        cur = self.root[_buckets(fps, self.root.size)]
        while True:
            inner = np.flatnonzero(self.left[cur] >= 0)
            if inner.size == 0:
                break
            nodes = cur[inner]
            m = self.size[nodes].astype(np.uint64)
            h = _node_hash(g[inner], self.seed[nodes]) % m
            cur[inner] = np.where(h < m // np.uint64(2), self.left[nodes], self.right[nodes])
        m = self.size[cur]
        h = _node_hash(g, self.seed[cur]) % np.maximum(m, 1).astype(np.uint64)
        slot = self.offset[cur] + np.where(m > 1, h.astype(np.int64), 0)
        return np.minimum(slot, self.n - 1)


def decode_mph(reader: BitReader, n: int) -> MphTable:
    """Read what :func:`build_mph` wrote for ``n`` keys (CorruptMessageError if invalid)."""
    nb = _n_buckets(n)
    kb = _rice_k_bucket()
    sizes: list[int] = []
    total = 0
    for _ in range(max(nb - 1, 0)):
        size = reader.rice(kb, n - total)
        sizes.append(size)
        total += size
    if nb:
        sizes.append(n - total)
    size_l: list[int] = []
    offset_l: list[int] = []
    seed_l: list[int] = []
    left_l: list[int] = []
    right_l: list[int] = []

    def node(m: int, offset: int) -> int:
        i = len(size_l)
        size_l.append(m)
        offset_l.append(offset)
        seed_l.append(reader.rice(_k_node(m), MAX_SEED) if m > 1 else 0)
        left_l.append(-1)
        right_l.append(-1)
        if m > LEAF_SIZE:
            a = m // 2
            left_l[i] = node(a, offset)
            right_l[i] = node(m - a, offset + a)
        return i

    roots = []
    offset = 0
    for size in sizes:
        roots.append(node(size, offset))
        offset += size
    return MphTable(
        n=n,
        root=np.asarray(roots, dtype=np.int64),
        size=np.asarray(size_l, dtype=np.int64),
        offset=np.asarray(offset_l, dtype=np.int64),
        seed=np.asarray(seed_l, dtype=np.uint64),
        left=np.asarray(left_l, dtype=np.int64),
        right=np.asarray(right_l, dtype=np.int64),
    )


def check_decodes(data: bytes, n: int, fps: np.ndarray, slots: np.ndarray) -> None:
    """Raise AssertionError unless decoding ``data`` routes every fingerprint to its slot."""
    reader = BitReader(data, "minimal perfect hash")
    table = decode_mph(reader, n)
    reader.finish()
    if n and not np.array_equal(table.lookup(fps), slots):  # pragma: no cover - a bug guard
        raise AssertionError("decoded minimal perfect hash disagrees with the built one")
