"""Bob's decoding: threshold every output coordinate at tau.

Purpose: Lemma L3 (docs/theorem.md#l3): x_hat_{i,l} = [Z_hat_{i,l} > tau].
"""

from __future__ import annotations

import numpy as np

__all__ = ["decode_bits", "decoding_margin"]


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
