"""A course-ready walk-through of the reduction, computed live (docs/walkthrough.md).

Every number below is computed by the project's own functions: first on a hand-sized
instance (schedule "1x2,1x3,1x4", d = 4: five cached tokens, four query rows per pass, so
Bob needs two passes), then on a schedule chosen by the caller (default ``var-256``,
d = 64, eps = 3/4, eta = 1/4). Nothing random is printed, so the generated page is stable
and a test keeps docs/walkthrough.md fresh. Lemma labels point into docs/theorem.md.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from caches.exact import ExactCache, exact_cache_bits
from lowerbound.bound import index_lower_bound_bits, theorem_bound_bits
from lowerbound.decoding import one_range, tau, zero_range
from lowerbound.defaults import DEFAULTS
from lowerbound.entropy import binary_entropy
from lowerbound.jl import d_min, d_min_exact
from lowerbound.models import VAR_LOGIT_CAP
from lowerbound.softmax import c_min, gamma
from reduction.attention import softmax_rows
from reduction.cache import CacheParams
from reduction.protocol import PublicParams
from reduction.schedule import Schedule

__all__ = ["walkthrough_markdown", "TINY_SCHEDULE", "TINY_KEYS", "TINY_BITS"]

TINY_SCHEDULE = "1x2,1x3,1x4"
#: Five sign vectors in d = 4: four Hadamard rows and the negated first row.
TINY_KEYS = np.array([[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1],
                      [-1, -1, -1, -1]])
TINY_BITS = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1]])
_TINY_EPS, _ETA = Fraction(1, 2), Fraction(1, 4)


def _vec(x: np.ndarray, digits: int = 4) -> str:
    # round first so that -1e-17 prints as 0, not -0
    values = np.round(np.asarray(x, dtype=np.float64).ravel(), digits) + 0.0
    return "(" + ", ".join(f"{v:.{digits}f}" for v in values) + ")"


def _passes(n_keys: int, t_last: int) -> list[tuple[int, int]]:
    """Bob's passes as 1-based (first, last) token numbers, T_K tokens per pass."""
    return [(s + 1, min(s + t_last, n_keys)) for s in range(0, n_keys, t_last)]


def _tiny_section() -> list[str]:
    tiny = Schedule.parse(TINY_SCHEDULE)
    n_keys, t_last, d = tiny.cached_tokens, tiny.last_scale_tokens, TINY_KEYS.shape[1]
    keys = TINY_KEYS / math.sqrt(d)
    gram = TINY_KEYS @ TINY_KEYS.T
    off = gram[~np.eye(n_keys, dtype=bool)]
    c = c_min(n_keys, t_last, _TINY_EPS, _ETA)
    g = gamma(n_keys, t_last, c, _TINY_EPS)
    threshold = tau(g, _ETA)
    params = CacheParams(d, tiny, {"dtype": "float64"})
    alice = ExactCache(params)
    for start, stop in tiny.block_bounds[:-1]:
        alice.process(np.zeros((stop - start, d)), keys[start:stop],
                      TINY_BITS[start:stop].astype(float))
    message = alice.to_bytes()
    rows: list[np.ndarray] = []
    pass_lines: list[str] = []
    for number, (first, last) in enumerate(_passes(n_keys, t_last), start=1):
        bob = ExactCache.from_bytes(message, params)  # a fresh copy of the same message
        queries = np.zeros((t_last, d))
        queries[: last - first + 1] = c * keys[first - 1 : last]
        z = bob.process(queries, np.zeros((t_last, d)), np.zeros((t_last, d)))
        rows.extend(z[: last - first + 1])
        unused = t_last - (last - first + 1)
        tokens = f"token {first}" if first == last else f"tokens {first}..{last}"
        pass_lines.append(f"- pass {number}: query rows for {tokens}"
                          + (f", {unused} zero row(s)" if unused else "") + ".")
    z_all = np.array(rows)
    decoded = (z_all > threshold).astype(int)
    scores = np.vstack([keys, np.zeros((t_last, d))]) @ (c * keys[0])
    weights = softmax_rows(scores[None, :])[0]
    return [
        "## 2. A VAR schedule small enough to do by hand",
        "",
        f"Schedule `{TINY_SCHEDULE}`: scales of T_k = {', '.join(map(str, tiny.tokens))} "
        f"tokens. Alice caches the L = L_(K-1) = {n_keys} tokens of the first two scales;",
        f"Bob's queries are the T_K = {t_last} tokens of the last scale. Each query row reads",
        f"one cached token, so Bob needs ceil(L/T_K) = {math.ceil(n_keys / t_last)} passes, "
        "each from a fresh copy of the same message (memory is what the message holds, "
        "not what Bob asks).",
        "",
        "## 3. Alice's keys (JL sign keys, L1) and values",
        "",
        f"Keys are sign vectors over sqrt(d), d = {d}: sigma_1..sigma_{n_keys} = "
        f"{TINY_KEYS.tolist()}. Their pairwise inner products are "
        f"{sorted(set(int(v) for v in off))}, so every <k_i, k_j> <= {int(off.max()) / d:g} "
        f"<= eps = {_TINY_EPS}: near-orthogonal (L1). Random signs guarantee this only from",
        f"d_min(L, eps) = {d_min(n_keys, _TINY_EPS)} on (Hoeffding and a union bound over "
        "the pairs); this hand-picked family is a witness that works in d = 4.",
        "",
        f"Values are Alice's bits, one row per token: X = {TINY_BITS.tolist()} (N = L d = "
        f"{TINY_BITS.size} bits). Her queries are zero. She streams scales 1 and 2 into an",
        f"exact float64 cache; its bytes, the message, are {len(message)} bytes = "
        f"{8 * len(message)} bits.",
        "",
        "## 4. Bob's passes and queries (L2)",
        "",
        f"With eta = {_ETA} (the relative error the cache may make) the least admissible "
        f"query scale is C_min = {c:.4f} (L3). Bob's last scale has zero keys and values;",
        "its query rows are C k_i for the tokens he reads in this pass:",
        "",
        *pass_lines,
        "",
        f"For token 1 the scores q . k over the {n_keys} cached keys and the {t_last} zero "
        f"keys are {_vec(scores)}; softmax turns them into {_vec(weights)}.",
        f"The target gets at least 1/(1 + gamma), gamma = (L-1) e^(-C(1-eps)) + T_K e^(-C) "
        f"= {g:.4f} (L2): just below (1 - eta)/(1 + eta), the largest L3 allows (C_min is "
        "the least double with gamma strictly below it).",
        "",
        "## 5. Decoding (L3)",
        "",
        f"A 1 bit shows at least (1 - eta)/(1 + gamma) = {one_range(g, float(_ETA)):.6f}, "
        f"a 0 bit at most (1 + eta) gamma/(1 + gamma) = {zero_range(g, float(_ETA)):.6f};",
        f"tau = {threshold:.6f} is their midpoint (at C_min the two bounds meet; the actual "
        "outputs keep a wide margin). Bob's output rows over both passes:",
        "",
        *[f"- token {i + 1}: Z = {_vec(z_all[i])} -> {decoded[i].tolist()}"
          for i in range(n_keys)],
        "",
        "Decoded X " + ("equals" if np.array_equal(decoded, TINY_BITS) else "DIFFERS FROM")
        + " Alice's X: Bob read every bit. At C_min the two ranges of L3 touch, so a cache "
        "with error exactly eta is on the edge; the simulation runs at the C that halves "
        "gamma (docs/architecture.md).",
        "",
    ]


def walkthrough_markdown(schedule: str = DEFAULTS.schedule, d: int = DEFAULTS.d,
                         eps: float = float(DEFAULTS.eps),
                         eta: float = float(DEFAULTS.eta)) -> str:
    """The walk-through as markdown (deterministic); the last part uses these parameters."""
    delta = 0.01
    s = Schedule.parse(schedule)
    public = PublicParams(s, d, eps, eta, 0)  # validates d >= d_min, eps, eta
    n_keys, t_last = s.cached_tokens, s.last_scale_tokens
    passes = _passes(n_keys, t_last)
    shown = passes if len(passes) <= 4 else [*passes[:2], passes[-1]]
    exact = exact_cache_bits(n_keys, d, "float16")
    bound = theorem_bound_bits(d, n_keys, eps)
    lines = [
        "# Walk-through: why a VAR KV cache needs Omega(n^2 d) bits",
        "",
        "Generated by `kvbound walkthrough` from the project's own functions (no random",
        "numbers), so every value here is what the code computes. Lemma labels (L1-L4) are",
        "those of docs/theorem.md and [`blueprint.md`](blueprint.md); the source is arXiv",
        "2503.14881, extending Haris & Onak (arXiv 2502.15955).",
        "",
        "## 1. The communication problem: Index and Multi-Index",
        "",
        "Index: Alice holds N random bits, Bob an index j, and only one message goes from",
        "Alice to Bob. If Bob gets every bit right with probability at least 1 - delta, the",
        "message has at least (1 - H2(delta)) N bits (L4, Fano's inequality per bit). With",
        f"delta = {delta}: H2(delta) = {binary_entropy(delta):.4f}, so at least "
        f"{index_lower_bound_bits(1, delta):.4f} N bits.",
        "Multi-Index: Bob holds T indices and must answer each. Alice does not know which,",
        "so the bound stays (1 - H2(delta)) N; T only sets how many bits are checked.",
        "",
        "The proof turns any KV cache into such a message: Alice writes her bits into a",
        "cache, the cache's bytes are the message, and Bob reads the bits back with",
        "attention queries. So a cache that answers attention well has at least that many",
        "bits.",
        "",
        *_tiny_section(),
        f"## 6. The same on `{s.name}` (d = {d}, eps = {eps:g}, eta = {eta:g})",
        "",
        f"Sides {', '.join(map(str, s.sides))}: Alice caches L = L_(K-1) = {n_keys} tokens; "
        f"the last scale has T_K = {t_last} query rows, so Bob makes ceil(L/T_K) = "
        f"{len(passes)} passes:",
        "",
        *[f"- pass {passes.index(p) + 1}: tokens {p[0]}..{p[1]}" for p in shown],
        *(["- ..."] if len(shown) < len(passes) else []),
        "",
        f"JL keys (L1): d_min(L, eps) = {d_min(n_keys, eps)} (Hoeffding), "
        f"{d_min_exact(n_keys, eps)} (exact binomial tail); d = {d} is "
        + ("enough." if d >= d_min(n_keys, eps) else "below it."),
        f"Concentration (L2, L3): C_min = {public.c_min:.4f} (a released VAR head caps its "
        f"logits at {VAR_LOGIT_CAP}); the simulation uses C = {public.scale:.4f}, where "
        f"gamma = {public.gamma:.4f} and tau = {public.tau:.4f}.",
        f"The bound: every (eta, 0)-correct cache needs at least N = L d = {bound:.0f} bits;",
        f"the exact float16 cache has {exact} bits ({exact / bound:.2f} x N).",
        "",
        "Since the second-to-last map of a VAR schedule has side Theta(n), L = Theta(n^2),",
        "and d_min = O(log n): Omega(n^2 d) bits for d = Omega(log n).",
        "",
        "## 7. Try it",
        "",
        "```sh",
        "kvbound verify --schedule var-256 --d 64 --seeds 1   # the reduction, measured",
        "kvbound constants --schedule var-256 --d 64          # every constant, certified",
        "kvbound walkthrough --schedule var-512 --d 64        # this page for another schedule",
        "kvbound proofs --lemma L3                            # one lemma's checks",
        "```",
        "",
    ]
    return "\n".join(lines)
