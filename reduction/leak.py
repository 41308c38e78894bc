"""The leak certificate's inputs: what each seed of the protocol leaves for Lemma CERT.

Purpose: docs/theorem.md#certificate. The verifier compares Alice's symbols X with Bob's
decoded symbols Y at the positions it checked, groups them by token, and asks
:mod:`lowerbound.certificate` whether some code of the family fixed before the run
describes X given Y in fewer than N - S - allowance - log2(|family| / alpha) bits. The
family size is fixed by the number of seeds planned, before the first seed runs.

Main statement: with no channel from Alice to Bob but the messages, a :class:`LeakLedger`
reports a leak (on any seed, or pooled over the seeds) with probability at most
:data:`LEAK_ALPHA`, whatever the structure of Bob's errors.
"""

from __future__ import annotations

import numpy as np

from lowerbound.certificate import (
    DEFAULT_ALPHA,
    Certificate,
    certify,
    certify_pooled,
    family_size,
)
from lowerbound.codes import MAX_SYMBOL_BITS, SymbolPair

__all__ = ["LEAK_ALPHA", "LeakLedger", "bit_rows_pair"]

LEAK_ALPHA = DEFAULT_ALPHA  # the false-alarm level of one run's verdict (all its tests)


class LeakLedger:
    """The seeds of one run: each seed's certificate as it ends, the pooled one at the end.

    ``seeds`` is the number planned (it fixes the family size); a run cut short by a
    failure pools the seeds it has, which only makes the verdict more cautious.
    """

    def __init__(self, seeds: int = 1, alpha: float = LEAK_ALPHA) -> None:
        self.family = family_size(seeds)
        self.alpha = alpha
        self._pairs: list[SymbolPair] = []
        self._messages: list[int] = []
        self._leaked = False

    def seed(self, seed: int, pair: SymbolPair, message_bits: int) -> Certificate:
        """The test of one seed, recorded for the pooled test."""
        self._pairs.append(pair)
        self._messages.append(message_bits)
        certificate = certify(pair, message_bits, family=self.family, alpha=self.alpha,
                              scope=f"seed {seed}")
        self._leaked |= certificate.leak
        return certificate

    @property
    def leak(self) -> bool:
        """A leak is certified on a recorded seed or pooled over them: it outranks any
        failure that comes later (a failed seed leaves the verdict standing)."""
        pooled = self.pooled()
        return self._leaked or (pooled is not None and pooled.leak)

    def pooled(self) -> Certificate | None:
        """The pooled test over every seed recorded (None with fewer than two)."""
        if len(self._pairs) < 2:
            return None
        return certify_pooled(self._pairs, self._messages, family=self.family,
                              alpha=self.alpha)


def bit_rows_pair(truth: np.ndarray, decoded: np.ndarray, symbol_bits: int) -> SymbolPair:
    """X and Y given as rows of bits (one token per row), read as symbols of
    ``symbol_bits`` consecutive bits of a row when they fit (at most 16 bits, a whole
    number per row), else as single bits. Either way the bits are the same uniform X.

    >>> pair = bit_rows_pair(np.array([[1, 0, 1, 1]]), np.array([[1, 0, 0, 1]]), 2)
    >>> pair.bits, pair.truth.tolist(), pair.decoded.tolist()
    (2, [2, 3], [2, 1])
    """
    x, y = np.asarray(truth, dtype=np.uint16), np.asarray(decoded, dtype=np.uint16)
    rows, width = x.shape
    b = symbol_bits if 1 <= symbol_bits <= MAX_SYMBOL_BITS and width % symbol_bits == 0 else 1
    weights = (1 << np.arange(b - 1, -1, -1)).astype(np.uint16)
    as_symbols = [(a.reshape(rows, width // b, b) * weights).sum(axis=2, dtype=np.uint16)
                  for a in (x, y)]
    return SymbolPair(as_symbols[0], as_symbols[1], b)
