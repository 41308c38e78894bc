"""Expected attention: keep the tokens future queries are expected to weigh most, times |v|.

Purpose: the cache of Devoto et al. 2025 ("Expected Attention: KV Cache Compression by
Estimating Attention from Future Queries Distribution") as NVIDIA/kvpress implements it:
``kvpress/presses/expected_attention_press.py`` (commit 8bb29b9) L55-60 (defaults), L62-86
(query statistics), L126-165 (the score).

Main statement: from the mean mu and the centred second moment Sigma of the queries
(those at positions >= n_sink), a non-sink candidate i scores

    z_i = mu . k_i + k_i^T Sigma k_i / 2,    s_i = (softmax_i(z) + eps) * ||v_i||_2,

the log of E[exp(q . k_i)] for q ~ N(mu, Sigma) (the attention temperature is folded into
the queries here, so kvpress's 1/sqrt(d) and 1/d do not appear); the first n_sink tokens
of the sequence are always kept (kvpress pads them with max + 1). The B highest are kept,
ties to the more recent token.

On the hard instance Alice's queries are zero, so mu = Sigma = 0, softmax(z) is uniform
and s_i = ||x_i||_2 / n = sqrt(weight(x_i)) / n: the policy keeps the HEAVIEST value rows
(ties, rows of equal weight, to the more recent). The choice reads the values, but Bob's
output for an evicted row is still a function of the kept rows only, so its bits are
guessed without seeing them: error rate ~ (1 - B/L)/2, up to the small bias of guessing
rows known to be lighter than the kept ones (measured in tests/caches/).

Ported exactly: the defaults (n_sink 4, use_covariance, use_vnorm, epsilon 0), the
statistics (mean, centred second moment over the count), the score and the sink rule.
Stand-ins: kvpress recomputes the queries from the model's hidden states and averages
RoPE over the next 512 positions; kvbound's keys carry no RoPE and the queries are given,
so the statistics come from the scale's own queries (a forward pass is not needed and
n_future_positions has no role). The rule runs after every scale (block-wise), one head
per instance (multi-head runs wrap it per head, same count per head as ScorerPress).
"""

from __future__ import annotations

import numpy as np

from caches._eviction import EvictionCache, fraction_option, int_option
from caches.entry import CacheEntry, EntryList
from lowerbound.validation import InvalidArgument
from reduction.attention import softmax_rows
from reduction.cache import CacheParams

__all__ = ["ExpectedAttentionCache", "expected_attention_scores", "query_statistics"]

DEFAULT_SINKS = 4


def query_statistics(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, Sigma): the mean and the centred second moment (divided by the count) of the
    query rows (kvpress expected_attention_press.py L73-80); zeros when there are none.

    >>> mu, cov = query_statistics(np.array([[1.0, 0.0], [3.0, 0.0]]))
    >>> mu.tolist(), cov.tolist()
    ([2.0, 0.0], [[1.0, 0.0], [0.0, 0.0]])
    """
    q = np.asarray(queries, dtype=np.float64)
    d = q.shape[1]
    if q.shape[0] == 0:
        return np.zeros(d), np.zeros((d, d))
    mu = q.mean(axis=0)
    centred = q - mu
    return mu, centred.T @ centred / q.shape[0]


def expected_attention_scores(
    queries: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    positions: np.ndarray,
    query_positions: np.ndarray,
    n_sink: int = DEFAULT_SINKS,
    use_covariance: bool = True,
    use_vnorm: bool = True,
    epsilon: float = 0.0,
) -> np.ndarray:
    """s_i = (softmax_i(mu . k_i + k_i^T Sigma k_i / 2) + eps) * ||v_i||, sinks max + 1.

    Queries at positions < n_sink are left out of the statistics, keys at positions
    < n_sink are forced (kvpress expected_attention_press.py L70, L136-163).

    >>> q = np.array([[1.0, 0.0], [3.0, 0.0]]); k = np.eye(2)
    >>> v = np.array([[3.0, 4.0], [1.0, 0.0]])
    >>> s = expected_attention_scores(q, k, v, np.array([0, 1]), np.array([0, 1]), n_sink=0)
    >>> bool(np.allclose(s, [5 / (1 + np.exp(-2.5)), 1 / (1 + np.exp(2.5))]))
    True
    """
    k = np.asarray(keys, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    pos = np.asarray(positions)
    mu, cov = query_statistics(np.asarray(queries)[np.asarray(query_positions) >= n_sink])
    sink = pos < n_sink
    z = k[~sink] @ mu
    if use_covariance:
        z = z + np.einsum("ij,jk,ik->i", k[~sink], cov, k[~sink]) / 2
    scores = np.empty(pos.size)
    rest = softmax_rows(z[None, :])[0] if z.size else z
    if use_vnorm:
        rest = (rest + epsilon) * np.linalg.norm(v[~sink], axis=1)
    scores[~sink] = rest
    scores[sink] = (rest.max() if rest.size else 0.0) + 1.0
    return scores


class ExpectedAttentionCache(EvictionCache):
    """Expected attention of future queries times value norm (Devoto et al., via kvpress).

    Options: ``budget`` (kept fraction of L_{K-1} in (0, 1] or a token count), ``sinks``
    (first tokens always kept, default 4), ``covariance`` (use Sigma, default true),
    ``vnorm`` (times ||v||, default true), ``epsilon`` (in [0, 1], default 0).
    """

    TAG = b"EXA1"
    NAME = "expected-attention"
    OPTIONS = frozenset({"budget", "sinks", "covariance", "vnorm", "epsilon"})

    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        self.sinks = int_option(params, "sinks", DEFAULT_SINKS, 0)
        self.covariance = _bool_option(params, "covariance", True)
        self.vnorm = _bool_option(params, "vnorm", True)
        self.epsilon = fraction_option(params, "epsilon", 0.0)

    def _score_candidates(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
                          positions: np.ndarray, n_old: int) -> np.ndarray:
        block = self.n_seen + np.arange(queries.shape[0])
        return expected_attention_scores(queries, keys, values, positions, block, self.sinks,
                                         self.covariance, self.vnorm, self.epsilon)


def _bool_option(params: CacheParams, name: str, default: bool) -> bool:
    value = params.option(name, default)
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be true or false")
    return value


#: The names this module declares (listed once, in caches.registry).
ENTRIES = EntryList()
ENTRIES.add(
    "expected-attention",
    CacheEntry(
        ExpectedAttentionCache,
        {},
        "expected attention of future queries times ||v|| (kvpress)",
        budgeted=True,
    ),
)
