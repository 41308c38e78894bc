"""Bob's decoding: threshold every output coordinate at tau.

Purpose: Lemma L3 (docs/theorem.md#l3): x_hat_{i,l} = [Z_hat_{i,l} > tau].
"""

from __future__ import annotations

import numpy as np

from lowerbound.validation import InvalidArgument

__all__ = ["decode_bits", "decoding_margin", "decode_symbols", "symbol_margin"]

_CHUNK = 1 << 18  # outputs per block of the decoders (bounded temporaries)


def decode_bits(outputs: np.ndarray, tau: float) -> np.ndarray:
    """x_hat = [Z_hat > tau] as uint8 (Lemma L3 (docs/theorem.md#l3)).

    >>> decode_bits(np.array([[0.9, 0.1]]), 0.5).tolist()
    [[1, 0]]
    """
    z = np.asarray(outputs, dtype=np.float64)
    return (z > tau).astype(np.uint8)


def decoding_margin(outputs: np.ndarray, bits: np.ndarray, tau: float) -> float:
    """min over coordinates of the signed distance to tau on the correct side.

    Positive iff every bit decodes correctly; Lemma L3 predicts at least
    min(1/(1+gamma) - tau, tau - gamma/(1+gamma)) for the exact cache.
    """
    z = np.asarray(outputs, dtype=np.float64)
    signed = np.where(np.asarray(bits) == 1, z - tau, tau - z)
    return float(signed.min()) if signed.size else float("inf")


def decode_symbols(outputs: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """m_hat = the number of thresholds strictly below Z_hat (Lemma PREC,
    docs/theorem.md#prec); with the one threshold (tau,) this is :func:`decode_bits`.

    NaN outputs decode as 0.

    >>> decode_symbols(np.array([[0.1, 0.3, 0.9]]), (0.25, 0.5, 0.75)).tolist()
    [[0, 1, 3]]
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or (np.diff(t) <= 0).any():
        raise InvalidArgument("thresholds must be a non-empty increasing sequence")
    z = np.asarray(outputs, dtype=np.float64)
    out = np.empty(z.shape, dtype=np.uint16)
    flat, flat_out = z.reshape(-1), out.reshape(-1)
    for a in range(0, flat.size, _CHUNK):  # temporaries of one chunk, not of all outputs
        block = np.nan_to_num(flat[a : a + _CHUNK], nan=-np.inf)
        flat_out[a : a + _CHUNK] = np.searchsorted(t, block, side="left")
    return out


def symbol_margin(outputs: np.ndarray, symbols: np.ndarray,
                  thresholds: tuple[float, ...]) -> float:
    """min over coordinates of the signed distance to the nearest threshold of the true
    symbol's interval (t_m < Z <= t_{m+1}); positive iff every symbol decodes correctly
    (up to ties at a threshold). With (tau,) it equals :func:`decoding_margin`.

    >>> symbol_margin(np.array([[0.3]]), np.array([[1]]), (0.25, 0.5, 0.75))
    0.04999999999999999
    """
    t = np.concatenate([[-np.inf], np.asarray(thresholds, dtype=np.float64), [np.inf]])
    z = np.asarray(outputs, dtype=np.float64).reshape(-1)
    m = np.asarray(symbols).reshape(-1)
    if z.size == 0:
        return float("inf")
    least = np.inf
    for a in range(0, z.size, _CHUNK):  # temporaries of one chunk, not of all outputs
        zb, mb = z[a : a + _CHUNK], m[a : a + _CHUNK].astype(np.int64)
        least = min(least, float(np.minimum(zb - t[mb], t[mb + 1] - zb).min()))
    return least
