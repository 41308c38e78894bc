"""Exact lower bounds of the four sparsity variants S1-S4, and Fano for every error rate.

Purpose: the bounds of docs/theorem.md#s1 ... #s4 (ours, beyond the papers). Sizes are
integers (``math.comb``, ``int.bit_length``); every quantity with a logarithm is enclosed
in a rigorous mpmath interval (200-bit endpoints, outward rounding, a private context) and
returned as the exact rational LOWER end of the enclosure (an upper end where the
quantity is an upper bound), so a returned bound never claims more than is true.

Main statements:

* Fano, M-ary (docs/theorem.md#fano): n independent uniform symbols over an alphabet of
  M = 2^b, each decoded with average error p, carry at least
  n (b - H2(p) - p log2(M - 1)) bits, for EVERY p in [0, 1] (no clamping; the value is
  >= 0 and vanishes only at p = 1 - 1/M). For b = 1 this is n (1 - H2(p)).
* S2 (s-sparse values): L (b - H2(delta) - delta log2(2^b - 1)) with
  b = floor(log2 C(d, s)) (+ s with sign bits).
* S3 (last w scales): (1 - H2(delta)) d (T_{K-w+1} + ... + T_{K-1}); 0 for w = 1.
* S4 (keys of rank r): (1 - H2(delta)) d L'(r), L'(r) = max_keys(r, eps, cap=L).
* S1 (k-sparse attention): the bound is the theorem's; what is new is that Bob's rows
  keep the promise: off-target mass <= gamma/(1+gamma), entropy <= H2(w0) +
  (1 - w0) log2(m - 1) with w0 = 1/(1+gamma).

References: Cover & Thomas, Elements of Information Theory, 2.10 (Fano); arXiv
2503.14881 and arXiv 2502.15955 (the bound these variants refine).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from lowerbound.intervals import IV as _IV
from lowerbound.intervals import interval_ends as _ends
from lowerbound.intervals import iv_fraction as _iv
from lowerbound.intervals import iv_log2 as _iv_log2
from lowerbound.jl import d_min, max_keys
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "certified_fano_bits",
    "support_symbol_bits",
    "support_rank_bits",
    "sparse_values_bound_bits",
    "sparse_values_gain",
    "window_visible_scales",
    "window_visible_tokens",
    "window_bound_bits",
    "window_fraction",
    "low_rank_keys",
    "low_rank_bound_bits",
    "low_rank_switch",
    "off_target_mass_bound",
    "attention_entropy_bound_bits",
]

def _iv_h2(p: Fraction) -> Any:
    if p in (0, 1):
        return _IV.mpf(0)
    return -(_iv(p) * _iv_log2(p) + _iv(1 - p) * _iv_log2(1 - p))


def _probability(p: RealLike, name: str) -> Fraction:
    check_interval(p, name, 0, 1, closed_lower=True, closed_upper=True)
    return Fraction(p)


def certified_fano_bits(n_symbols: int, p: RealLike, bits_per_symbol: int = 1) -> Fraction:
    """Certified lower end of n (b - H2(p) - p log2(2^b - 1)), for every p in [0, 1].

    The information about n independent uniform symbols over 2^b letters that a decoder
    with average symbol error p must have received (Fano plus the chain rule); b = 1 is
    N (1 - H2(p)). The rigorous companion of ``lowerbound.fano.fano_information_bits``
    (same arguments, a float there): exact at p = 0, never above the true value.

    Notes: docs/theorem.md#fano (no clamping of p); docs/theorem.md#s2 (per-token form).

    >>> certified_fano_bits(10, 0, 3)
    Fraction(30, 1)
    >>> certified_fano_bits(8, 1)  # wrong on every bit: knows every bit
    Fraction(8, 1)
    >>> float(certified_fano_bits(100, Fraction(1, 2)))
    0.0
    >>> round(float(certified_fano_bits(1000, Fraction(9, 10))), 3)
    531.004
    """
    n = check_int_at_least(n_symbols, "n_symbols", 0)
    b = check_int_at_least(bits_per_symbol, "b", 1)
    q = _probability(p, "p")
    if q == 0 or n == 0:
        return Fraction(n * b)
    tail = _iv(q) * _iv_log2(2**b - 1) if b > 1 else _IV.mpf(0)
    value = _iv(n) * (_IV.mpf(b) - _iv_h2(q) - tail)
    return max(_ends(value)[0], Fraction(0))  # the value is >= 0 for every p


def support_symbol_bits(d: int, s: int, *, signed: bool = False) -> int:
    """b = floor(log2 C(d, s)) (+ s sign bits): the bits S2 writes into one value row.

    Notes: docs/theorem.md#s2 (the alphabet is the floor power of two, so the bits are
    uniform).

    >>> support_symbol_bits(64, 1), support_symbol_bits(64, 4), support_symbol_bits(6, 2)
    (6, 19, 3)
    >>> support_symbol_bits(64, 4, signed=True)
    23
    """
    d = check_int_at_least(d, "d", 1)
    s = check_int_at_least(s, "s", 1)
    if s > d:
        raise InvalidArgument(f"s={s} must be <= d={d}")
    return math.comb(d, s).bit_length() - 1 + (s if signed else 0)


def support_rank_bits(d: int, s: int) -> int:
    """ceil(log2 C(d, s)): bits of one support rank as the support cache stores it.

    >>> support_rank_bits(64, 4), support_rank_bits(6, 2), support_rank_bits(5, 5)
    (20, 4, 0)
    """
    d = check_int_at_least(d, "d", 1)
    s = check_int_at_least(s, "s", 0)
    if s > d:
        raise InvalidArgument(f"s={s} must be <= d={d}")
    return (math.comb(d, s) - 1).bit_length()


def sparse_values_bound_bits(
    cached_tokens: int, d: int, s: int, delta: RealLike = 0, *, signed: bool = False
) -> Fraction:
    """S2: L (b - H2(delta) - delta log2(2^b - 1)) bits, b = support_symbol_bits(d, s).

    Every cache from which Bob decodes each token's symbol (its b bits) with average
    error delta keeps at least this many bits; delta = 0 gives the integer L b.

    Notes: docs/theorem.md#s2 (Fano at the per-token symbol error).

    >>> sparse_values_bound_bits(424, 64, 4)
    Fraction(8056, 1)
    """
    n = check_int_at_least(cached_tokens, "L", 1)
    return certified_fano_bits(n, delta, support_symbol_bits(d, s, signed=signed))


def sparse_values_gain(d: int, s: int) -> Fraction:
    """d / floor(log2 C(d, s)): how much smaller the S2 bound is than the dense L d.

    About d / (s log2(d/s)) for s << d.

    >>> sparse_values_gain(64, 4)
    Fraction(64, 19)
    """
    return Fraction(check_int_at_least(d, "d", 1), support_symbol_bits(d, s))


def window_visible_scales(num_scales: int, w: int) -> range:
    """The cached scales (1-based) the last scale K sees under window w: K-w+1 .. K-1.

    w counts the current scale: w = 1 sees no cached scale (an empty range), w >= K sees
    all of 1 .. K-1.

    Notes: docs/theorem.md#s3.

    >>> list(window_visible_scales(10, 1)), list(window_visible_scales(10, 3))
    ([], [8, 9])
    >>> list(window_visible_scales(3, 7))
    [1, 2]
    """
    k = check_int_at_least(num_scales, "K", 2)
    w = check_int_at_least(w, "w", 1)
    return range(max(1, k - w + 1), k)


def window_visible_tokens(tokens: tuple[int, ...], w: int) -> int:
    """L_w = T_{K-w+1} + ... + T_{K-1}: cached tokens visible to the last scale.

    >>> window_visible_tokens((1, 4, 9, 16), 2), window_visible_tokens((1, 4, 9, 16), 1)
    (9, 0)
    """
    return sum(tokens[k - 1] for k in window_visible_scales(len(tokens), w))


def window_bound_bits(tokens: tuple[int, ...], d: int, w: int, delta: RealLike = 0) -> Fraction:
    """S3: (1 - H2(delta)) d L_w bits (0 when w = 1: no cached token is visible).

    Notes: docs/theorem.md#s3; the reduction needs d >= d_min(L_w, eps).

    >>> window_bound_bits((1, 4, 9, 16), 8, 2)
    Fraction(72, 1)
    """
    d = check_int_at_least(d, "d", 1)
    return certified_fano_bits(d * window_visible_tokens(tokens, w), delta)


def window_fraction(tokens: tuple[int, ...], w: int) -> Fraction:
    """L_w / T_K, i.e. bound / (n^2 d) at delta = 0 for a square last map (T_K = n^2).

    >>> window_fraction((1, 4, 9, 16), 2)
    Fraction(9, 16)
    """
    return Fraction(window_visible_tokens(tokens, w), tokens[-1])


def low_rank_keys(r: int, eps: RealLike, cached_tokens: int) -> int:
    """L'(r) = max_keys(r, eps, cap=L): near-orthogonal keys guaranteed in rank r.

    Notes: docs/theorem.md#s4 (Corollary C1 with d replaced by r for the keys).

    >>> low_rank_keys(8, Fraction(3, 4), 424), low_rank_keys(64, Fraction(3, 4), 424)
    (4, 424)
    """
    return max_keys(r, eps, cap=check_int_at_least(cached_tokens, "L", 1))


def low_rank_bound_bits(
    r: int, d: int, cached_tokens: int, eps: RealLike, delta: RealLike = 0
) -> Fraction:
    """S4: (1 - H2(delta)) d L'(r) bits: values stay d-dimensional, keys have rank r.

    >>> low_rank_bound_bits(8, 64, 424, Fraction(3, 4))
    Fraction(256, 1)
    """
    d = check_int_at_least(d, "d", 1)
    r = check_int_at_least(r, "r", 1)
    if r > d:
        raise InvalidArgument(f"rank r={r} must be <= d={d}")
    return certified_fano_bits(d * low_rank_keys(r, eps, cached_tokens), delta)


def low_rank_switch(cached_tokens: int, eps: RealLike) -> int:
    """The least r with L'(r) = L (= d_min(L, eps)): below it the bound is d e^{Theta(r)}.

    >>> low_rank_switch(424, Fraction(3, 4))
    41
    """
    return d_min(check_int_at_least(cached_tokens, "L", 1), eps)


def off_target_mass_bound(gamma: RealLike) -> Fraction:
    """gamma/(1+gamma): attention mass off Bob's target, and so off any top-k set, k >= 1.

    Notes: docs/theorem.md#s1 (Lemma L2: the target weight is >= 1/(1+gamma)).

    >>> off_target_mass_bound(Fraction(1, 3))
    Fraction(1, 4)
    """
    g = Fraction(check_interval(gamma, "gamma", 0, math.inf, closed_lower=True))
    return g / (1 + g)


def attention_entropy_bound_bits(gamma: RealLike, m: int) -> Fraction:
    """Certified upper end of H2(w0) + (1 - w0) log2(m - 1), w0 = 1/(1+gamma) >= 1/m.

    The largest entropy (bits) of a distribution on m points whose top weight is >= w0:
    Bob's attention rows are within this of one-hot (docs/theorem.md#s1).

    >>> attention_entropy_bound_bits(0, 680)
    Fraction(0, 1)
    >>> round(float(attention_entropy_bound_bits(Fraction(3, 10), 680)), 4)
    2.9503
    """
    g = Fraction(check_interval(gamma, "gamma", 0, math.inf, closed_lower=True))
    m = check_int_at_least(m, "m", 1)
    w0 = 1 / (1 + g)
    if w0 * m < 1:
        raise InvalidArgument(f"gamma={gamma} gives a top weight 1/(1+gamma) below 1/m = 1/{m}; "
                         "the bound needs gamma <= m - 1")
    if g == 0 or m == 1:
        return Fraction(0)
    value = _iv_h2(w0) + _iv(1 - w0) * _iv_log2(m - 1)
    return _ends(value)[1]
