"""Bob's decoding: threshold every output coordinate at tau.

Purpose: Lemma L3 (docs/theorem.md#l3): x_hat_{i,l} = [Z_hat_{i,l} > tau].
"""

from __future__ import annotations

import numpy as np

from lowerbound.validation import InvalidArgument

__all__ = ["decode_bits", "decoding_margin", "decode_symbols", "symbol_margin"]


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
    z = np.nan_to_num(np.asarray(outputs, dtype=np.float64), nan=-np.inf)
    return np.searchsorted(t, z, side="left").astype(np.uint16)


def symbol_margin(outputs: np.ndarray, symbols: np.ndarray,
                  thresholds: tuple[float, ...]) -> float:
    """min over coordinates of the signed distance to the nearest threshold of the true
    symbol's interval (t_m < Z <= t_{m+1}); positive iff every symbol decodes correctly
    (up to ties at a threshold). With (tau,) it equals :func:`decoding_margin`.

    >>> symbol_margin(np.array([[0.3]]), np.array([[1]]), (0.25, 0.5, 0.75))
    0.04999999999999999
    """
    t = np.concatenate([[-np.inf], np.asarray(thresholds, dtype=np.float64), [np.inf]])
    z = np.asarray(outputs, dtype=np.float64)
    m = np.asarray(symbols, dtype=np.int64)
    if z.size == 0:
        return float("inf")
    below, above = z - t[m], t[m + 1] - z
    return float(np.minimum(below, above).min())
