"""Private helper: the binomial tail and its inverse in p, for Clopper-Pearson bounds.

For integers 0 <= k < n, P(Bin(n, p) <= k) = 1 - I_p(k + 1, n - k), with I the
regularised incomplete beta function, so the Clopper-Pearson ends are inverses of I
(docs/theorem.md#fano). I is evaluated by its continued fraction (Lentz's method; DLMF
8.17.22), in log space for the prefactor p^a (1-p)^b / (a B(a, b)), and inverted by
bisection on p, which is monotone: 100 halvings reach the float64 resolution of [0, 1].
Only the standard library is used, so the leak check does not load scipy at start-up.

References: NIST DLMF 8.17 (incomplete beta function, continued fraction 8.17.22);
W. H. Press et al., *Numerical Recipes*, 3rd ed., section 6.4 (the same algorithm).
"""

from __future__ import annotations

import math

__all__ = ["beta_regularized", "beta_regularized_inverse"]

_TINY = 1e-300
_EPS = 1e-16


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (converges fast for x < (a + 1)/(a + b + 2))."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete beta fraction did not converge (a={a}, b={b}, x={x})")


def beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and x in [0, 1].

    >>> beta_regularized(1, 1, 0.25)  # the uniform distribution
    0.25
    >>> round(beta_regularized(2, 3, 0.5), 12)  # P(Bin(4, 1/2) >= 2) = 11/16
    0.6875
    """
    if not (a > 0 and b > 0 and 0.0 <= x <= 1.0):
        raise ValueError(f"need a, b > 0 and 0 <= x <= 1, got a={a}, b={b}, x={x}")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def beta_regularized_inverse(a: float, b: float, level: float) -> float:
    """The x in [0, 1] with I_x(a, b) = ``level`` (bisection; a, b > 0, level in (0, 1)).

    >>> round(beta_regularized_inverse(1, 1000, 0.95), 10)  # 1 - 0.05^(1/1000)
    0.0029912495
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} must lie in (0, 1)")
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if beta_regularized(a, b, mid) < level:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
