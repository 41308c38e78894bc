"""The family of prefix codes of Alice's symbols X given Bob's decoded symbols Y.

Purpose: the compression certificate of docs/theorem.md#certificate. Each code c maps
(x, y) to a length len_c(x | y) in bits such that, for every y, sum_x 2^(-len_c(x | y))
<= 1 (Kraft's inequality): by the converse of Kraft's inequality a prefix code with these
lengths exists, and a decoder who holds y recovers x from the codeword. The family is
fixed before any run; only the arrays decide which code is shortest.

Every code but ``lzma`` is *enumerative*: it names a class of strings (a count of errors,
a set of exact tokens, a confusion matrix, ...) and then one string of that class, and
its length is ceil(log2 W), W the product of the numbers of choices at each step; the sum
of 1/W over all x is at most 1 because each step's choices are counted in full.
Notation: n symbols of b bits (q = 2^b values), e(n, k) = (n + 1) C(n, k) (q - 1)^k the
count of "k errors among n symbols, then the wrong values".

* ``errors``: e(n, k) for the k symbol errors (the error-rate code: what the Fano check
  of docs/theorem.md#fano measures).
* ``tokens-exact``: (G + 1) C(G, r) for the r of G tokens decoded exactly, then e(n', k)
  on the other tokens' n' symbols.
* ``tokens-split``: the encoder picks r; the r tokens with fewest errors form one class,
  the rest another: (G + 1) C(G, r) e(n1, k1) e(n2, k2) (tokens decoded at two rates).
* ``bit-planes``: prod_j (n + 1) C(n, k_j), k_j the errors of bit plane j.
* ``confusion``: for each value a of Y with n_a occurrences, the number m of values X
  takes there (min(n_a, q) choices), which m (C(q, m)), their counts (C(n_a - 1, m - 1)), then the
  arrangement n_a! / prod_c M[a, c]!: any fixed relabelling of symbols costs O(q log n).
* ``lzma``: x XOR y as bytes (bits packed when b = 1, two bytes per symbol when b > 8),
  compressed with LZMA2 (raw format, preset 6, a dictionary fixed by the length);
  8 * len + an Elias-gamma header of len + 1.

References: T. M. Cover and J. A. Thomas, *Elements of Information Theory*, 2nd ed.,
Thm 5.2.1 (Kraft) and ch. 13 (two-part and enumerative codes); I. Csiszar, "The method
of types", IEEE Trans. IT 44 (1998).
"""

from __future__ import annotations

import lzma
import math
from collections.abc import Callable

import numpy as np

from lowerbound._counting import Count, ceil_log2, ln_factorial_estimate
from lowerbound.validation import InvalidArgument, check_int_at_least

__all__ = ["CODES", "SymbolPair", "code_lengths", "elias_gamma_bits", "lzma_pattern_bits"]

MAX_SYMBOL_BITS = 16


class SymbolPair:
    """X and Y as flat symbol arrays of b bits, with the token of each symbol.

    ``groups`` (token ids, any integers) defaults to the rows of a 2-D ``truth``; a 1-D
    ``truth`` without groups is one token per symbol.
    """

    __slots__ = ("truth", "decoded", "bits", "groups")

    def __init__(self, truth: np.ndarray, decoded: np.ndarray, bits_per_symbol: int,
                 groups: np.ndarray | None = None) -> None:
        b = check_int_at_least(bits_per_symbol, "bits_per_symbol", 1)
        if b > MAX_SYMBOL_BITS:
            raise InvalidArgument(f"bits_per_symbol={b} must be at most {MAX_SYMBOL_BITS}")
        t, y = np.asarray(truth), np.asarray(decoded)
        if t.shape != y.shape or t.size == 0:
            raise InvalidArgument(f"truth {t.shape} and decoded {y.shape} must be equal, non-empty")
        for name, a in (("truth", t), ("decoded", y)):
            if a.dtype.kind not in "iub" or a.min() < 0 or a.max() >= 2**b:
                raise InvalidArgument(f"{name} must hold integer symbols in [0, 2^{b})")
        if groups is None:
            groups = (np.repeat(np.arange(t.shape[0]), t.size // t.shape[0]) if t.ndim == 2
                      else np.arange(t.size))
        g = np.asarray(groups).ravel()
        if g.shape != (t.size,) or g.dtype.kind not in "iu":
            raise InvalidArgument(f"groups must be {t.size} integer token ids, got {g.shape}")
        self.truth = t.ravel().astype(np.uint16)  # b <= 16: two bytes per symbol
        self.decoded = y.ravel().astype(np.uint16)
        self.bits = b
        self.groups = np.unique(g, return_inverse=True)[1].ravel()

    @property
    def n(self) -> int:
        return int(self.truth.size)

    @property
    def wrong(self) -> np.ndarray:
        return self.truth != self.decoded


def _errors(n: int, k: int, q: int) -> Count:
    """e(n, k) = (n + 1) C(n, k) (q - 1)^k."""
    return Count([n], [k, n - k], [(n + 1, 1), (q - 1, k)])


def _len_errors(p: SymbolPair) -> int:
    return ceil_log2(_errors(p.n, int(p.wrong.sum()), 2**p.bits))


def _token_counts(p: SymbolPair) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(p.groups)
    return sizes, np.bincount(p.groups, weights=p.wrong, minlength=sizes.size).astype(np.int64)


def _two_classes(sizes: np.ndarray, errs: np.ndarray, good: np.ndarray, q: int) -> Count:
    g, r = int(sizes.size), int(good.sum())
    head = Count([g], [r, g - r], [(g + 1, 1)])
    n1, k1 = int(sizes[good].sum()), int(errs[good].sum())
    n2, k2 = int(sizes[~good].sum()), int(errs[~good].sum())
    return head.times(_errors(n1, k1, q)).times(_errors(n2, k2, q))


def _len_tokens_exact(p: SymbolPair) -> int:
    sizes, errs = _token_counts(p)
    g, r = int(sizes.size), int((errs == 0).sum())
    rest, k = int(sizes[errs > 0].sum()), int(errs.sum())
    return ceil_log2(Count([g], [r, g - r], [(g + 1, 1)]).times(_errors(rest, k, 2**p.bits)))


def _ln_errors(n: np.ndarray, k: np.ndarray, q: int) -> np.ndarray:
    lf = ln_factorial_estimate
    return np.log(n + 1.0) + lf(n) - lf(k) - lf(n - k) + k * math.log(max(q - 1, 1))


def _len_tokens_split(p: SymbolPair) -> int:
    sizes, errs = _token_counts(p)
    q, g = 2**p.bits, int(sizes.size)
    order = np.lexsort((np.arange(g), errs))  # fewest errors first, ties by index
    n1 = np.concatenate([[0], np.cumsum(sizes[order])])
    k1 = np.concatenate([[0], np.cumsum(errs[order])])
    r = np.arange(g + 1)
    lf = ln_factorial_estimate
    cost = (lf(np.full(g + 1, g)) - lf(r) - lf(g - r) + _ln_errors(n1, k1, q)
            + _ln_errors(p.n - n1, k1[-1] - k1, q))
    best = int(np.argmin(cost))  # the encoder's choice; the length below is exact
    good = np.zeros(g, dtype=bool)
    good[order[:best]] = True
    return ceil_log2(_two_classes(sizes, errs, good, q))


def _len_bit_planes(p: SymbolPair) -> int:
    diff = p.truth ^ p.decoded
    count = Count()
    for j in range(p.bits):
        k = int(((diff >> j) & 1).sum())
        count = count.times(_errors(p.n, k, 2))
    return ceil_log2(count)


def _len_confusion(p: SymbolPair) -> int:
    q = 2**p.bits
    pairs, cells = np.unique(p.decoded.astype(np.int64) * q + p.truth, return_counts=True)
    rows = pairs // q
    n_a = np.bincount(rows, weights=cells).astype(np.int64)
    m_a = np.bincount(rows)
    used = n_a > 0
    n_a, m_a = n_a[used], m_a[used]
    choices = np.minimum(n_a, q)  # m takes one of the values 1 .. min(n_a, q)
    num = np.concatenate([[q] * int(used.sum()), n_a - 1, n_a])
    den = np.concatenate([m_a, q - m_a, m_a - 1, n_a - m_a, cells])
    powers = [(int(c), 1) for c in choices]
    return ceil_log2(Count(num, den, powers))


def elias_gamma_bits(value: int) -> int:
    """Length of the Elias gamma code of an integer >= 1: 2 floor(log2 v) + 1.

    Notes: sum over v >= 1 of 2^-(2 floor(log2 v) + 1) = 1 (Kraft, with equality).

    >>> [elias_gamma_bits(v) for v in (1, 2, 3, 4, 1000)]
    [1, 3, 3, 5, 19]
    """
    v = check_int_at_least(value, "value", 1)
    return 2 * (v.bit_length() - 1) + 1


def lzma_pattern_bits(pattern: bytes) -> int:
    """8 len(z) + gamma(len(z) + 1), z the raw LZMA2 stream of ``pattern`` (preset 6; the
    dictionary the least power of two >= len, within [4 KiB, 16 MiB]: the whole pattern
    up to 16 MiB, and at most ~200 MB of the verifier's memory).

    >>> lzma_pattern_bits(bytes(1000)) < 8 * 1000
    True
    """
    dictionary = 1 << min(24, max(12, (len(pattern) - 1).bit_length()))
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": dictionary}]
    z = lzma.compress(pattern, format=lzma.FORMAT_RAW, filters=filters)
    return 8 * len(z) + elias_gamma_bits(len(z) + 1)


def _pattern(p: SymbolPair) -> bytes:
    diff = (p.truth ^ p.decoded).astype(np.uint16)
    if p.bits == 1:
        return np.packbits(diff.astype(np.uint8)).tobytes()
    if p.bits <= 8:
        return diff.astype(np.uint8).tobytes()
    return diff.astype(">u2").tobytes()


def _len_lzma(p: SymbolPair) -> int:
    return lzma_pattern_bits(_pattern(p))


CODES: dict[str, Callable[[SymbolPair], int]] = {
    "errors": _len_errors,
    "tokens-exact": _len_tokens_exact,
    "tokens-split": _len_tokens_split,
    "bit-planes": _len_bit_planes,
    "confusion": _len_confusion,
    "lzma": _len_lzma,
}
"""The family, fixed before every run (docs/theorem.md#certificate); |family| = 6."""


def code_lengths(pair: SymbolPair) -> dict[str, int]:
    """len_c(X | Y) in bits for every code of the family.

    >>> x = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
    >>> lengths = code_lengths(SymbolPair(x, x, 1))  # decoded exactly
    >>> lengths["errors"], lengths["tokens-exact"], lengths["bit-planes"]
    (4, 2, 4)
    """
    return {name: code(pair) for name, code in CODES.items()}
