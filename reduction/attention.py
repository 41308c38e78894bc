"""Block-causal VAR attention in log-sum-exp form, chunked so memory stays bounded.

Purpose: docs/theorem.md#model. All T_k tokens of scale k attend to every token of
scales 1..k (their own scale included), never to later ones:
Z_k = softmax_rows(Q_k K_{<=k}^T) V_{<=k}; any 1/sqrt(d) or temperature is folded into Q.

Implementation: a streaming ("online") softmax over key chunks: per query row we keep the
running maximum m, the running normaliser l = sum exp(s - m) and the running numerator
acc = sum exp(s - m) v, rescaling by exp(m_old - m_new) when m grows. Peak memory is
O(query_chunk * key_chunk + query_chunk * d) whatever the number of cached tokens.

Every score chunk that :func:`attend` and :func:`softmax_rows` compute is shown to the
active :func:`record_logits` recorder, if any: Bob's process uses it to report the
largest |logit| actually computed (the logit cap, docs/theorem.md#cap, #var-head).

References: Milakov & Gimelshein (2018), "Online normalizer calculation for softmax";
Dao et al. (2022), FlashAttention; arXiv 2503.14881 (block-causal VAR attention).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from lowerbound.validation import check_int_at_least

__all__ = ["attend", "softmax_rows", "block_causal_attention", "LogitRecord",
           "record_logits"]

QUERY_CHUNK = 1024
KEY_CHUNK = 4096


class LogitRecord:
    """The largest |logit| (score) seen inside :func:`record_logits`, and how many; an
    enclosing record sees them too."""

    def __init__(self, parent: LogitRecord | None = None) -> None:
        self.max_abs = 0.0
        self.count = 0
        self.parent = parent

    def see(self, scores: np.ndarray) -> None:
        """Take in a block of scores (a NaN counts as an infinite logit)."""
        if scores.size:
            m = float(np.max(np.abs(scores)))
            self._add(m if m == m else float("inf"), int(scores.size))

    def _add(self, top: float, count: int) -> None:
        self.max_abs = max(self.max_abs, top)
        self.count += count
        if self.parent is not None:
            self.parent._add(top, count)


_RECORD: ContextVar[LogitRecord | None] = ContextVar("kvbound_logit_record", default=None)


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


def attend(
    queries: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    *,
    query_chunk: int = QUERY_CHUNK,
    key_chunk: int = KEY_CHUNK,
) -> np.ndarray:
    """softmax_rows(Q K^T) V for every query against every key, in float64, chunked.

    Shapes: Q (q, d), K (n, d), V (n, d_v) with n >= 1. Returns (q, d_v).

    Notes: docs/theorem.md#model (one head; temperature folded into Q).

    >>> q = np.array([[10.0, 0.0]]); k = np.eye(2); v = np.array([[1.0], [0.0]])
    >>> bool(abs(attend(q, k, v)[0, 0] - 1 / (1 + np.exp(-10.0))) < 1e-15)
    True
    """
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if q.ndim != 2 or k.ndim != 2 or v.ndim != 2:
        raise ValueError("queries, keys and values must be 2-D (tokens x dimension)")
    if k.shape[0] == 0:
        raise ValueError("attention needs at least one cached key; the cache is empty")
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"query dimension {q.shape[1]} differs from key dimension {k.shape[1]}")
    if v.shape[0] != k.shape[0]:
        raise ValueError(f"{k.shape[0]} keys but {v.shape[0]} values")
    qc = check_int_at_least(query_chunk, "query_chunk", 1)
    kc = check_int_at_least(key_chunk, "key_chunk", 1)
    out = np.empty((q.shape[0], v.shape[1]), dtype=np.float64)
    record = _RECORD.get()
    for qs in range(0, q.shape[0], qc):
        qb = q[qs : qs + qc]
        m = np.full((qb.shape[0], 1), -np.inf)
        norm = np.zeros((qb.shape[0], 1))
        acc = np.zeros((qb.shape[0], v.shape[1]))
        for ks in range(0, k.shape[0], kc):
            s = qb @ k[ks : ks + kc].T
            if record is not None:
                record.see(s)
            m_new = np.maximum(m, s.max(axis=1, keepdims=True))
            rescale = np.exp(m - m_new)
            p = np.exp(s - m_new)
            norm = norm * rescale + p.sum(axis=1, keepdims=True)
            acc = acc * rescale + p @ v[ks : ks + kc]
            m = m_new
        out[qs : qs + qc] = acc / norm
    return out


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
        raise ValueError("block_bounds is empty; give at least one scale")
    if block_bounds[-1][1] != q.shape[0]:
        raise ValueError(
            f"the blocks cover {block_bounds[-1][1]} tokens but there are {q.shape[0]} queries"
        )
    out = np.empty((q.shape[0], np.asarray(values).shape[1]), dtype=np.float64)
    for start, stop in block_bounds:
        out[start:stop] = attend(q[start:stop], keys[:stop], values[:stop])
    return out
