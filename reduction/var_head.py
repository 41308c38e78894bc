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
a zero key stays zero. Every logit is therefore s <q_hat, k_hat> with |.| <= s <= s_max.

Floating point, as the released code runs (commit 78b9539, ``models/basic_var.py``
L69-L70, L102-L105): ``max_scale_mul = torch.log(torch.tensor(100)).item()`` is ln 100
rounded to float32 (4.60517025), the parameter is float32, and the clamp and exp run in
float32, so the largest scale a head applies is exp(fl32(ln 100)) = 100.0000064 rounded to
float32, s_max = 100.0000076 (:data:`VAR_SCALE_CAP_FLOAT32`), not 100. A head realises only
scales fl32(exp(theta)) with theta a float32: :func:`clamped_scale` computes exactly that
(the correctly rounded float32 exp of the float32 parameter), and
:func:`realisable_scale` the least such scale >= a target C (a run at C = 29.0053799 sets
theta = fl32(ln C) + one float32 step; fl32(ln C) itself would give exp(theta) = 29.0053771,
rounded 29.0053768 < C). ``F.normalize`` in pure float16 turns a zero key into NaN (its
eps 1e-12 rounds to 0 in float16, and 0/0 is NaN), which makes every output of the head
NaN; under float16 autocast the norm is a float32 op, so a zero key stays zero (as in
bfloat16, whose range holds 1e-12): :func:`normalise_as`.

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
    "realisable_scale",
    "normalise_as",
    "VAR_SCALE_CAP_FLOAT32",
    "VAR_LOG_CAP_FLOAT32",
    "var_head_inputs",
    "var_head_attention",
    "max_abs_logit",
]

#: The released heads clamp the log of their scale at log 100.
VAR_MAX_SCALE = float(VAR_LOGIT_CAP)
#: F.normalize's default eps: rows are divided by max(||x||, eps).
NORMALISE_EPS = 1e-12


def _exp32(theta: np.float32) -> float:
    """fl32(exp(theta)): the float32 nearest to the exact exp of a float32 argument."""
    return float(np.float32(np.exp(np.float64(theta))))


#: ``max_scale_mul``: ln 100 as float32 (torch.log of an integer tensor is float32).
VAR_LOG_CAP_FLOAT32 = np.float32(math.log(100.0))
#: The largest scale a released head applies: exp(fl32(ln 100)) rounded to float32.
VAR_SCALE_CAP_FLOAT32 = _exp32(VAR_LOG_CAP_FLOAT32)


def l2_normalise(x: np.ndarray, eps: float = NORMALISE_EPS) -> np.ndarray:
    """Each row divided by max(||row||_2, eps) (F.normalize(x, dim=-1)); zero rows stay zero.

    >>> l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    a = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norms, eps)


def clamped_scale(log_scale: float) -> float:
    """fl32(exp(min(fl32(log_scale), fl32(ln 100)))): the scale s a released head applies
    for the parameter value ``log_scale`` (module docstring); at most 100.0000076.

    >>> clamped_scale(9.0) == VAR_SCALE_CAP_FLOAT32, round(VAR_SCALE_CAP_FLOAT32, 7)
    (True, 100.0000076)
    >>> round(clamped_scale(math.log(29.0053799)), 7)
    29.0053768
    """
    if math.isnan(log_scale):
        raise InvalidArgument("log_scale is NaN; give a finite log of the logit scale")
    theta = np.float32(log_scale)
    return _exp32(min(theta, VAR_LOG_CAP_FLOAT32))


def realisable_scale(c: float) -> float:
    """The least scale >= c a released head applies: fl32(exp(theta)) for the least float32
    theta that reaches c (c must lie in (0, s_max]).

    >>> s = realisable_scale(29.0053799); s >= 29.0053799, round(s, 6)
    (True, 29.005384)
    >>> realisable_scale(100.0) == VAR_SCALE_CAP_FLOAT32
    True
    """
    if not (0 < c <= VAR_SCALE_CAP_FLOAT32):
        raise InvalidArgument(f"scale {c!r} is not one a released head applies; give a scale in "
                              f"(0, {VAR_SCALE_CAP_FLOAT32!r}]")
    theta = np.float32(math.log(c))
    while _exp32(theta) < c:
        theta = np.nextafter(theta, np.float32(np.inf))
    return clamped_scale(float(theta))


def normalise_as(x: np.ndarray, mode: str) -> np.ndarray:
    """F.normalize(x, dim=-1) as a head computes it in ``mode``: "float16" (pure half:
    norm, eps clamp and division in float16), "autocast" (float16 input, norm and division
    in float32, as under torch.autocast), "bfloat16" (eps representable: zero rows stay
    zero) or "float32". Returns float64 (NaN where the head would produce NaN).

    >>> z = np.zeros((1, 4))
    >>> [bool(np.isnan(normalise_as(z, m)).any()) for m in ("float16", "autocast", "bfloat16")]
    [True, False, False]
    """
    a = np.asarray(x, dtype=np.float64)
    if mode == "float16":
        h = a.astype(np.float16)
        norm = np.sqrt((h * h).sum(axis=-1, keepdims=True, dtype=np.float16))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = h / np.maximum(norm, np.float16(NORMALISE_EPS))
        return out.astype(np.float64)
    if mode == "autocast":
        a = a.astype(np.float16).astype(np.float32)
    elif mode == "bfloat16":
        a = _bfloat16(a)
    elif mode != "float32":
        raise InvalidArgument(f"mode={mode!r}; choose float16, autocast, bfloat16 or float32")
    f = a.astype(np.float32)
    eps = np.float32(NORMALISE_EPS) if mode != "bfloat16" else np.float32(_bfloat16(
        np.array(NORMALISE_EPS))[()])
    norm = np.sqrt((f * f).sum(axis=-1, keepdims=True))
    return (f / np.maximum(norm, eps)).astype(np.float64)


def _bfloat16(a: np.ndarray) -> np.ndarray:
    """Round to bfloat16 (float32 with the low 16 bits cleared, round to nearest even)."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


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
