"""A worst-case-tight instance of Lemma L3: it decodes at C_min and fails just below it.

Purpose: show that C_min of Lemma L3 (docs/theorem.md#l3) is not merely sufficient but
exact: on this instance, under the adversary that moves every output by eta towards tau
(docs/theorem.md#correctness), Bob decodes every bit at C = C_min and misreads a bit at
the double just below C_min. Checked in interval arithmetic (200-bit ends, outward
rounding), since the two sides differ by about 1e-16.

The instance: L = 2 cached sign keys sigma_1, sigma_2 in {+-1}^d with
<sigma_1, sigma_2> = eps d exactly (eps d an integer of the parity of d), then Bob's last
scale of T_K tokens with zero keys and zero values (docs/theorem.md#unused). Values are
complementary: x_1 = (1, 0, 1, 0, ...), x_2 = (0, 1, 0, 1, ...). Bob's query C k_1 scores
C on k_1, C eps on k_2 and 0 on each zero key, so with S = e^C + e^{C eps} + T_K

    Z_{1,l} = (e^C x_{1,l} + e^{C eps} x_{2,l}) / S.

Main statement: where x_{1,l} = 1 and x_{2,l} = 0, Z_{1,l} = e^C / S = 1/(1 + gamma) with
gamma = e^{-C(1-eps)} + T_K e^{-C}, i.e. Lemma L2's weight bound holds with equality, and
the adversary's output (1 - eta)/(1 + gamma) is exactly the bottom of L3's one-range. So
that bit decodes iff (1 - eta)/(1 + gamma) > tau iff gamma < (1 - eta)/(1 + eta), which
by definition of C_min holds at C_min and fails at every smaller C.

References: arXiv 2503.14881 (the reduction); docs/theorem.md#l2, #l3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.decoding import tau as float_tau
from lowerbound.intervals import IV, Enclosure, enclose, iv_fraction
from lowerbound.softmax import c_min, gamma, gamma_target
from lowerbound.validation import InvalidArgument

__all__ = [
    "TightInstance",
    "TIGHT_ETAS",
    "tight_instance",
    "decode_tight",
    "TightDecoding",
    "certify_tight",
]

#: The eta grid of the check (exact rationals).
TIGHT_ETAS: tuple[Fraction, ...] = (Fraction(0), Fraction(1, 4), Fraction(1, 2),
                                    Fraction(9, 10))


@dataclass(frozen=True)
class TightInstance:
    """Two sign keys with <sigma_1, sigma_2> = eps d, their 0/1 values, T_K zero keys."""

    signs: np.ndarray  # (2, d) int8
    values: np.ndarray  # (2, d) uint8, complementary
    eps: Fraction
    last_tokens: int

    @property
    def d(self) -> int:
        return int(self.signs.shape[1])


def tight_instance(d: int = 64, eps: Fraction = Fraction(3, 4),
                   last_tokens: int = 256) -> TightInstance:
    """The instance for (d, eps, T_K); eps d must be an integer with d - eps d even.

    >>> inst = tight_instance(8, Fraction(1, 2), 4)
    >>> int(inst.signs[0].astype(int) @ inst.signs[1]), inst.values.tolist()[0]
    (4, [1, 0, 1, 0, 1, 0, 1, 0])
    """
    eps = Fraction(eps)
    agree = eps * d
    if agree.denominator != 1 or (d - agree.numerator) % 2 or not 0 < eps < 1:
        raise InvalidArgument(f"eps={eps} and d={d}: eps*d must be an integer of the parity of d "
                         "with 0 < eps < 1 (e.g. d=64, eps=3/4)")
    flips = (d - agree.numerator) // 2  # <s1, s2> = d - 2 * flips
    signs = np.ones((2, d), dtype=np.int8)
    signs[1, :flips] = -1
    values = np.zeros((2, d), dtype=np.uint8)
    values[0, 0::2] = 1
    values[1, 1::2] = 1
    return TightInstance(signs, values, eps, int(last_tokens))


def _exact_outputs(inst: TightInstance, c: Fraction) -> list[list[Any]]:
    """Interval enclosures of Z_{i,l} for Bob's queries C k_1, C k_2 (exact attention)."""
    d = inst.d
    gram = inst.signs.astype(np.int64) @ inst.signs.T.astype(np.int64)
    rows = []
    for i in range(2):
        scores = [iv_fraction(c * Fraction(int(gram[i, j]), d)) for j in range(2)]
        weights = [IV.exp(s) for s in scores]
        total = weights[0] + weights[1] + inst.last_tokens  # zero keys score 0: e^0 = 1
        rows.append([(weights[0] * int(inst.values[0, col]) + weights[1]
                      * int(inst.values[1, col])) / total for col in range(d)])
    return rows


def _above(x: Any, threshold: Any, what: str) -> bool:
    """x > threshold, decided on intervals (ArithmeticError if they overlap)."""
    if x.a > threshold.b:
        return True
    if x.b <= threshold.a:
        return False
    raise ArithmeticError(f"{what}: cannot decide {enclose(x)} > {enclose(threshold)}")


@dataclass(frozen=True)
class TightDecoding:
    """Bob's decoding of the tight instance at one C and threshold."""

    c: Fraction
    eta: Fraction
    threshold: Enclosure
    gamma: Enclosure
    wrong: int  # bits misread, out of 2 d
    worst_margin: Enclosure  # min over bits of the signed distance to the threshold

    @property
    def decodes(self) -> bool:
        return self.wrong == 0


def decode_tight(inst: TightInstance, c: float | Fraction, eta: Fraction,
                 threshold: str | Fraction = "exact") -> TightDecoding:
    """Decode every bit of ``inst`` at query scale C under the eta-adversary, certified.

    The adversary moves each exact output by eta towards the threshold (Z (1 - eta) above
    it, Z (1 + eta) below it). ``threshold`` is ``"exact"`` (Lemma L3's tau at gamma(C),
    enclosed), ``"code"`` (the float :func:`lowerbound.decoding.tau` returns, read
    exactly) or a rational to decode at instead (e.g. 1/2).
    """
    c_q, eta = Fraction(c), Fraction(eta)
    g = (IV.exp(-iv_fraction(c_q * (1 - inst.eps))) + inst.last_tokens
         * IV.exp(-iv_fraction(c_q)))
    if threshold == "exact":
        thr = (iv_fraction(1 - eta) + iv_fraction(1 + eta) * g) / (2 * (1 + g))
    elif threshold == "code":
        g_float = gamma(2, inst.last_tokens, float(c_q), inst.eps)
        thr = iv_fraction(Fraction(float_tau(g_float, float(eta))))
    else:
        thr = iv_fraction(Fraction(threshold))
    wrong, margins = 0, []
    for i, row in enumerate(_exact_outputs(inst, c_q)):
        for col, z in enumerate(row):
            up = _above(z, thr, f"Z[{i},{col}] at C={float(c_q)!r}")
            moved = z * iv_fraction(1 - eta) if up else z * iv_fraction(1 + eta)
            bit = int(inst.values[i, col])
            read = int(_above(moved, thr, f"moved Z[{i},{col}] at C={float(c_q)!r}"))
            wrong += read != bit
            margins.append(moved - thr if bit else thr - moved)
    worst = margins[0]
    for m in margins[1:]:
        worst = IV.mpf([min(worst.a, m.a), min(worst.b, m.b)])
    return TightDecoding(c_q, eta, enclose(thr), enclose(g), wrong, enclose(worst))


def certify_tight(eta: Fraction, inst: TightInstance | None = None,
                  c: float | None = None) -> tuple[list[str], str]:
    """(failures, detail): decodes at C (default: C_min of the code) and fails at C^-.

    Checked with Lemma L3's exact tau and with the float tau the code uses; C^- is the
    double just below C. ``c`` lets a test feed a wrong C_min and watch this fail.

    >>> failures, _ = certify_tight(Fraction(1, 4))
    >>> failures
    []
    """
    inst = inst or tight_instance()
    eta = Fraction(eta)
    c_used = c_min(2, inst.last_tokens, inst.eps, eta) if c is None else float(c)
    below = math.nextafter(c_used, 0.0)
    failures: list[str] = []
    notes = []
    for threshold in ("exact", "code"):
        at = decode_tight(inst, c_used, eta, threshold)
        before = decode_tight(inst, below, eta, threshold)
        if not at.decodes:
            failures.append(f"eta={eta}, {threshold} tau: {at.wrong} bits misread at "
                            f"C={c_used!r}")
        if before.decodes:
            failures.append(f"eta={eta}, {threshold} tau: every bit still decodes at "
                            f"C^-={below!r}, so C={c_used!r} is not the least C")
        notes.append(f"{threshold} tau: margin {at.worst_margin} at C, {before.wrong} "
                     "misread at C^-")
    if not at.gamma.hi < gamma_target(eta):
        failures.append(f"eta={eta}: gamma(C) in {at.gamma} is not below the target")
    return failures, f"eta={eta}: C_min={c_used!r}; " + "; ".join(notes)
