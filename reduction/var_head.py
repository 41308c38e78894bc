"""The released VAR head: q and k L2-normalised per head, logit scale clamped at 100.

Purpose: Lemma VAR-HEAD (docs/theorem.md#var-head): the reduction is realisable in the
attention of the released VAR models, whose every logit lies in [-100, 100].

What the released code does (FoundationVision/VAR, ``models/basic_var.py``, class
``SelfAttention``, built with ``attn_l2_norm=True`` by ``build_vae_var`` in
``models/__init__.py``): in ``__init__`` the per-head parameter ``scale_mul_1H11`` holds
the *log* of the scale (initialised at log 4), ``max_scale_mul`` = log 100 and the
softmax scale ``self.scale`` = 1; in ``forward`` the scale is
exp(clamp_max(scale_mul_1H11, log 100)), q becomes F.normalize(q, dim=-1) times that scale
and k becomes F.normalize(k, dim=-1), both *before* k is appended to the KV cache; the
attention is then softmax(q k^T * 1) v. ``F.normalize`` divides by max(||x||, 1e-12), so
a zero key stays zero. Every logit is therefore s <q_hat, k_hat> with |.| <= s <= 100 (up
to rounding: in float64 exp(log 100) is 100 + 4e-14).

This module mirrors those steps (our code, written from that description):
:func:`l2_normalise`, :func:`clamped_scale`, :func:`var_head_inputs`, and
:func:`var_head_attention`, which also returns the largest |logit| it computed. In the
reduction Alice's raw keys are her sign vectors sigma_i (zero rows for the unused tokens,
docs/theorem.md#unused), Bob's raw query for token i is sigma_i with log-scale ln C, so his
logits are C <k_i, k_j> with k_i = sigma_i / sqrt(d): the construction of the theorem,
inside a released head whenever C <= 100.

References: arXiv 2404.02905 (VAR); FoundationVision/VAR ``models/basic_var.py``.
"""

from __future__ import annotations

import math

import numpy as np

from lowerbound.models import VAR_LOGIT_CAP
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.attention import attend, record_logits

__all__ = [
    "VAR_MAX_SCALE",
    "NORMALISE_EPS",
    "l2_normalise",
    "clamped_scale",
    "var_head_inputs",
    "var_head_attention",
    "max_abs_logit",
]

#: The released heads clamp the log of their scale at log 100.
VAR_MAX_SCALE = float(VAR_LOGIT_CAP)
#: F.normalize's default eps: rows are divided by max(||x||, eps).
NORMALISE_EPS = 1e-12


def l2_normalise(x: np.ndarray, eps: float = NORMALISE_EPS) -> np.ndarray:
    """Each row divided by max(||row||_2, eps) (F.normalize(x, dim=-1)); zero rows stay zero.

    >>> l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    a = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norms, eps)


def clamped_scale(log_scale: float) -> float:
    """exp(min(log_scale, log 100)): the released head's logit scale s (<= 100 + rounding).

    >>> clamped_scale(math.log(4.0)) == math.exp(math.log(4.0)), clamped_scale(9.0) < 100.01
    (True, True)
    """
    if math.isnan(log_scale):
        raise InvalidArgument("log_scale is NaN; give a finite log of the logit scale")
    return math.exp(min(float(log_scale), math.log(VAR_MAX_SCALE)))


def var_head_inputs(
    q_raw: np.ndarray, k_raw: np.ndarray, log_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """(s * normalise(q_raw), normalise(k_raw)): what the head hands its cache and softmax.

    >>> q, k = var_head_inputs(np.array([[2.0, 0.0]]), np.array([[0.0, 5.0]]), math.log(10))
    >>> q.round(12).tolist(), k.tolist()
    ([[10.0, 0.0]], [[0.0, 1.0]])
    """
    return clamped_scale(log_scale) * l2_normalise(q_raw), l2_normalise(k_raw)


def var_head_attention(
    q_raw: np.ndarray, k_raw: np.ndarray, v: np.ndarray, log_scale: float
) -> tuple[np.ndarray, float]:
    """softmax(s q_hat k_hat^T) v with softmax scale 1, and the largest |logit| computed.

    Every query attends to every key (one block; the caller applies block-causality).

    >>> z, top = var_head_attention(np.array([[1.0, 0.0]]), np.eye(2), np.eye(2), 0.0)
    >>> top, bool(abs(z[0, 0] - 1 / (1 + math.exp(-1.0))) < 1e-15)
    (1.0, True)
    """
    q, k = var_head_inputs(q_raw, k_raw, log_scale)
    with record_logits() as record:
        z = attend(q, k, v)
    return z, record.max_abs


def max_abs_logit(queries: np.ndarray, keys: np.ndarray, chunk: int = 1024) -> float:
    """max |<q_a, k_b>| over every query row and key row, computed in row chunks.

    >>> max_abs_logit(np.array([[2.0, 0.0]]), np.array([[-1.0, 0.0], [0.0, 0.0]]))
    2.0
    """
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    step = check_int_at_least(chunk, "chunk", 1)
    best = 0.0
    for start in range(0, q.shape[0], step):
        if k.shape[0]:
            best = max(best, float(np.abs(q[start : start + step] @ k.T).max()))
    return best
