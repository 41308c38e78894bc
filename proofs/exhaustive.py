"""Exhaustive check of the Index lower bound (Lemma L4) on tiny N.

Purpose: the *exhaustive* check of Lemma L4. For every N <= 4 and every message length
m <= N, find the best one-way protocol for Index_N over *all* protocols: Alice sends
f(x) in {0,1}^m for uniform x in {0,1}^N, Bob outputs a guess of x_j for every j. The
rows m = N (the identity protocol, error 0) are where Fano's bound is attained, so a bound
stronger by any factor > 1 fails there; for m < N Fano has slack (at least 1.64x here).

Main statement (L4, Fano form): the least **average per-bit error**
delta_bar = (1/N) sum_j P(guess_j != x_j) over all protocols satisfies
N (1 - H2(delta_bar)) <= m, i.e. delta_bar >= H2^{-1}(1 - m/N). The maximum per-bit error
is at least the average, so the same floor holds for it. We certify the average because
that is what Fano plus concavity bound, and because it is linear in the protocol:
a protocol with public (or private) coins is a mixture of deterministic protocols, its
average error is the mixture's average of theirs, hence >= the deterministic optimum
(Yao's averaging argument). Coins cannot help, so deterministic protocols suffice.

Method. A deterministic protocol is a map f: {0,1}^N -> {0,1}^m and a decoder; for a
fixed f the optimal decoder answers, for each message and each bit, the majority value
of that bit among the inputs sending that message. So the optimum depends only on the
partition of the 2^N inputs into <= 2^m classes, with cost
E(f) = sum over classes B and bits j of min(#{x in B: x_j = 1}, #{x in B: x_j = 0}),
and delta_bar = E / (N 2^N). For N <= 3 we enumerate every function f literally
((2^m)^(2^N) <= 65,536 of them). For N = 4 (up to 8^16 functions) we compute the same
minimum exactly by dynamic programming over subsets (best partition of a set into <= 2k
classes = best split into two parts of <= k classes each), and cross-check the two
methods on N <= 3.

References: Kremer, Nisan & Ron, "On randomized one-round communication complexity"
(1999); Cover & Thomas, *Elements of Information Theory*, section 2.10 (Fano); A. Yao
(1977) for the averaging principle.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lowerbound.intervals import Enclosure, enclose, iv_binary_entropy
from lowerbound.validation import InvalidArgument

__all__ = [
    "IndexOptimum",
    "class_costs",
    "brute_force_errors",
    "dp_errors",
    "index_optimum",
    "exhaustive_table",
    "cached_exhaustive_table",
    "MAX_N",
]

MAX_N = 4


def _bits(n: int) -> np.ndarray:
    """The 2^N inputs as rows of bits (input x has bit j = (x >> j) & 1)."""
    xs = np.arange(2**n)
    return ((xs[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int64)


def class_costs(n: int) -> np.ndarray:
    """cost[S] for every subset S of inputs (as a 2^N-bit mask): Bob's least errors on S.

    cost(S) = sum_j min(#{x in S: x_j = 1}, #{x in S: x_j = 0}) (majority decoding).

    Notes: Lemma L4 (docs/theorem.md#l4) (exhaustive form).

    >>> class_costs(1).tolist()  # subsets of {0, 1}: {}, {0}, {1}, {0, 1}
    [0, 0, 0, 1]
    """
    bits = _bits(n)
    n_inputs = 2**n
    masks = np.arange(2**n_inputs, dtype=np.int64)
    member = ((masks[:, None] >> np.arange(n_inputs)[None, :]) & 1).astype(np.int64)
    ones = member @ bits  # (subsets, N)
    size = member.sum(axis=1)[:, None]
    return np.minimum(ones, size - ones).sum(axis=1)


def brute_force_errors(n: int, m: int) -> int:
    """Least total errors E over every function f: {0,1}^N -> {0,1}^m, enumerated.

    Notes: Lemma L4 (docs/theorem.md#l4) (exhaustive form). Feasible for N <= 3.

    >>> brute_force_errors(3, 1)  # send the majority bit: 6 errors out of 24
    6
    """
    if n > 3:
        raise InvalidArgument(f"N={n} is too large to enumerate every function; use dp_errors")
    bits = _bits(n)
    n_inputs, labels = 2**n, 2**m
    table = np.array(list(itertools.product(range(labels), repeat=n_inputs)), dtype=np.int64)
    total = np.zeros(len(table), dtype=np.int64)
    for label in range(labels):
        member = (table == label).astype(np.int64)
        ones = member @ bits
        size = member.sum(axis=1)[:, None]
        total += np.minimum(ones, size - ones).sum(axis=1)
    return int(total.min())


def _submasks(mask: int) -> np.ndarray:
    sub = np.zeros(1, dtype=np.int64)
    bit = 0
    while mask >> bit:
        if (mask >> bit) & 1:
            sub = np.concatenate([sub, sub + (1 << bit)])
        bit += 1
    return sub


def _min_plus_split(f: np.ndarray, g: np.ndarray, n_inputs: int) -> np.ndarray:
    """out[S] = min over T subset of S of f[T] + g[S - T], for every S (subset convolution)."""
    full = (1 << n_inputs) - 1
    out = np.full_like(f, np.iinfo(np.int64).max)
    for t in range(full + 1):
        rest = _submasks(full & ~t)
        s = t | rest
        out[s] = np.minimum(out[s], f[t] + g[rest])
    return out


def dp_errors(n: int, m: int) -> int:
    """Least total errors E over every partition of the 2^N inputs into <= 2^m classes.

    Exact dynamic programming over subsets: best_1 = cost, best_{2k}[S] =
    min_{T subset S} best_k[T] + best_k[S - T]; answer best_{2^m}[all inputs].

    Notes: Lemma L4 (docs/theorem.md#l4) (exhaustive form); equal to :func:`brute_force_errors`
    wherever both run.

    >>> dp_errors(3, 1)
    6
    """
    n_inputs = 2**n
    full = (1 << n_inputs) - 1
    best = class_costs(n)
    for _ in range(m - 1):
        best = _min_plus_split(best, best, n_inputs)
    if m == 0:
        return int(best[full])
    rest = _submasks(full)  # last level: only the full set is needed
    return int(np.min(best[rest] + best[full & ~rest]))


@dataclass(frozen=True)
class IndexOptimum:
    """The best protocol's average per-bit error for Index_N with an m-bit message."""

    n: int
    m: int
    errors: int  # least total errors over all inputs and bits
    method: str  # "enumeration" or "subset DP"

    @property
    def average_error(self) -> Fraction:
        """delta_bar = E / (N 2^N), exactly."""
        return Fraction(self.errors, self.n * 2**self.n)

    @property
    def information_bits(self) -> Enclosure:
        """N (1 - H2(delta_bar)): the Fano lower bound on m given delta_bar (enclosed)."""
        return enclose(self.n * (1 - iv_binary_entropy(self.average_error)))

    @property
    def holds(self) -> bool:
        """Whether N (1 - H2(delta_bar)) <= m is proved, i.e. delta_bar >= H2^{-1}(1 - m/N)."""
        return self.holds_at(Fraction(1))

    def holds_at(self, strength: Fraction) -> bool:
        """Whether strength * N (1 - H2(delta_bar)) <= m is proved (strength 1 is Lemma L4).

        >>> row = index_optimum(2, 2)  # the identity protocol: Fano's bound is attained
        >>> row.holds_at(Fraction(1)), row.holds_at(Fraction(8, 5))
        (True, False)
        """
        return (self.average_error <= Fraction(1, 2)
                and strength * self.information_bits.hi <= self.m)


def index_optimum(n: int, m: int) -> IndexOptimum:
    """The exhaustive optimum for (N, m): enumeration for N <= 3, subset DP for N = 4.

    For m = N the optimum is 0 errors: the identity protocol reaches it and no protocol
    does better (no enumeration is needed).

    Notes: Lemma L4 (docs/theorem.md#l4), exhaustive form.

    >>> index_optimum(2, 1).average_error
    Fraction(1, 4)
    >>> index_optimum(3, 3).method
    'identity (m = N)'
    """
    if not (1 <= n <= MAX_N and 0 <= m <= n):
        raise InvalidArgument(f"need 1 <= N <= {MAX_N} and 0 <= m <= N, got N={n}, m={m}")
    if m == n:
        return IndexOptimum(n, m, 0, "identity (m = N)")
    if n <= 3:
        return IndexOptimum(n, m, brute_force_errors(n, m), "enumeration")
    return IndexOptimum(n, m, dp_errors(n, m), "subset DP")


def exhaustive_table(max_n: int = MAX_N) -> tuple[IndexOptimum, ...]:
    """:func:`index_optimum` for every 1 <= N <= max_n and 0 <= m <= N (computed afresh)."""
    return tuple(index_optimum(n, m) for n in range(1, max_n + 1) for m in range(n + 1))


@functools.cache
def cached_exhaustive_table(max_n: int = MAX_N) -> tuple[IndexOptimum, ...]:
    """:func:`exhaustive_table`, memoised (a pure function of ``max_n``) for the registry."""
    return exhaustive_table(max_n)
