"""Attention in float32 with a rigorous rounding bound, for decisions against a threshold.

Purpose: Bob's reads (docs/theorem.md#reduction) at the machine's float32 GEMM rate. Bob
only thresholds outputs at tau (Lemma L3, docs/theorem.md#l3): a coordinate decodes as
exact arithmetic would whenever |Z_hat - tau| exceeds the error of Z_hat. So every row is
computed in float32 together with a bound b_i on its rounding error, and a row with some
coordinate within b_i of a threshold is recomputed in float64
(:func:`reduction.attention.attend`).

How much error L3's margin tolerates. With an exact cache the outputs of a 1-bit lie at
>= 1/(1+gamma) and those of a 0-bit at <= gamma/(1+gamma); tau sits between, at distance
(1 - eta)(1 - gamma) / (2(1 + gamma)) from both ranges (relative eta): >= 0.20 at the
simulation's C and eta = 1/4. The bound below is ~2e-4 at C = 30, d = 128 (it grows like
(d + 2) 2^-24 C): the check passes with three orders of magnitude to spare. With 2^b value
levels (Lemma PREC, docs/theorem.md#prec) the 2^b - 1 thresholds sit closer together;
the same check is made against each of them.

Kernel. Per query row the shift m = fl32(||q|| * max_j ||k_j||) bounds every score
(Cauchy-Schwarz), so exp(s - m) <= 1 and no running maximum or rescaling is needed. The
shift is folded into the first GEMM ([q, -m] . [k, 1] = s - m) and the normaliser into the
second ([v, 1] gives sum p v and sum p): per key chunk, one GEMM, one in-place exp, one
GEMM. The zero tokens (zero key, zero value) add T * e^{-m} to the normaliser, in float64.
The three float32 steps go through an :class:`Arithmetic` (numpy's by default); the
tests swap in one that rounds as badly as the error model allows, to show the bound is
attained up to a few per cent (tests/reduction/test_attention_bound.py).

Logit record (docs/theorem.md#cap, #var-head). Under an active
:func:`reduction.attention.record_logits` the kernel also keeps, per row, the keys of its
largest and smallest float32 score, and reports the float64 logits <q_i, k_j> at those
keys (every other row's logit, zero tokens included, is counted): the record is a logit
actually formed, at float64 precision, and differs from the row's true extreme by at most
twice the shifted-score bound E of step 1 below (two float32 near-ties may swap). Rows
recomputed in float64 are recorded by :func:`reduction.attention.attend` instead.

Error bound (docs/theorem.md#l3, "a float32 decision certificate"). u = 2^-24,
gamma_n = n u / (1 - n u); fl(x.y) = sum x_j y_j (1 + t_j), |t_j| <= gamma_n, for ANY
order of summation, with or without FMA (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., section 3.1). Row i, R >= ||q|| max ||k_j|| (both norms rounded up):

1. shifted score: |x_hat_j - (q.k_j - m)| <= E = (u + u_K + u u_K) R
   + gamma_{d+1} ((1 + u)(1 + u_K) R + |m|), with u_K = 0 when the keys are exact in
   float32 and u otherwise;
2. p_hat_j = fl(exp(x_hat_j)) = e^{x_j} (1 + psi_j) + a_j with
   1 + psi_j = e^{delta_j}(1 + theta_j), |delta_j| <= E, |theta_j| <= rho
   (:data:`EXP32_REL_ERROR`), |a_j| <= 2^-126 (a result below the normal range); so
   |psi_j| <= alpha = e^E (1 + rho) - 1;
3. weights off by factors (1 + psi_j) move a weighted mean by at most
   alpha/(1 - alpha) * (sum_j w_j |v_j - Z|) <= alpha/(1 - alpha) * S/2, S = the spread
   of the values (the zero tokens' 0 included): the mean absolute deviation of a
   distribution on an interval of length S is at most S/2;
4. the second GEMM over key chunks of <= kc keys, accumulated over nc chunks: one factor
   (1 + t), |t| <= gamma_{kc + nc}, per numerator term and per normaliser term; the value
   rounding (1 + u_V); the float64 zero-token term, sum and division (2^-40 covers them);
   each product below the normal range adds <= 2^-149, each a_j at most 2^-126:
   with g = (1 + u_V)(1 + gamma_{kc+nc}) - 1, h = gamma_{kc+nc} + 2^-40 and
   beta = n 2^-124 / D_hat (D_hat the computed normaliser),

    |Z_hat_il - Z_il| <= alpha/(1 - alpha) S/2
                         + max|v| ((g + h)(1 + 2 beta)/(1 - h) + 3 beta + 2 u_64).

rho is numpy's float32 exp. numpy dispatches it to its own SIMD kernel (AVX2 with FMA3,
or AVX512F), whose source states a largest relative error of 2.1264e-7 (< 2^-22) over
every float32 input (numpy/_core/src/umath/loops_exponent_log.dispatch.c.src,
``simd_exp_FLOAT``), or else to the C library's ``expf``. :data:`EXP32_REL_ERROR` = 2^-16
leaves a factor 64 above the SIMD kernel's figure; it is an assumption about the kernel
in use, not a measurement here, and :func:`exp32_is_trusted` guards it: the first float32
call of a process compares numpy's exp with the float64 exp on 4097 fixed points
(numpy's worst input among them); a kernel off by more than rho/8 sends every row to
float64.

References: Higham (2002), section 3.1; Milakov & Gimelshein (2018) (online softmax).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.attention import LogitRecord, active_record, attend
from reduction.isolation.threads import blas_threads, check_workers

__all__ = ["Float32KV", "Float32Attention", "Arithmetic", "NUMPY_ARITHMETIC",
           "attend_float32", "row_bounds", "exp_within", "exp32_is_trusted",
           "EXP32_REL_ERROR"]

U32 = 2.0**-24
U64 = 2.0**-53
EXP32_REL_ERROR = 2.0**-16  # assumed |fl32(exp x)/exp x - 1| on [-104, 0] (docstring)
_NORM_SLACK = 2.0**-40  # a float64 norm of <= 2^12 terms is off by far less
_FLOAT64_TAIL = 2.0**-40  # float64 zero-token term, normaliser sum, division, this bound
QUERY_CHUNK = 512
KEY_CHUNK = 1024
#: numpy's SIMD float32 exp reaches its largest error at this input (its source says)
_EXP_WORST_INPUT = np.array([0xC2781E37], dtype=np.uint32).view(np.float32)


def _gamma(n: int) -> float:
    if n * U32 >= 0.5:
        raise InvalidArgument(f"a float32 sum of {n} terms has no useful error bound; use float64")
    return n * U32 / (1 - n * U32)


def _norms_up(rows: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row, rounded up (float64): never below the exact norm.
    Computed 4096 rows at a time, so a float16 cache is never copied whole to float64."""
    rows = np.asarray(rows)
    if rows.shape[1] >= 2**12:
        raise InvalidArgument(f"rows of {rows.shape[1]} coordinates: the float32 kernel "
                              "takes d < 4096")
    out = np.empty(rows.shape[0])
    for a in range(0, rows.shape[0], 4096):
        r = np.asarray(rows[a : a + 4096], dtype=np.float64)
        out[a : a + 4096] = np.sqrt(np.einsum("ij,ij->i", r, r))
    return out * (1 + _NORM_SLACK)


def exp_within(exp: Callable[[np.ndarray], np.ndarray], tolerance: float) -> bool:
    """Whether ``exp`` (float32 in, float32 out) is within ``tolerance`` of exp, relatively
    (absolutely 2^-126 below the normal range), on 4097 probes of [-104, 0]: every
    2^19-th float32 there, and numpy's worst-case input. Compared with float64 exp.

    >>> exp_within(np.exp, EXP32_REL_ERROR / 8)
    True
    >>> exp_within(lambda x: np.exp(x) * np.float32(1 + 2**-12), EXP32_REL_ERROR)
    False
    """
    top = int(np.float32(-104.0).view(np.uint32))
    grid = np.arange(0x80000000, top, max(1, (top - 0x80000000) // 4096),
                     dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([grid, _EXP_WORST_INPUT])
    with np.errstate(all="ignore"):
        got = np.asarray(exp(x), dtype=np.float32).astype(np.float64)
        want = np.exp(x.astype(np.float64))
    normal = want >= 2.0**-126
    rel = np.abs(got[normal] / want[normal] - 1)
    small = np.abs(got[~normal] - want[~normal])
    return bool(rel.max(initial=0.0) <= tolerance and small.max(initial=0.0) <= 2.0**-126)


@functools.lru_cache(maxsize=1)
def exp32_is_trusted() -> bool:
    """The guard of the module docstring: numpy's float32 exp within rho/8 on the probes
    of :func:`exp_within` (once per process)."""
    return exp_within(np.exp, EXP32_REL_ERROR / 8)


@dataclass(frozen=True)
class Arithmetic:
    """The kernel's three float32 steps; each writes into ``out`` (float32).

    ``scores(q1, k1, first, out)``: out = q1 @ k1.T, keys from index ``first``;
    ``exp(s, first)``: s = exp(s) in place; ``weigh(p, v1, first, out)``: out = p @ v1.
    ``first`` lets a test's arithmetic know which keys it is rounding.
    """

    scores: Callable[[np.ndarray, np.ndarray, int, np.ndarray], None]
    exp: Callable[[np.ndarray, int], None]
    weigh: Callable[[np.ndarray, np.ndarray, int, np.ndarray], None]


def _scores(q1: np.ndarray, k1: np.ndarray, first: int, out: np.ndarray) -> None:
    np.matmul(q1, k1.T, out=out)


def _exp(s: np.ndarray, first: int) -> None:
    np.exp(s, out=s)


def _weigh(p: np.ndarray, v1: np.ndarray, first: int, out: np.ndarray) -> None:
    np.matmul(p, v1, out=out)


NUMPY_ARITHMETIC = Arithmetic(_scores, _exp, _weigh)


@dataclass(frozen=True, eq=False)
class Float32KV:
    """Keys and values prepared once for many queries: [K, 1] and [V, 1] in float32.

    ``keys`` and ``values`` keep the originals (for rows recomputed in float64);
    ``value_spread`` is the largest (max - min) of a value column, 0 included.
    """

    keys: np.ndarray
    values: np.ndarray
    keys1: np.ndarray
    values1: np.ndarray
    key_norm: float
    value_max: float
    value_spread: float
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
        hi = v.max(axis=0).astype(np.float64) if v.size else np.zeros(1)
        lo = v.min(axis=0).astype(np.float64) if v.size else np.zeros(1)
        spread = float(np.max(np.maximum(hi, 0) - np.minimum(lo, 0)))
        return cls(
            keys=k, values=v, keys1=keys1, values1=values1,
            key_norm=float(_norms_up(k).max(initial=0.0)),
            value_max=float(max(np.abs(hi).max(), np.abs(lo).max())) if v.size else 0.0,
            value_spread=spread,
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
               key_chunk: int, rho: float = EXP32_REL_ERROR) -> np.ndarray:
    """The bound b_i of the module docstring for each row (float64, rounded up).

    ``q_norm`` must not be below ||q_i|| (:func:`_norms_up`); ``shift`` is the m the
    kernel used; ``normaliser`` the computed D_hat; ``rho`` the exp error allowed.
    """
    d = kv.keys1.shape[1] - 1
    n = kv.n_tokens
    kc = min(key_chunk, max(n, 1))
    nc = max(1, math.ceil(n / kc))
    u, uk, uv = U32, kv.key_rounding, kv.value_rounding
    g_d, g_s = _gamma(d + 1), _gamma(kc + nc)
    g = (1 + uv) * (1 + g_s) - 1
    h = g_s + _FLOAT64_TAIL
    with np.errstate(all="ignore"):  # huge R or a zero normaliser: an infinite bound
        r = q_norm * kv.key_norm
        e = (u + uk + u * uk) * r + g_d * ((1 + u) * (1 + uk) * r + np.abs(shift))
        alpha = np.expm1(e) * (1 + rho) + rho
        beta = np.where(normaliser > 0, n * 2.0**-124 / normaliser, np.inf)
        mean = alpha / (1 - alpha) * (kv.value_spread / 2)
        tail = kv.value_max * ((g + h) * (1 + 2 * beta) / (1 - h) + 3 * beta + 2 * U64)
        bound = (mean + tail) * (1 + _FLOAT64_TAIL)
    return np.where((alpha < 1) & np.isfinite(bound), bound, np.inf)


def attend_float32(
    queries: np.ndarray,
    kv: Float32KV,
    *,
    zero_tokens: int = 0,
    threshold: float | Sequence[float] | None = None,
    workers: int = 1,
    query_chunk: int = QUERY_CHUNK,
    key_chunk: int = KEY_CHUNK,
    arithmetic: Arithmetic = NUMPY_ARITHMETIC,
) -> Float32Attention:
    """softmax(Q [K; 0]^T) [V; 0] in float32 with a per-row error bound (module docstring).

    With ``threshold`` tau (or several thresholds, Lemma PREC's), every row having a
    coordinate within its bound of a threshold is recomputed in float64, so each output
    is on the side of each threshold exact arithmetic puts it (or is the float64 result).
    When numpy's float32 exp fails :func:`exp32_is_trusted`, every row is. ``workers``
    threads share the fixed query chunks, each chunk on one BLAS thread: the result does
    not depend on ``workers``. ``arithmetic`` is for tests of the bound.

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
    bound = np.full(q.shape[0], np.inf)
    record = active_record()  # fetched here: the pool's threads have no context
    extremes = _Extremes(q.shape[0]) if record is not None and kv.n_tokens else None
    trusted = arithmetic is not NUMPY_ARITHMETIC or exp32_is_trusted()
    if kv.n_tokens and q.shape[0] and trusted:
        q_norm = _norms_up(q)
        with np.errstate(over="ignore"):  # a shift beyond float32 gives an infinite bound
            shift = (q_norm * kv.key_norm).astype(np.float32)
        run = _chunk_runner(q, shift, kv, t0, min(kc, kv.n_tokens), out, bound, q_norm,
                            extremes, arithmetic)
        starts = list(range(0, q.shape[0], qc))
        with blas_threads(1):
            if w == 1 or len(starts) == 1:
                for s in starts:
                    run(s, qc)
            else:
                with ThreadPoolExecutor(max_workers=w) as pool:
                    list(pool.map(lambda s: run(s, qc), starts))
    elif not kv.n_tokens:
        bound[:] = 0.0  # only zero tokens: every output is exactly 0
    redo = _rows_to_recompute(out, bound, threshold)
    if record is not None:
        _record_rows(record, q, kv, t0, redo, extremes)
    if redo.size:
        out[redo] = attend(q[redo], kv.keys, kv.values, zero_tokens=t0)
        bound[redo] = np.nan  # float64 result: the bound above no longer describes it
    return Float32Attention(out, bound, redo)
def _rows_to_recompute(out: np.ndarray, bound: np.ndarray,
                       threshold: float | Sequence[float] | None) -> np.ndarray:
    """Rows with a non-finite output or bound, or a coordinate within its bound of a
    threshold (4096 rows at a time: temporaries stay small)."""
    bad = ~np.isfinite(bound)
    thresholds = () if threshold is None else np.atleast_1d(np.asarray(threshold, float))
    for a in range(0, out.shape[0], 4096):
        rows, b = out[a : a + 4096], bound[a : a + 4096, None]
        bad[a : a + 4096] |= ~np.isfinite(rows).all(axis=1)
        for t in thresholds:
            bad[a : a + 4096] |= (np.abs(rows - t) <= b).any(axis=1)
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
                  extremes: _Extremes | None, arith: Arithmetic) -> Callable[[int, int], None]:
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
                arith.scores(q1, kb, ks, s)  # s - m, shift folded into the GEMM
                if extremes is not None:
                    extremes.update(start, s, ks)
                arith.exp(s, ks)
                arith.weigh(s, kv.values1[ks : ks + kc], ks, part)  # [sum p v, sum p]
                acc += part
            num = acc[:, :-1].astype(np.float64)
            norm = acc[:, -1].astype(np.float64)
            if t0:
                norm += t0 * np.exp(-shift[start:stop].astype(np.float64))
            out[start:stop] = num / norm[:, None]
        bound[start:stop] = row_bounds(q_norm[start:stop], shift[start:stop].astype(np.float64),
                                       norm, kv, kc)

    return run
