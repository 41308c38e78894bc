"""The float32 bound against an exact enclosure, under the worst rounding the model allows.

reduction.attention32 bounds |Z_hat - Z| for ANY arithmetic within its error model:
every float32 dot product of length n within gamma_n sum |x_j y_j| of the exact one
(Higham, section 3.1), every float32 exp within rho e^x. Here the kernel runs with an
arithmetic that uses that freedom against the output (scores and exponentials of the keys
whose values exceed Z pushed up, the others down, the numerator up and the normaliser
down), and its output is compared with an interval enclosure of the exact softmax
(200-bit mpmath intervals). The bound must hold, and on two tied keys it must be nearly
reached: a bound halved, or one missing its |m| term or its exp term, fails here
(docs/theorem.md#l3, "a float32 decision certificate").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowerbound.intervals import IV
from reduction import attention32
from reduction.attention32 import EXP32_REL_ERROR, Arithmetic, Float32KV, attend_float32


def exact_output(q: np.ndarray, k: np.ndarray, v: np.ndarray, t0: int) -> Any:
    """An interval enclosing softmax(q [K; 0]^T)[V; 0] at column 0 (q one row; the inputs
    read as exact doubles, whose products IV forms exactly)."""
    s = [sum((IV.mpf(float(a)) * IV.mpf(float(b)) for a, b in zip(q, key)), IV.mpf(0))
         for key in k]
    top = max([x.b for x in s] + ([0] if t0 else []))
    w = [IV.exp(x - top) for x in s]
    den = sum(w, IV.exp(-IV.mpf(top)) * t0)
    return sum((wj * IV.mpf(float(v[j, 0])) for j, wj in enumerate(w)), IV.mpf(0)) / den


def _toward(value: np.ndarray, centre: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """float32 of ``value``, stepped towards ``centre`` until within ``radius`` of it."""
    r = value.astype(np.float32)
    for _ in range(4):
        far = np.abs(r.astype(np.float64) - centre) > radius
        if not far.any():
            return r
        r[far] = np.nextafter(r[far], centre[far].astype(np.float32))
    raise AssertionError("could not round inside the model's interval")


def worst_arithmetic(direction: np.ndarray, sign: int) -> Arithmetic:
    """Rounding as bad as the model allows, pushing output column 0 up (``sign`` = +1) or
    down: per key, scores and exponentials moved by ``direction`` times their allowance;
    the numerator column by ``sign``, the normaliser column by ``-sign``."""

    def scores(q1: np.ndarray, k1: np.ndarray, first: int, out: np.ndarray) -> None:
        x, y = q1.astype(np.float64), k1.astype(np.float64)  # products of float32: exact
        exact, size = x @ y.T, np.abs(x) @ np.abs(y).T
        radius = attention32._gamma(x.shape[1]) * size * (1 - 2.0**-20)
        dirs = direction[first : first + y.shape[0]][None, :]
        out[...] = _toward(exact + dirs * radius, exact, radius)

    def exp(s: np.ndarray, first: int) -> None:
        exact = np.exp(s.astype(np.float64))
        radius = EXP32_REL_ERROR * exact * (1 - 2.0**-20)
        dirs = direction[first : first + s.shape[1]][None, :]
        normal = exact >= 2.0**-126  # below: anything within 2^-126, here 0
        r = _toward(np.where(normal, exact + dirs * radius, exact), exact,
                    np.where(normal, radius, np.inf))
        s[...] = np.where(normal, r, 0.0)

    def weigh(p: np.ndarray, v1: np.ndarray, first: int, out: np.ndarray) -> None:
        x, y = p.astype(np.float64), v1.astype(np.float64)
        exact, size = x @ y, np.abs(x) @ np.abs(y)
        radius = attention32._gamma(x.shape[1]) * size * (1 - 2.0**-20)
        push = np.zeros(y.shape[1])
        push[0], push[-1] = sign, -sign
        out[...] = _toward(exact + push[None, :] * radius, exact, radius)

    return Arithmetic(scores, exp, weigh)


def worst_errors(q: np.ndarray, k: np.ndarray, v: np.ndarray, t0: int,
                 key_chunk: int) -> list[tuple[float, float, float]]:
    """(largest error against the enclosure, the bound, least error) for both directions
    of :func:`worst_arithmetic`; rows the kernel itself sent to float64 are skipped."""
    enclosure = exact_output(q[0], k, v, t0)
    lo, hi = float(enclosure.a), float(enclosure.b)
    kv = Float32KV.from_arrays(k, v)
    found = []
    for sign in (1, -1):
        direction = np.where(v[:, 0] > float(enclosure.mid), sign, -sign).astype(np.float64)
        r = attend_float32(q, kv, zero_tokens=t0, key_chunk=key_chunk,
                           arithmetic=worst_arithmetic(direction, sign))
        if r.recomputed.size:  # the bound gave up (e.g. every weight underflowed)
            continue
        z = float(r.outputs[0, 0])
        found.append((max(abs(z - lo), abs(z - hi)), float(r.bound[0]),
                      min(abs(z - lo), abs(z - hi))))
    return found


def tied_pair(c: float, others: int, t0: int, d: int = 64) -> tuple[Any, ...]:
    """Two equal sign keys with values 1 and 0 (Z = 1/2), the query C k, ``others`` keys
    -k far below them (value 0), a random second value column."""
    rng = np.random.default_rng(7)
    sigma = np.where(rng.random(d) < 0.5, -1.0, 1.0)
    k = np.vstack([sigma, sigma, -np.tile(sigma, (others, 1))]) / np.sqrt(d)
    v = np.zeros((2 + others, 2))
    v[0, 0] = 1.0
    v[:, 1] = rng.random(2 + others)
    return c * k[:1].copy(), k, v, t0


@pytest.mark.parametrize(("c", "others", "t0"), [(0.5, 0, 0), (30.0, 5, 3), (300.0, 5, 3)])
def test_the_worst_rounding_nearly_reaches_the_bound(c: float, others: int, t0: int) -> None:
    """C = 0.5: the exp allowance dominates; C = 30, 300: the score bound E (whose |m|
    term is half of it) does. Either way the error is within the bound and above 9/10 of
    it, so a bound halved, without |m|, or without rho is wrong on these inputs."""
    q, k, v, t0 = tied_pair(c, others, t0)
    found = worst_errors(q, k, v, t0, key_chunk=3)
    assert len(found) == 2
    for err, bound, least in found:
        assert err <= bound
        assert least > 0.9 * bound, (least, bound)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 16), st.integers(0, 20),
       st.floats(0.0, 400.0), st.integers(1, 50), st.booleans())
def test_the_worst_rounding_stays_within_the_bound(seed: int, n: int, d: int, t0: int,
                                                   c: float, kc: int, bits: bool) -> None:
    """Random keys, values (0/1 bits or normal), scales and chunkings: never past it."""
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(n, d)) / np.sqrt(d)
    v = (rng.integers(0, 2, size=(n, 1)).astype(float) if bits else rng.normal(size=(n, 1)))
    q = c * rng.normal(size=(1, d)) / np.sqrt(d)
    for err, bound, _ in worst_errors(q, k, v, t0, key_chunk=kc):
        assert err <= bound
