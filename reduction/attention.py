"""Block-causal VAR attention in log-sum-exp form, chunked so memory stays bounded.

Purpose: the model of docs/theorem.md#model. All T_k tokens of scale k attend to every
token of scales 1..k (their own scale included), never to later ones:
Z_k = softmax_rows(Q_k K_{<=k}^T) V_{<=k}; any 1/sqrt(d) or temperature is folded into Q.

Implementation (float64, the reference every faster path is checked against): a
streaming ("online") softmax over key chunks. Per query row we keep the running maximum
m, the running normaliser l = sum exp(s - m) and the running numerator
acc = sum exp(s - m) v, rescaling by exp(m_old - m_new) when m grows. Buffers are
allocated once per call, so peak memory is O(query_chunk * key_chunk + q * d_v) whatever
the number of cached tokens. Two kinds of rows cost nothing:

* a zero query row scores 0 against every key, so its weights are uniform and its output
  is the mean of all values (closed form, one column sum);
* a token whose key and value are both zero (Bob's last-scale block, docs/theorem.md#unused)
  scores 0 and carries nothing: T such tokens add T * e^{0 - m} to the normaliser only.

Every score :func:`attend` and :func:`softmax_rows` compute, closed forms included (their
scores are 0), is shown to the active :func:`record_logits` recorder, if any: Bob's
process uses it to report the largest |logit| actually computed (the logit cap,
docs/theorem.md#cap, #var-head). reduction.attention32 reports its float32 scores too.

References: Milakov & Gimelshein (2018), "Online normalizer calculation for softmax";
Dao et al. (2022), FlashAttention; arXiv 2503.14881 (block-causal VAR attention).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least

__all__ = ["attend", "softmax_rows", "block_causal_attention", "zero_rows", "LogitRecord",
           "record_logits", "active_record"]

QUERY_CHUNK = 512
KEY_CHUNK = 2048


class LogitRecord:
    """The largest |logit| (score) seen inside :func:`record_logits`, and how many; an
    enclosing record sees them too. Safe to feed from several threads."""

    def __init__(self, parent: LogitRecord | None = None) -> None:
        self.max_abs = 0.0
        self.count = 0
        self.parent = parent
        self._lock = threading.Lock()

    def see(self, scores: np.ndarray) -> None:
        """Take in a block of scores (a NaN counts as an infinite logit); no temporaries."""
        if scores.size:
            hi, lo = float(np.max(scores)), float(np.min(scores))
            top = max(hi, -lo) if hi == hi and lo == lo else float("inf")
            self.see_summary(top, int(scores.size))

    def see_summary(self, top: float, count: int) -> None:
        """Take in ``count`` scores whose largest |value| is ``top`` (closed forms, or a
        kernel that tracked its extremes itself)."""
        if count:
            with self._lock:
                self.max_abs = max(self.max_abs, top)
                self.count += count
            if self.parent is not None:
                self.parent.see_summary(top, count)


_RECORD: ContextVar[LogitRecord | None] = ContextVar("kvbound_logit_record", default=None)


def active_record() -> LogitRecord | None:
    """The innermost active recorder of this thread's context (None outside one).

    Worker threads start from an empty context: a parallel kernel fetches the record in
    the calling thread and feeds it itself (or runs its tasks in ``copy_context()``).
    """
    return _RECORD.get()


@contextmanager
def record_logits() -> Iterator[LogitRecord]:
    """Record every score :func:`attend` and :func:`softmax_rows` compute in the block.

    >>> with record_logits() as rec:
    ...     _ = attend(np.array([[3.0, 0.0]]), np.eye(2), np.eye(2))
    >>> rec.max_abs, rec.count
    (3.0, 2)
    """
    record = LogitRecord(_RECORD.get())
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax in log-sum-exp form: exp(s - max s) / sum exp(s - max s).

    Notes: the softmax of Lemma L2 (docs/theorem.md#l2).

    >>> softmax_rows(np.array([[0.0, 0.0], [1000.0, 0.0]])).round(6).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    s = np.asarray(scores, dtype=np.float64)
    record = _RECORD.get()
    if record is not None:
        record.see(s)
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - m)
    return e / e.sum(axis=-1, keepdims=True)


def zero_rows(*arrays: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows that are zero in every one of the (n, .) arrays.

    >>> zero_rows(np.array([[0.0, 0.0], [0.0, 1.0]]), np.zeros((2, 3))).tolist()
    [True, False]
    """
    nonzero = np.zeros(arrays[0].shape[0], dtype=bool)
    for a in arrays:
        nonzero |= a.any(axis=1)
    return ~nonzero


def _validated(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, zero_tokens: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if q.ndim != 2 or k.ndim != 2 or v.ndim != 2:
        raise InvalidArgument("queries, keys and values must be 2-D (tokens x dimension)")
    if k.shape[0] + zero_tokens == 0:
        raise InvalidArgument("attention needs at least one cached key; the cache is empty")
    if q.shape[1] != k.shape[1]:
        raise InvalidArgument(
            f"query dimension {q.shape[1]} differs from key dimension {k.shape[1]}")
    if v.shape[0] != k.shape[0]:
        raise InvalidArgument(f"{k.shape[0]} keys but {v.shape[0]} values")
    return q, k, v


def attend(
    queries: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    *,
    zero_tokens: int = 0,
    query_chunk: int = QUERY_CHUNK,
    key_chunk: int = KEY_CHUNK,
) -> np.ndarray:
    """softmax_rows(Q [K; 0]^T) [V; 0] for every query, in float64, chunked.

    Shapes: Q (q, d), K (n, d), V (n, d_v); ``zero_tokens`` more tokens with zero key
    and zero value are appended in closed form (n + zero_tokens >= 1). Returns (q, d_v).
    Zero query rows and zero (key, value) tokens are handled in closed form (module
    docstring); the result is the same softmax.

    Notes: docs/theorem.md#model (one head; temperature folded into Q).

    >>> q = np.array([[10.0, 0.0]]); k = np.eye(2); v = np.array([[1.0], [0.0]])
    >>> bool(abs(attend(q, k, v)[0, 0] - 1 / (1 + np.exp(-10.0))) < 1e-15)
    True
    >>> float(attend(q, k[:1], v[:1], zero_tokens=1)[0, 0]) == float(attend(q, k, v)[0, 0])
    True
    """
    t0 = check_int_at_least(zero_tokens, "zero_tokens", 0)
    q, k, v = _validated(queries, keys, values, t0)
    qc = check_int_at_least(query_chunk, "query_chunk", 1)
    kc = check_int_at_least(key_chunk, "key_chunk", 1)
    out = np.empty((q.shape[0], v.shape[1]), dtype=np.float64)
    record = _RECORD.get()
    n_all = k.shape[0] + t0
    silent = zero_rows(q)
    if silent.any():  # uniform weights: the mean of every value, zero tokens included
        out[silent] = v.sum(axis=0) / n_all
        if record is not None:  # their scores are all 0
            record.see_summary(0.0, int(silent.sum()) * n_all)
    live = np.flatnonzero(~silent)
    if live.size == 0:
        return out
    empty = zero_rows(k, v)
    if empty.any():  # zero key and zero value: counted, never multiplied
        t0 += int(empty.sum())
        k, v = k[~empty], v[~empty]
    if record is not None:  # the zero tokens score 0 against every live row
        record.see_summary(0.0, live.size * t0)
    if k.shape[0] == 0:  # only zero tokens: every live row averages zeros
        out[live] = 0.0
        return out
    _online_softmax(q, k, v, t0, live, out, min(qc, live.size), min(kc, k.shape[0]),
                    record)
    return out


def _online_softmax(q: np.ndarray, k: np.ndarray, v: np.ndarray, t0: int, live: np.ndarray,
                    out: np.ndarray, qc: int, kc: int, record: LogitRecord | None) -> None:
    """The float64 online log-sum-exp over key chunks, rows ``live`` of q into ``out``;
    every score chunk is shown to ``record``."""
    scores = np.empty((qc, kc))
    acc = np.empty((qc, v.shape[1]))
    part = np.empty((qc, v.shape[1]))
    m = np.empty(qc)
    norm = np.empty(qc)
    chunk_max = np.empty(qc)
    rescale = np.empty(qc)
    for qs in range(0, live.size, qc):
        rows = live[qs : qs + qc]
        r = rows.size
        qb = q[rows]
        m_r, norm_r, acc_r = m[:r], norm[:r], acc[:r]
        m_r.fill(-np.inf)
        norm_r.fill(0.0)
        acc_r.fill(0.0)
        for ks in range(0, k.shape[0], kc):
            kb = k[ks : ks + kc]
            s = scores[:r, : kb.shape[0]]
            np.matmul(qb, kb.T, out=s)
            if record is not None:
                record.see(s)
            np.max(s, axis=1, out=chunk_max[:r])
            np.maximum(m_r, chunk_max[:r], out=chunk_max[:r])  # the new running max
            np.subtract(m_r, chunk_max[:r], out=rescale[:r])
            np.exp(rescale[:r], out=rescale[:r])  # exp(-inf) = 0 on the first chunk
            np.subtract(s, chunk_max[:r, None], out=s)
            np.exp(s, out=s)
            norm_r *= rescale[:r]
            norm_r += s.sum(axis=1)
            acc_r *= rescale[:r, None]
            np.matmul(s, v[ks : ks + kc], out=part[:r])
            acc_r += part[:r]
            m_r[:] = chunk_max[:r]
        if t0:  # the zero tokens score exactly 0: one more "chunk" in closed form
            top = np.maximum(m_r, 0.0)
            shift = np.exp(m_r - top)
            norm_r *= shift
            norm_r += t0 * np.exp(-top)
            acc_r *= shift[:, None]
        out[rows] = acc_r / norm_r[:, None]


def block_causal_attention(
    queries: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    block_bounds: tuple[tuple[int, int], ...],
) -> np.ndarray:
    """Z for a whole schedule: the queries of block (s, e) attend to tokens [0, e).

    ``block_bounds`` is :attr:`reduction.schedule.Schedule.block_bounds`.

    Notes: docs/theorem.md#model (block-causal attention).
    """
    q = np.asarray(queries, dtype=np.float64)
    if not block_bounds:
        raise InvalidArgument("block_bounds is empty; give at least one scale")
    if block_bounds[-1][1] != q.shape[0]:
        raise InvalidArgument(
            f"the blocks cover {block_bounds[-1][1]} tokens but there are {q.shape[0]} queries"
        )
    out = np.empty((q.shape[0], np.asarray(values).shape[1]), dtype=np.float64)
    for start, stop in block_bounds:
        out[start:stop] = attend(q[start:stop], keys[:stop], values[:stop])
    return out
