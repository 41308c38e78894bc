"""Attention in float32 with a rigorous rounding bound, for decisions against a threshold.

Purpose: Bob's reads (docs/theorem.md#reduction) at the machine's float32 GEMM rate. Bob
only thresholds outputs at tau (Lemma L3, docs/theorem.md#l3): a coordinate decodes as
exact arithmetic would whenever |Z_hat - tau| exceeds the error of Z_hat. So every row is
computed in float32 together with a bound b_i on its rounding error, and a row with some
coordinate within b_i of tau is recomputed in float64 (:func:`reduction.attention.attend`).

How much error L3's margin tolerates. With an exact cache the outputs of a 1-bit lie at
>= 1/(1+gamma) and those of a 0-bit at <= gamma/(1+gamma); tau sits between, at distance
min(1/(1+gamma) - tau, tau - gamma/(1+gamma)) = (1 - eta)(1 - gamma) / (2(1 + gamma)) from
both ranges (relative eta). At the simulation's C (gamma <= (1-eta)/(2(1+eta))) and
eta = 1/4 that is >= 0.20: any error below it changes no bit. The bound below is ~1e-3 at
C = 30, d = 128 (it grows like (d + 2) * 2^-24 * C): the check passes with two orders of
magnitude to spare, and fails only when eta is within ~1e-3 of 1 (or C is in the 10^4s).
With 2^b value levels (Lemma PREC, docs/theorem.md#prec) the 2^b - 1 thresholds sit
closer together; the same runtime check is made against each of them.

Kernel. Per query row the shift m = fl32(||q||_2 * max_j ||k_j||_2) bounds every score
(Cauchy-Schwarz), so exp(s - m) <= 1 and no running maximum or rescaling is needed. The
shift is folded into the first GEMM ([q, -m] . [k, 1] = s - m) and the normaliser into the
second ([v, 1] gives sum p v and sum p): per key chunk, one GEMM, one in-place exp, one
GEMM. The zero tokens (zero key, zero value) add T * e^{-m} to the normaliser, in float64.

Logit record (docs/theorem.md#cap, #var-head). Under an active
:func:`reduction.attention.record_logits` the kernel also keeps, per row, the keys of its
largest and smallest float32 score, and reports the float64 logits <q_i, k_j> at those
keys (every other row's logit, zero tokens included, is counted): the record is a logit
actually formed, at float64 precision, and differs from the row's true extreme by at most
twice the shifted-score bound E of step 1 below (two float32 near-ties may swap). Rows
recomputed in float64 are recorded by :func:`reduction.attention.attend` instead.

Error bound (u = 2^-24; gamma_n = n u / (1 - n u); Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., section 3.1: fl(x.y) = sum x_j y_j (1 + t_j), |t_j| <=
gamma_n, for ANY order of summation, with or without FMA). Row i, R = ||q|| * max||k||:

1. shifted score: |x_hat_j - (q.k_j - m)| <= E = (u + u_K + u u_K) R
   + gamma_{d+1} ((1 + u)(1 + u_K) R + |m|), with u_K = 0 when the keys are exact in
   float32 (float16 or float32 storage) and u otherwise;
2. p_hat_j = fl(exp(x_hat_j)) = e^{x_j} e^{delta_j} (1 + theta_j) + alpha_j, |delta_j| <= E,
   |theta_j| <= rho = EXP32_REL_ERROR (numpy's float32 exp;
   tests/reduction/test_attention_kernels.py
   measures it), |alpha_j| <= 2^-126 (a result below the normal range);
3. the second GEMM over key chunks of <= kc keys, accumulated over nc chunks: one factor
   (1 + t), |t| <= gamma_{kc + nc}, per term; value rounding (1 + u_V) likewise; a product
   below the normal range adds <= 2^-149 per term;
so numerator and normaliser terms carry a factor in [1 - A, 1 + A] with
A = e^E (1 + rho)(1 + gamma_{kc + nc})(1 + u_V) - 1, plus B = n 2^-124 (times max|v|).
With D_hat the computed normaliser (>= ~1: the top score's term is e^{~0}) and a = A + 6
u_64 (the float64 zero-token term and division):

    |Z_hat_il - Z_il| <= max|v| * (2 a / (1 - a) * (1 + B / D_hat) + 2 B / D_hat) + 2 u_64 max|v|.

References: Higham (2002), section 3.1; Milakov & Gimelshein (2018) (online softmax).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.attention import LogitRecord, active_record, attend
from reduction.isolation.threads import blas_threads, check_workers

__all__ = ["Float32KV", "Float32Attention", "attend_float32", "EXP32_REL_ERROR"]

U32 = 2.0**-24
U64 = 2.0**-53
EXP32_REL_ERROR = 8 * U32  # numpy's float32 exp: measured <= 3.4 u here (2.4x headroom)
QUERY_CHUNK = 512
KEY_CHUNK = 1024


def _gamma(n: int) -> float:
    if n * U32 >= 0.5:
        raise InvalidArgument(f"a float32 sum of {n} terms has no useful error bound; use float64")
    return n * U32 / (1 - n * U32)


@dataclass(frozen=True, eq=False)
class Float32KV:
    """Keys and values prepared once for many queries: [K, 1] and [V, 1] in float32.

    ``keys`` and ``values`` keep the originals (for rows recomputed in float64).
    """

    keys: np.ndarray
    values: np.ndarray
    keys1: np.ndarray
    values1: np.ndarray
    key_norm: float
    value_max: float
    key_rounding: float
    value_rounding: float

    @classmethod
    def from_arrays(cls, keys: np.ndarray, values: np.ndarray) -> Float32KV:
        k, v = np.asarray(keys), np.asarray(values)
        if k.ndim != 2 or v.ndim != 2 or k.shape[0] != v.shape[0]:
            raise InvalidArgument(
                f"keys {k.shape} and values {v.shape} must be (n, d) and (n, d_v)")
        keys1 = np.ones((k.shape[0], k.shape[1] + 1), dtype=np.float32)
        keys1[:, :-1] = k
        values1 = np.ones((v.shape[0], v.shape[1] + 1), dtype=np.float32)
        values1[:, :-1] = v
        k64 = k.astype(np.float64)
        norm = float(np.sqrt(np.max(np.einsum("ij,ij->i", k64, k64)))) if k.shape[0] else 0.0
        return cls(
            keys=k, values=v, keys1=keys1, values1=values1,
            key_norm=norm * (1 + 2.0**-40),  # float64 norm error is far below 2^-40
            value_max=float(np.max(np.abs(v))) if v.size else 0.0,
            key_rounding=0.0 if np.array_equal(keys1[:, :-1], k) else U32,
            value_rounding=0.0 if np.array_equal(values1[:, :-1], v) else U32,
        )

    @property
    def n_tokens(self) -> int:
        return int(self.keys1.shape[0])


@dataclass(frozen=True, eq=False)
class Float32Attention:
    """Outputs (float64), the rounding bound of each row, and the rows redone in float64."""

    outputs: np.ndarray
    bound: np.ndarray
    recomputed: np.ndarray


def row_bounds(q_norm: np.ndarray, shift: np.ndarray, normaliser: np.ndarray, kv: Float32KV,
               key_chunk: int) -> np.ndarray:
    """The bound b_i of the module docstring for each row (float64)."""
    d = kv.keys1.shape[1] - 1
    n = kv.n_tokens
    kc = min(key_chunk, max(n, 1))
    nc = max(1, math.ceil(n / kc))
    u, uk, uv = U32, kv.key_rounding, kv.value_rounding
    g_d, g_sum = _gamma(d + 1), _gamma(kc + nc)
    with np.errstate(all="ignore"):  # huge R or a zero normaliser: an infinite bound
        r = q_norm * kv.key_norm
        e = (u + uk + u * uk) * r + g_d * ((1 + u) * (1 + uk) * r + np.abs(shift))
        a = np.exp(e) * (1 + EXP32_REL_ERROR) * (1 + g_sum) * (1 + uv) - 1 + 6 * U64
        rel_b = np.where(normaliser > 0, n * 2.0**-124 / normaliser, np.inf)
        bound = kv.value_max * (2 * a / (1 - a) * (1 + rel_b) + 2 * rel_b + 2 * U64)
    return np.where((a < 1) & np.isfinite(bound), bound, np.inf)


def attend_float32(
    queries: np.ndarray,
    kv: Float32KV,
    *,
    zero_tokens: int = 0,
    threshold: float | Sequence[float] | None = None,
    workers: int = 1,
    query_chunk: int = QUERY_CHUNK,
    key_chunk: int = KEY_CHUNK,
) -> Float32Attention:
    """softmax(Q [K; 0]^T) [V; 0] in float32 with a per-row error bound (module docstring).

    With ``threshold`` tau (or several thresholds, Lemma PREC's), every row having a
    coordinate within its bound of a threshold is recomputed in float64, so each output
    is on the side of each threshold exact arithmetic puts it (or is the float64 result).
    ``workers`` threads share the fixed query chunks, each chunk on one BLAS thread: the
    result does not depend on ``workers``.

    Notes: Lemma L3 (docs/theorem.md#l3) sets how much error a decision tolerates.

    >>> k = np.eye(2); v = np.array([[1.0], [0.0]])
    >>> r = attend_float32(np.array([[10.0, 0.0]]), Float32KV.from_arrays(k, v), threshold=0.5)
    >>> bool(abs(r.outputs[0, 0] - 1 / (1 + np.exp(-10.0))) <= r.bound[0] < 1e-4)
    True
    """
    t0 = check_int_at_least(zero_tokens, "zero_tokens", 0)
    qc = check_int_at_least(query_chunk, "query_chunk", 1)
    kc = check_int_at_least(key_chunk, "key_chunk", 1)
    w = check_workers(workers)
    q = np.asarray(queries, dtype=np.float64)
    d = kv.keys1.shape[1] - 1
    if q.ndim != 2 or q.shape[1] != d:
        raise InvalidArgument(f"queries have shape {q.shape}; expected (q, d={d})")
    if kv.n_tokens + t0 == 0:
        raise InvalidArgument("attention needs at least one cached key; the cache is empty")
    out = np.zeros((q.shape[0], kv.values1.shape[1] - 1))
    bound = np.zeros(q.shape[0])
    record = active_record()  # fetched here: the pool's threads have no context
    extremes = _Extremes(q.shape[0]) if record is not None and kv.n_tokens else None
    if kv.n_tokens and q.shape[0]:
        q_norm = np.sqrt(np.einsum("ij,ij->i", q, q))
        with np.errstate(over="ignore"):  # a shift beyond float32 gives an infinite bound
            shift = (q_norm * kv.key_norm).astype(np.float32)
        run = _chunk_runner(q, shift, kv, t0, min(kc, kv.n_tokens), out, bound, q_norm,
                            extremes)
        starts = list(range(0, q.shape[0], qc))
        with blas_threads(1):
            if w == 1 or len(starts) == 1:
                for s in starts:
                    run(s, qc)
            else:
                with ThreadPoolExecutor(max_workers=w) as pool:
                    list(pool.map(lambda s: run(s, qc), starts))
    redo = _rows_to_recompute(out, bound, threshold)
    if record is not None:
        _record_rows(record, q, kv, t0, redo, extremes)
    if redo.size:
        out[redo] = attend(q[redo], kv.keys, kv.values, zero_tokens=t0)
        bound[redo] = np.nan  # float64 result: the bound above no longer describes it
    return Float32Attention(out, bound, redo)


def _rows_to_recompute(out: np.ndarray, bound: np.ndarray,
                       threshold: float | Sequence[float] | None) -> np.ndarray:
    bad = ~np.isfinite(bound) | ~np.isfinite(out).all(axis=1)
    for t in () if threshold is None else np.atleast_1d(np.asarray(threshold, float)):
        bad |= (np.abs(out - t) <= bound[:, None]).any(axis=1)
    return np.flatnonzero(bad)


class _Extremes:
    """Per row: the key index of the largest and of the smallest float32 score so far."""

    def __init__(self, rows: int) -> None:
        self.hi = np.full(rows, -np.inf, dtype=np.float32)
        self.lo = np.full(rows, np.inf, dtype=np.float32)
        self.hi_key = np.zeros(rows, dtype=np.int64)
        self.lo_key = np.zeros(rows, dtype=np.int64)

    def update(self, start: int, scores: np.ndarray, first_key: int) -> None:
        """Take in the score chunk of rows [start, start + len) and keys from first_key."""
        at = np.arange(scores.shape[0])
        rows = slice(start, start + scores.shape[0])
        for pick, best, key, better in ((np.argmax, self.hi, self.hi_key, np.greater),
                                        (np.argmin, self.lo, self.lo_key, np.less)):
            j = pick(scores, axis=1)
            val = scores[at, j]
            won = better(val, best[rows])
            best[rows] = np.where(won, val, best[rows])
            key[rows] = np.where(won, j + first_key, key[rows])


def _record_rows(record: LogitRecord, q: np.ndarray, kv: Float32KV, t0: int,
                 redo: np.ndarray, extremes: _Extremes | None) -> None:
    """Report the float64 logits at each kept row's extreme keys (module docstring)."""
    keep = np.ones(q.shape[0], dtype=bool)
    keep[redo] = False
    rows = np.flatnonzero(keep)
    top = 0.0  # the zero tokens' scores, and every score when there are no keys
    if extremes is not None and rows.size:
        for key in (extremes.hi_key, extremes.lo_key):
            k = np.asarray(kv.keys[key[rows]], dtype=np.float64)
            logits = np.einsum("ij,ij->i", q[rows], k)
            top = max(top, float(np.max(np.abs(logits))))
    record.see_summary(top, rows.size * (kv.n_tokens + t0))


def _chunk_runner(q: np.ndarray, shift: np.ndarray, kv: Float32KV, t0: int, kc: int,
                  out: np.ndarray, bound: np.ndarray, q_norm: np.ndarray,
                  extremes: _Extremes | None) -> Callable[[int, int], None]:
    """A function computing query rows [start, start + qc) into out and bound (and the
    rows' extreme scores into ``extremes``)."""
    local = threading.local()
    n, d = kv.n_tokens, kv.keys1.shape[1] - 1
    dv1 = kv.values1.shape[1]

    def run(start: int, qc: int) -> None:
        stop = min(start + qc, q.shape[0])
        r = stop - start
        if getattr(local, "qc", None) != qc:  # this thread's buffers, allocated once
            local.qc = qc
            local.q1 = np.empty((qc, d + 1), dtype=np.float32)
            local.scores = np.empty((qc, kc), dtype=np.float32)
            local.acc = np.empty((qc, dv1), dtype=np.float32)
            local.part = np.empty((qc, dv1), dtype=np.float32)
        q1, acc, part = local.q1[:r], local.acc[:r], local.part[:r]
        q1[:, :d] = q[start:stop]
        np.negative(shift[start:stop], out=q1[:, d])
        acc.fill(0.0)
        with np.errstate(all="ignore"):  # overflow or 0/0 shows as a non-finite bound
            for ks in range(0, n, kc):
                kb = kv.keys1[ks : ks + kc]
                s = local.scores[:r, : kb.shape[0]]
                np.matmul(q1, kb.T, out=s)  # s - m, shift folded into the GEMM
                if extremes is not None:
                    extremes.update(start, s, ks)
                np.exp(s, out=s)
                np.matmul(s, kv.values1[ks : ks + kc], out=part)  # [sum p v, sum p]
                acc += part
            num = acc[:, :-1].astype(np.float64)
            norm = acc[:, -1].astype(np.float64)
            if t0:
                norm += t0 * np.exp(-shift[start:stop].astype(np.float64))
            out[start:stop] = num / norm[:, None]
        bound[start:stop] = row_bounds(q_norm[start:stop], shift[start:stop].astype(np.float64),
                                       norm, kv, kc)

    return run
