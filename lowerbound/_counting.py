"""Private helper: ceil(log2 W) for a count W written as factorials and powers, exactly.

Purpose: the code lengths of docs/theorem.md#certificate are ceil(log2 W) for integers W
with up to millions of bits (binomials, multinomials, powers). Computing W itself costs
seconds at n ~ 10^6, so we first enclose ln W in floating point and return the ceiling
when the enclosure decides it; only when it straddles an integer (log2 W within about
1e-7 of an integer, or a tiny W) is W formed exactly with Python integers.

The enclosure of ln m!: for m < 4096 a table of math.log(m!) taken from the exact
integer m! (CPython's log of an integer rounds its mantissa once, so each entry is within
a few units in the last place); for m >= 4096 Stirling's series, which envelops ln m!:

    ln m! = ln sqrt(2 pi) + (m + 1/2) ln m - m + 1/(12 m) - theta / (360 m^3),  0 < theta < 1

(the remainder has the sign of, and is smaller than, the first term left out). Each float
term carries a rounding allowance of 2^-44 times its magnitude (a few units in the last
place per operation would be 2^-50); the terms are added with ``math.fsum`` (correctly
rounded), whose own rounding is covered by the same allowance.

References: NIST DLMF, section 5.11(ii) (the error bounds of Stirling's series).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Count", "ceil_log2", "ln_factorial_estimate", "log2_enclosure"]

_HALF_LN_2PI = 0.5 * math.log(2 * math.pi)
_REL = 2.0**-44  # rounding allowance per term, relative to its magnitude
_ABS = 2.0**-40  # and an absolute floor for the whole sum
EXACT_BELOW = 256  # a count whose factorial arguments sum to less is formed exactly


class Count:
    """W = prod(base^exp) * prod(num!) / prod(den!), an integer by construction.

    ``num`` and ``den`` are arrays of non-negative integers; ``powers`` pairs (base, exp)
    with base >= 1 and exp >= 0. :meth:`exact` forms W with Python integers.
    """

    __slots__ = ("num", "den", "powers")

    def __init__(self, num: Sequence[int] | np.ndarray = (),
                 den: Sequence[int] | np.ndarray = (),
                 powers: Sequence[tuple[int, int]] = ()) -> None:
        self.num = np.asarray(num, dtype=np.int64).ravel()
        self.den = np.asarray(den, dtype=np.int64).ravel()
        self.powers = [(int(b), int(e)) for b, e in powers]

    def times(self, other: Count) -> Count:
        """The product of two counts."""
        return Count(np.concatenate([self.num, other.num]),
                     np.concatenate([self.den, other.den]), self.powers + other.powers)

    def exact(self) -> int:
        """W as a Python integer. Factorials are paired largest with largest, so that
        a!/b! is the product of a - b factors (a binomial costs its smaller side); slow
        only when W itself has millions of bits.

        >>> Count([6, 65536], [2, 4, 65535]).exact()  # C(6, 2) * 65536
        983040
        """
        top, bottom = 1, 1
        nums = sorted((int(m) for m in self.num), reverse=True)
        dens = sorted((int(m) for m in self.den), reverse=True)
        for i in range(max(len(nums), len(dens))):
            a = nums[i] if i < len(nums) else 0
            b = dens[i] if i < len(dens) else 0
            if a >= b:
                top *= math.perm(a, a - b)  # a! / b!
            else:
                bottom *= math.perm(b, b - a)
        top *= math.prod(b**e for b, e in self.powers)
        w, rest = divmod(top, bottom)
        if rest or w < 1:
            raise ArithmeticError(f"not a positive integer count: {top}/{bottom}")
        return w


_TABLE_SIZE = 4096


@functools.lru_cache(maxsize=1)
def _ln_factorial_table() -> np.ndarray:
    """ln m! for m < 4096, each from the exact integer m!."""
    out = np.zeros(_TABLE_SIZE)
    f = 1
    for m in range(2, _TABLE_SIZE):
        f *= m
        out[m] = math.log(f)
    return out


def _ln_factorial_bounds(m: np.ndarray) -> tuple[float, float, float]:
    """(sum lo, sum hi, sum of magnitudes) of ln m! over the array (module docstring)."""
    small = m[m < _TABLE_SIZE]
    table = _ln_factorial_table()[small]
    big = m[m >= _TABLE_SIZE].astype(np.float64)
    base = _HALF_LN_2PI + (big + 0.5) * np.log(big) - big + 1.0 / (12.0 * big)
    exact_part = math.fsum(table)
    magnitude = exact_part + math.fsum(_HALF_LN_2PI + (big + 0.5) * np.log(big) + big)
    hi = exact_part + math.fsum(base)
    lo = exact_part + math.fsum(base - 1.0 / (360.0 * big**3))
    return lo, hi, magnitude


def ln_factorial_estimate(m: np.ndarray) -> np.ndarray:
    """ln m! elementwise, within 1e-5 (m >= 2; exact for m <= 1): Stirling's series to
    m^-5. For the encoder's choices only, never for a length.

    >>> [round(float(x), 6) for x in ln_factorial_estimate(np.array([0, 1, 5]))]
    [0.0, 0.0, 4.787492]
    """
    m = np.asarray(m, dtype=np.float64)
    safe = np.maximum(m, 1.0)
    out = _HALF_LN_2PI + (safe + 0.5) * np.log(safe) - safe + 1.0 / (12.0 * safe)
    out += -1.0 / (360.0 * safe**3) + 1.0 / (1260.0 * safe**5)
    return np.where(m >= 2, out, 0.0)


def log2_enclosure(count: Count) -> tuple[float, float]:
    """(lo, hi) with lo <= log2 W <= hi, from floats (module docstring).

    >>> lo, hi = log2_enclosure(Count([5000], [2500, 2500]))
    >>> lo <= math.log2(math.comb(5000, 2500)) <= hi and hi - lo < 1e-6
    True
    """
    n_lo, n_hi, n_mag = _ln_factorial_bounds(count.num)
    d_lo, d_hi, d_mag = _ln_factorial_bounds(count.den)
    p_terms = [e * math.log(b) for b, e in count.powers if b > 1 and e > 0]
    p_sum = math.fsum(p_terms)
    slack = _REL * (n_mag + d_mag + p_sum) + _ABS
    lo = (n_lo - d_hi + p_sum - slack) / math.log(2)
    hi = (n_hi - d_lo + p_sum + slack) / math.log(2)
    return lo - _REL * abs(lo) - _ABS, hi + _REL * abs(hi) + _ABS


def ceil_log2(count: Count, *, exact_below: int = EXACT_BELOW) -> int:
    """ceil(log2 W), exact: a float enclosure of ln W decides it, else W is formed.

    >>> ceil_log2(Count([5], [2, 3]))  # C(5, 2) = 10
    4
    >>> ceil_log2(Count([1000], [500, 500]), exact_below=0)  # the enclosure decides
    995
    >>> ceil_log2(Count(powers=[(2, 10)]), exact_below=0)  # exactly 2^10: formed exactly
    10
    """
    size = int(count.num.sum() + count.den.sum()) + sum(e for _, e in count.powers)
    if size >= exact_below:
        lo, hi = log2_enclosure(count)
        if math.ceil(lo) == math.ceil(hi):
            return max(0, math.ceil(hi))
    return (count.exact() - 1).bit_length()
