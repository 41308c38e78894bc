"""Uniform b-bit quantisers shared by the quantising caches (private helper).

Purpose: the arithmetic of the uniform and KIVI caches, one function per scheme, each
quantising the rows of a (groups x members) array group by group, with fp16 parameters.

Main statements (x in one group, b bits, Q = 2^b - 1):

* asymmetric min-max (KIVI, arXiv 2402.02750, its eq. for Q(X)): scale = (max - min)/Q,
  code = clamp(round((x - min)/scale), 0, Q), x_hat = min + code*scale; with min and scale
  rounded to fp16 first, |x_hat - x| <= scale/2 + 2^-11 (|min| + Q*scale) (fp16 rounding).
  A group holding only two distinct values (min and max) is reproduced for every b >= 1
  up to the fp16 rounding of min and scale (relative 2^-11; bit-exact at b = 1 when
  max - min is an fp16 number): the hard instance's keys (+-1/sqrt(d)) and values (0/1)
  are such groups.
* symmetric absmax, mid-rise (the textbook uniform quantiser with 2^b levels and no zero
  level, Gersho & Gray 1992, ch. 5): Delta = 2*absmax/2^b,
  code = clamp(floor(x/Delta) + 2^(b-1), 0, Q), x_hat = (code - 2^(b-1) + 1/2)*Delta;
  |x_hat - x| <= Delta/2 (+ fp16 rounding). At b = 1 it is sign binarisation
  x_hat = sign(x)*absmax/2 with sign(0) = +1 (BinaryConnect-style), which maps the 0/1
  values of the hard instance to 1/2 and 1/2: all value information is lost.

References: Liu et al., "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache",
arXiv 2402.02750 (ICML 2024); Gersho & Gray, "Vector Quantization and Signal Compression"
(1992); Courbariaux et al., "BinaryConnect", NeurIPS 2015.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCHEMES", "check_bits", "quantize", "dequantize", "params_per_group"]

SCHEMES = ("minmax", "absmax")


def check_bits(bits: object, name: str = "bits") -> int:
    """``bits`` as an int in 1..8, else ValueError naming it.

    >>> check_bits(4)
    4
    """
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 8:
        raise ValueError(f"{name}={bits!r} must be an integer bit width in 1..8")
    return int(bits)


def params_per_group(scheme: str) -> int:
    """fp16 parameters stored per group: (min, scale) or (absmax,)."""
    return 2 if scheme == "minmax" else 1


def _fp16(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = np.asarray(a, dtype=np.float64).astype(np.float16)
    if not np.isfinite(h).all():
        raise ValueError("a quantisation parameter exceeds the float16 range (|x| > 65504)")
    return h


def quantize(x: np.ndarray, bits: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes (uint8, same shape) and fp16 parameters (groups x p) of each row of ``x``.

    >>> codes, params = quantize(np.array([[-0.5, 0.5, 0.5]]), 1, "minmax")
    >>> codes.tolist(), dequantize(codes, params, 1, "minmax").tolist()
    ([[0, 1, 1]], [[-0.5, 0.5, 0.5]])
    >>> codes, params = quantize(np.array([[0.0, 1.0]]), 1, "absmax")
    >>> dequantize(codes, params, 1, "absmax").tolist()
    [[0.5, 0.5]]
    """
    x = np.asarray(x, dtype=np.float64)
    top = (1 << bits) - 1
    if not np.isfinite(x).all():
        raise ValueError("cannot quantise non-finite keys or values")
    if scheme == "minmax":
        lo = _fp16(x.min(axis=1))
        scale = _fp16((x.max(axis=1) - lo.astype(np.float64)) / top)
        s = scale.astype(np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(s > 0, np.rint((x - lo.astype(np.float64)[:, None]) / s), 0.0)
        params = np.stack([lo, scale], axis=1)
    elif scheme == "absmax":
        amax = _fp16(np.abs(x).max(axis=1))
        delta = 2.0 * amax.astype(np.float64)[:, None] / (1 << bits)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(delta > 0, np.floor(x / delta), 0.0) + (1 << (bits - 1))
        params = amax[:, None]
    else:
        raise ValueError(f"scheme={scheme!r}; choose one of {', '.join(SCHEMES)}")
    return np.clip(raw, 0, top).astype(np.uint8), params


def dequantize(codes: np.ndarray, params: np.ndarray, bits: int, scheme: str) -> np.ndarray:
    """The reconstruction x_hat of :func:`quantize` (float64)."""
    c = np.asarray(codes, dtype=np.float64)
    p = np.asarray(params, dtype=np.float64)
    if scheme == "minmax":
        return p[:, :1] + c * p[:, 1:2]
    delta = 2.0 * p[:, :1] / (1 << bits)
    return (c - (1 << (bits - 1)) + 0.5) * delta
