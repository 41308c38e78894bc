"""The leak rule as a compression certificate: Lemma CERT (docs/theorem.md#certificate).

Purpose: decide, with a false-alarm probability at most alpha and no model of the errors,
that Bob's decoded symbols Y reveal more about Alice's symbols X than the message he
received can hold, i.e. that the cache leaks through a channel other than its bytes.

Main statement: fix, before the run, the family of codes of :mod:`lowerbound.codes` and
the number of tests (one per seed, plus one pooled over the seeds when there are several).
A test on N uniform bits X, a message of S bits (a whole number of bytes) and Bob's output
Y certifies a leak when, for some code c,

    len_c(X | Y) < N - S - gamma(S/8 + 1) - log2(tests * |codes|) - log2(1/alpha),

gamma(m) = 2 floor(log2 m) + 1 (the Elias gamma length: the allowance for a message
length not known in advance). If Y depends on X only through the messages, every test
together fires with probability at most alpha, whatever the errors' structure. The
comparison is exact: lengths are integers and 2^D alpha > tests |codes| is decided on
rationals. Pooled: X, Y are the seeds' arrays concatenated, S the sum of the messages and
the allowance the sum of the per-seed allowances.

References: Cover & Thomas, *Elements of Information Theory*, 2nd ed., Thm 5.2.1 (Kraft);
J. Rissanen, "Stochastic complexity", J. R. Stat. Soc. B 49 (1987) (two-part codes as
tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.codes import CODES, SymbolPair, code_lengths, elias_gamma_bits
from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval

__all__ = [
    "DEFAULT_ALPHA",
    "Certificate",
    "SeedObservation",
    "Verdict",
    "certify",
    "certify_pooled",
    "certify_runs",
    "exceeds",
    "family_size",
    "message_allowance_bits",
    "pooled_pair",
    ]

DEFAULT_ALPHA = 1e-6  # the false-alarm level of every verdict (all tests of a run together)


def family_size(seeds: int) -> int:
    """|codes| x tests: one test per seed and, for two or more seeds, one pooled test.

    >>> family_size(1), family_size(20)
    (6, 126)
    """
    s = check_int_at_least(seeds, "seeds", 1)
    return len(CODES) * (s + (1 if s > 1 else 0))


def message_allowance_bits(message_bits: int) -> int:
    """gamma(S/8 + 1): what a message length unknown in advance costs (Lemma CERT).

    >>> message_allowance_bits(0), message_allowance_bits(8 * 3392)
    (1, 23)
    """
    s = check_int_at_least(message_bits, "message_bits", 0)
    if s % 8:
        raise InvalidArgument(f"message_bits={s} must be a whole number of bytes (a multiple of 8)")
    return elias_gamma_bits(s // 8 + 1)


def exceeds(slack_bits: int, family: int, alpha: float) -> bool:
    """Exactly whether 2^D alpha > family (D = ``slack_bits``): D > log2(family/alpha).

    >>> exceeds(20, 1, 1e-6), exceeds(19, 1, 1e-6), exceeds(0, 1, 0.5)
    (True, False, False)
    """
    a = Fraction(alpha)
    top, bottom = a.numerator, a.denominator * check_int_at_least(family, "family", 1)
    if slack_bits >= 0:
        return top << slack_bits > bottom
    return top > bottom << -slack_bits


@dataclass(frozen=True)
class Certificate:
    """One test: the shortest code, the threshold and the verdict (JSON via to_json)."""

    scope: str
    leak: bool
    code: str
    code_bits: int
    lengths: dict[str, int]
    instance_bits: int
    message_bits: int
    allowance_bits: int
    family: int
    alpha: float

    @property
    def threshold_bits(self) -> float:
        """N - S - allowance - log2(family) - log2(1/alpha) (display; the verdict is exact)."""
        return (self.instance_bits - self.message_bits - self.allowance_bits
                - math.log2(self.family) + math.log2(self.alpha))

    @property
    def margin_bits(self) -> float:
        """threshold - len: how many bits under the threshold the best code came."""
        return self.threshold_bits - self.code_bits

    @property
    def revealed_bits(self) -> int:
        """N - len: the bits of X the best code saves given Y."""
        return self.instance_bits - self.code_bits

    def describe(self) -> str:
        verdict = "leak certified" if self.leak else "no leak"
        return (f"{verdict} ({self.scope}): code {self.code} describes X given Y in "
                f"{self.code_bits} of {self.instance_bits} bits, {abs(self.margin_bits):.1f} "
                f"bits {'under' if self.leak else 'over'} the threshold "
                f"{self.threshold_bits:.1f} (message {self.message_bits} bits, alpha "
                f"{self.alpha:g}, family of {self.family})")

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "leak": self.leak, "code": self.code,
                "code_bits": self.code_bits, "lengths": dict(self.lengths),
                "instance_bits": self.instance_bits, "message_bits": self.message_bits,
                "allowance_bits": self.allowance_bits, "family": self.family,
                "alpha": self.alpha, "threshold_bits": self.threshold_bits,
                "margin_bits": self.margin_bits, "revealed_bits": self.revealed_bits}


def _certificate(pair: SymbolPair, message_bits: int, allowance: int, family: int,
                 alpha: float, scope: str) -> Certificate:
    check_interval(alpha, "alpha", 0, 1)
    lengths = code_lengths(pair)
    code = min(lengths, key=lambda c: (lengths[c], list(CODES).index(c)))
    n_bits = pair.n * pair.bits
    slack = n_bits - message_bits - allowance - lengths[code]
    return Certificate(scope=scope, leak=exceeds(slack, family, alpha), code=code,
                       code_bits=lengths[code], lengths=lengths, instance_bits=n_bits,
                       message_bits=message_bits, allowance_bits=allowance, family=family,
                       alpha=float(alpha))


def certify(pair: SymbolPair, message_bits: int, *, family: int,
            alpha: float = DEFAULT_ALPHA, scope: str = "seed") -> Certificate:
    """The test of one seed (``family``: :func:`family_size` of the planned seeds).

    >>> x = np.random.default_rng(1).integers(0, 2, size=(4, 16))
    >>> c = certify(SymbolPair(x, x, 1), 0, family=6, alpha=0.01)
    >>> c.leak, c.code, c.code_bits  # 64 bits decoded exactly from an empty message
    (True, 'tokens-exact', 3)
    """
    return _certificate(pair, message_bits, message_allowance_bits(message_bits), family,
                        alpha, scope)


def pooled_pair(pairs: Sequence[SymbolPair]) -> SymbolPair:
    """The seeds' arrays end to end, tokens kept apart (seed s's tokens after seed s-1's)."""
    if not pairs or len({p.bits for p in pairs}) != 1:
        raise InvalidArgument("pooling needs at least one seed, all with the same bits per symbol")
    offsets = np.cumsum([0] + [int(p.groups.max()) + 1 for p in pairs[:-1]])
    return SymbolPair(np.concatenate([p.truth for p in pairs]),
                      np.concatenate([p.decoded for p in pairs]), pairs[0].bits,
                      np.concatenate([p.groups + o for p, o in zip(pairs, offsets)]))


def certify_pooled(pairs: Sequence[SymbolPair], message_bits: Sequence[int], *,
                   family: int, alpha: float = DEFAULT_ALPHA) -> Certificate:
    """The pooled test: X, Y concatenated; S and the allowance summed over the seeds."""
    if len(pairs) != len(message_bits):
        raise InvalidArgument(f"{len(pairs)} seeds but {len(message_bits)} message lengths")
    allowance = sum(message_allowance_bits(s) for s in message_bits)
    return _certificate(pooled_pair(pairs), sum(message_bits), allowance, family, alpha,
                        f"pooled over {len(pairs)} seeds")


@dataclass(frozen=True)
class SeedObservation:
    """What one seed leaves for the certificate: X, Y (as a pair) and S."""

    pair: SymbolPair
    message_bits: int


@dataclass(frozen=True)
class Verdict:
    """Every test of a run: per seed, then pooled (when there are several seeds)."""

    certificates: tuple[Certificate, ...]
    alpha: float
    family: int

    @property
    def leak(self) -> bool:
        return any(c.leak for c in self.certificates)

    @property
    def decisive(self) -> Certificate:
        """The certificate furthest under its threshold (the leak, if there is one)."""
        return max(self.certificates, key=lambda c: c.margin_bits)


def certify_runs(runs: Sequence[SeedObservation], alpha: float = DEFAULT_ALPHA) -> Verdict:
    """Every seed's test and the pooled test, with the family size of ``len(runs)`` seeds.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, size=(8, 32))
    >>> runs = [SeedObservation(SymbolPair(x, x, 1), 8 * 32)] * 3  # message = the bits
    >>> certify_runs(runs).leak
    False
    """
    family = family_size(len(runs))
    certs = [certify(r.pair, r.message_bits, family=family, alpha=alpha, scope=f"seed {i}")
             for i, r in enumerate(runs)]
    if len(runs) > 1:
        certs.append(certify_pooled([r.pair for r in runs], [r.message_bits for r in runs],
                                    family=family, alpha=alpha))
    return Verdict(tuple(certs), float(alpha), family)
