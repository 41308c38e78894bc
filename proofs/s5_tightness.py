"""TIGHT -- the reduction's bound is tight up to 1 + O(log d / d) (ours).

Purpose: the registry entry and checks of Proposition TIGHT (docs/theorem.md#tight), a
claim beyond the papers, proved in docs/theorem.md; the checks here build the object the
proof describes and count its bits.

Main statement: on the reduction's instances (0/1 values, distinct sign keys, Bob's
queries positive multiples of cached keys), the L value rows bit-packed (N = L d bits) plus
a compacted binary trie of the key signs -- 2L - 1 shape bits and L - 1 coordinate labels
of ceil(log2 d) bits -- let Bob recover every bit: N + (L-1) ceil(log2 d) + 2L - 1 bits,
within a factor 1 + (ceil(log2 d) + 2)/d of the Index bound N.

References: docs/theorem.md#tight (ours); arXiv 2503.14881 states only the Omega bound;
the packer (caches/matching/packer.py) replaces the trie by a minimal perfect hash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lowerbound.validation import InvalidArgument
from proofs.certificates import PARAMETER_TABLE
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS", "tight_cache_bits", "trie_routing_bits", "SignTrie", "build_trie"]


def trie_routing_bits(cached_tokens: int, d: int) -> int:
    """(L-1) ceil(log2 d) + 2L - 1: bits of the compacted trie routing L distinct keys.

    >>> trie_routing_bits(424, 64)
    3385
    """
    return (cached_tokens - 1) * math.ceil(math.log2(d)) + 2 * cached_tokens - 1


def tight_cache_bits(cached_tokens: int, d: int) -> int:
    """N + (L-1) ceil(log2 d) + 2L - 1: the tailored message of TIGHT, header excluded.

    Notes: Proposition TIGHT (docs/theorem.md#tight).

    >>> tight_cache_bits(424, 64)
    30521
    """
    return cached_tokens * d + trie_routing_bits(cached_tokens, d)


@dataclass(frozen=True)
class SignTrie:
    """A compacted binary trie: a leaf (``label`` None, ``leaf`` = row) or an internal node."""

    label: int | None
    leaf: int | None = None
    low: SignTrie | None = None  # members with sign -1 at ``label``
    high: SignTrie | None = None  # members with sign +1 at ``label``

    def nodes(self) -> tuple[int, int]:
        """(internal nodes, leaves)."""
        if self.label is None:
            return 0, 1
        assert self.low is not None and self.high is not None
        a, b = self.low.nodes()
        c, e = self.high.nodes()
        return a + c + 1, b + e

    def route(self, signs: np.ndarray) -> int:
        """The leaf (row index) reached by following ``signs`` at each label."""
        node = self
        while node.label is not None:
            node = node.high if signs[node.label] > 0 else node.low  # type: ignore[assignment]
        assert node.leaf is not None
        return node.leaf

    def encoded_bits(self, d: int) -> int:
        """Preorder encoding: one shape bit per node, ceil(log2 d) bits per internal label."""
        internal, leaves = self.nodes()
        return internal + leaves + internal * math.ceil(math.log2(d))


def build_trie(signs: np.ndarray, rows: np.ndarray | None = None) -> SignTrie:
    """The compacted trie of distinct sign rows (split at the first disagreeing coordinate).

    >>> t = build_trie(np.array([[1, 1], [1, -1], [-1, 1]]))
    >>> [t.route(s) for s in np.array([[1, 1], [1, -1], [-1, 1]])]
    [0, 1, 2]
    """
    rows = np.arange(len(signs)) if rows is None else rows
    if len(rows) == 1:
        return SignTrie(None, int(rows[0]))
    block = signs[rows]
    differs = np.flatnonzero((block != block[0]).any(axis=0))
    if differs.size == 0:
        raise InvalidArgument(f"rows {rows.tolist()} share one sign pattern; keys must be distinct")
    p = int(differs[0])
    return SignTrie(p, None, build_trie(signs, rows[block[:, p] < 0]),
                    build_trie(signs, rows[block[:, p] > 0]))


def check_trie_on_sampled_keys() -> CheckResult:
    """TIGHT: a trie over sampled keys (L=424, d=64, seed 0) routes each key to its own row."""
    from reduction.keys import sample_keys

    n, d = 424, 64
    signs = sample_keys(n, d, 0.75, rng=np.random.default_rng(0)).signs
    trie = build_trie(signs)
    misrouted = sum(trie.route(signs[i]) != i for i in range(n))
    bits = trie.encoded_bits(d)
    ok = misrouted == 0 and bits == trie_routing_bits(n, d)
    return CheckResult.of(ok, f"{misrouted} of {n} keys misrouted; trie {bits} bits "
                          f"= (L-1) ceil(log2 d) + 2L - 1 = {trie_routing_bits(n, d)}")


def check_table_ratios() -> CheckResult:
    """TIGHT: on every row N + routing is within 1 + (ceil(log2 d) + 2)/d of the bound N."""
    ok, lines = True, []
    for p in PARAMETER_TABLE:
        ratio = Fraction(tight_cache_bits(p.cached_tokens, p.d), p.cached_tokens * p.d)
        ok &= ratio <= 1 + Fraction(math.ceil(math.log2(p.d)) + 2, p.d)
        lines.append(f"{p.name}: {float(ratio):.4f}")
    return CheckResult.of(ok, "; ".join(lines))


LEMMAS = (
    Lemma(
        label="TIGHT",
        title="Tightness up to 1 + O(log d / d) (ours)",
        reference="ours, beyond the papers (docs/theorem.md#tight)",
        statement=(
            "Bit-packed values plus a compacted trie of the key signs let Bob decode every "
            "bit from N + (L-1) ceil(log2 d) + 2L - 1 bits, a factor 1 + O(log d / d) "
            "above L4's bound."
        ),
        uses=("THM",),
        code=("proofs.s5_tightness.tight_cache_bits", "proofs.s5_tightness.build_trie",
              "caches.matching.packer.PackerCache"),
        tests=("tests/proofs/test_proofs_checks.py::test_tightness_ratio_on_presets",
               "tests/caches/test_packer_boundaries.py::test_every_boundary_meets_one_plus_twelve_over_d",
               "tests/caches/test_compressors_packer.py::"
               "test_packer_decodes_every_bit_within_one_plus_twelve_over_d"),
        checks=(
            Check("trie routes every sampled key", "sampled", check_trie_on_sampled_keys),
            Check("ratios on the table", "bookkeeping", check_table_ratios),
        ),
        origin="ours",
    ),
)
