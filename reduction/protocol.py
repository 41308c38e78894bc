"""The one-way protocol of the reduction: Alice -> bytes -> Bob, and its verification.

Purpose: section 3 of THEOREM.md. Public coins: the key family (from ``key_seed``).
Alice streams scales 1..K-1 into a cache (keys = her keys in order, values = rows of X,
queries = 0) and sends ``cache.to_bytes()``. Bob rebuilds the cache from those bytes and
the public parameters alone, feeds the last scale with queries C*k_i (zero keys and
values), ceil(L / T_K) passes from the same message, and thresholds at tau. The measured
memory is 8 * len(message).

Main statement: with C = C_min(L, T_K, eps, eta) and an (eta, delta)-correct cache, Bob
recovers every bit with error <= delta, so the message has >= (1 - H2(delta)) * N bits
(theorem of THEOREM.md, via Lemmas L1-L4). The verification checks the contrapositive
on every run: message bits >= N * (1 - H2(p)) for the observed error rate p (up to a
confidence allowance), else the cache leaks state outside its bytes.

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.bound import index_lower_bound_bits
from lowerbound.decoding import tau as decoding_tau
from lowerbound.entropy import information_bits, information_bits_lower_confidence
from lowerbound.jl import d_min
from lowerbound.softmax import gamma, gamma_target, scale_for_gamma
from lowerbound.validation import check_int_at_least, check_interval
from reduction.cache import CacheParams
from reduction.compressors import resolve_cache
from reduction.decode import decode_bits, decoding_margin
from reduction.instance import IndexInstance, make_instance
from reduction.keys import KeyFamily, sample_keys
from reduction.schedule import Schedule
from reduction.threads import blas_threads, check_workers

__all__ = [
    "PublicParams",
    "SeedResult",
    "VerifyResult",
    "alice_message",
    "bob_outputs",
    "run_seed",
    "run_verification",
    "LEAK_ALPHA",
]

LEAK_ALPHA = 1e-6  # one-sided confidence of the "more information than bits" check

# The simulation runs Bob's queries at the C that makes gamma at most half of what Lemma
# L3 admits (gamma < (1 - eta) / (2 (1 + eta))), not at C_min itself: at C_min the two
# decoding ranges touch in the limit, and floating-point rounding (or float16 storage)
# would sit on the boundary. Both C's are reported.
SIMULATION_GAMMA_FRACTION = Fraction(1, 2)


@dataclass(frozen=True)
class PublicParams:
    """Everything both parties know before Alice speaks (all JSON scalars).

    ``eta`` is the entrywise error the decoding is designed to tolerate (relative, or
    additive with ``additive=True``); C and tau follow from it (Lemma L3).
    """

    schedule: Schedule
    d: int
    eps: float
    eta: float
    key_seed: int
    cache: str = "exact"
    options: Mapping[str, Any] = field(default_factory=dict)
    additive: bool = False

    def __post_init__(self) -> None:
        check_int_at_least(self.d, "d", 1)
        check_interval(self.eps, "eps", 0, 1)
        if self.additive:
            check_interval(self.eta, "eta", 0, 0.5, closed_lower=True)
        else:
            check_interval(self.eta, "eta", 0, 1, closed_lower=True)
        check_int_at_least(self.key_seed, "key_seed", 0)
        need = d_min(self.schedule.cached_tokens, self.eps)
        if self.d < need:
            raise ValueError(
                f"L={self.schedule.cached_tokens} and eps={self.eps:g} need d >= {need}, "
                f"got d={self.d}; raise d or eps (the theorem's regime is d >= d_min)"
            )
        object.__setattr__(self, "options", dict(self.options))

    @property
    def cache_params(self) -> CacheParams:
        merged = resolve_cache(self.cache).merged_options(self.cache, self.options)
        return CacheParams(self.d, self.schedule, merged)

    def _scale_for(self, fraction: Fraction) -> float:
        """Least C with gamma(C) < fraction * (1 - eta)/(1 + eta) (Lemmas L2, L3)."""
        return _scale_cached(
            self.schedule.cached_tokens,
            self.schedule.last_scale_tokens,
            float(self.eps),
            gamma_target(self.eta, additive=self.additive) * fraction,
        )

    @property
    def c_min(self) -> float:
        """The theorem's C_min(L, T_K, eps, eta) (Lemma L3)."""
        return self._scale_for(Fraction(1))

    @property
    def scale(self) -> float:
        """Bob's query scale C: gamma(C) < SIMULATION_GAMMA_FRACTION * L3's bound."""
        return self._scale_for(SIMULATION_GAMMA_FRACTION)

    @property
    def gamma(self) -> float:
        """gamma at C (Lemma L2)."""
        return gamma(
            self.schedule.cached_tokens, self.schedule.last_scale_tokens, self.scale, self.eps
        )

    @property
    def tau(self) -> float:
        """Decoding threshold at gamma(C) (Lemma L3)."""
        return decoding_tau(self.gamma, self.eta, additive=self.additive)

    def key_family(self) -> KeyFamily:
        """The public keys, regenerated from ``key_seed`` (Lemma L1)."""
        return _key_family_cached(self.schedule.cached_tokens, self.d, float(self.eps),
                                  self.key_seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule.to_json(),
            "d": self.d,
            "eps": float(self.eps),
            "eta": float(self.eta),
            "key_seed": self.key_seed,
            "cache": self.cache,
            "options": dict(self.options),
            "additive": self.additive,
        }

    @classmethod
    def from_json(cls, obj: Any) -> PublicParams:
        need = {"schedule", "d", "eps", "eta", "key_seed", "cache", "options", "additive"}
        if not isinstance(obj, dict) or not need <= obj.keys():
            raise ValueError(f"public parameters must be an object with {sorted(need)}")
        return cls(
            schedule=Schedule.from_json(obj["schedule"]),
            d=int(obj["d"]),
            eps=float(obj["eps"]),
            eta=float(obj["eta"]),
            key_seed=int(obj["key_seed"]),
            cache=str(obj["cache"]),
            options=dict(obj["options"]),
            additive=bool(obj["additive"]),
        )


@functools.lru_cache(maxsize=8)
def _key_family_cached(n_keys: int, d: int, eps: float, key_seed: int) -> KeyFamily:
    family = sample_keys(n_keys, d, eps, np.random.default_rng(key_seed))
    family.signs.setflags(write=False)
    return family


@functools.lru_cache(maxsize=64)
def _scale_cached(n: int, t: int, eps: float, target: Fraction) -> float:
    return scale_for_gamma(n, t, eps, target)


def alice_message(
    bits: np.ndarray, public: PublicParams, rng: np.random.Generator | int | None = None
) -> bytes:
    """Alice's side: stream scales 1..K-1 into a fresh cache, return its bytes.

    Keys are the public keys in order, values the rows of X, queries 0 (THEOREM.md 3).
    """
    rng = np.random.default_rng(rng)
    x = np.asarray(bits)
    n_keys = public.schedule.cached_tokens
    if x.shape != (n_keys, public.d):
        raise ValueError(f"Alice's bits have shape {x.shape}, expected (L, d) = ({n_keys}, "
                         f"{public.d})")
    keys = public.key_family().keys
    cache = resolve_cache(public.cache).cls(public.cache_params, rng)
    for start, stop in public.schedule.block_bounds[:-1]:
        zeros_q = np.zeros((stop - start, public.d))
        cache.process(zeros_q, keys[start:stop], x[start:stop].astype(np.float64))
    message = cache.to_bytes()
    if not isinstance(message, bytes):
        raise TypeError(f"{public.cache}.to_bytes() returned {type(message).__name__}, not bytes")
    return message


def bob_outputs(
    message: bytes, public: PublicParams, tokens: Iterable[int] | None = None,
    *, workers: int = 1,
) -> np.ndarray:
    """Bob's side: Z_hat rows of the requested cached tokens, from the bytes alone.

    One pass per batch of T_K tokens, each from a cache freshly rebuilt from ``message``:
    queries C * k_i for the batch (zero rows elsewhere), zero keys and values. A cache
    offering ``attend_with_zero_block`` (the exact cache) gets the batch's rows only, the
    zero block in closed form and tau (it may compute in float32 where tau is far). The
    passes are independent: ``workers`` threads share them (or share each pass's rows, on
    the fast path); every GEMM runs on one BLAS thread, so the result does not depend on
    ``workers``.
    """
    if not isinstance(message, (bytes, bytearray)):
        raise ValueError(f"Bob's message must be bytes, got {type(message).__name__}")
    message = bytes(message)
    workers = check_workers(workers)
    n_keys = public.schedule.cached_tokens
    wanted = np.arange(n_keys) if tokens is None else np.asarray(list(tokens), dtype=np.int64)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= n_keys):
        raise ValueError(f"Bob's tokens must lie in [0, L) with L={n_keys}")
    entry = resolve_cache(public.cache)
    keys = public.key_family().keys
    t_last, d = public.schedule.last_scale_tokens, public.d
    params, c, tau = public.cache_params, public.scale, public.tau
    fast = hasattr(entry.cls, "attend_with_zero_block")
    batches = [wanted[s : s + t_last] for s in range(0, wanted.size, t_last)]

    def one_pass(batch: np.ndarray) -> np.ndarray:
        cache = entry.cls.from_bytes(message, params)
        queries = c * keys[batch]
        if fast:
            z = np.asarray(cache.attend_with_zero_block(  # type: ignore[attr-defined]
                queries, t_last, threshold=tau, workers=workers), dtype=np.float64)
            expected = (batch.size, d)
        else:
            padded = np.zeros((t_last, d))
            padded[: batch.size] = queries
            zero_kv = np.zeros((t_last, d))
            z = np.asarray(cache.process(padded, zero_kv, zero_kv), dtype=np.float64)
            expected = (t_last, d)
        if z.shape != expected:
            raise ValueError(f"{public.cache} returned shape {z.shape}, expected {expected}")
        return z[: batch.size]

    out = np.empty((wanted.size, d), dtype=np.float64)
    with blas_threads(1):
        if fast or workers == 1 or len(batches) < 2:
            parts = [one_pass(b) for b in batches]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(one_pass, batches))
    for i, part in enumerate(parts):
        out[i * t_last : i * t_last + part.shape[0]] = part
    return out


@dataclass(frozen=True)
class SeedResult:
    """One run of the protocol on one seed."""

    seed: int
    key_seed: int
    n_bits: int
    message_bits: int
    bit_errors: int
    error_rate: float
    max_inner_product: float
    key_rounds: int
    decoding_margin: float
    information_bits: float
    information_bits_lcb: float
    leak: bool


@dataclass(frozen=True)
class VerifyResult:
    """Runs of the protocol over several seeds, with the theorem's numbers beside them."""

    public: PublicParams
    runs: tuple[SeedResult, ...]

    @property
    def message_bits(self) -> int:
        """The largest message over the seeds (memory is a maximum)."""
        return max(r.message_bits for r in self.runs)

    @property
    def bit_errors(self) -> int:
        return sum(r.bit_errors for r in self.runs)

    @property
    def n_bits(self) -> int:
        return self.runs[0].n_bits

    @property
    def lower_bound_bits(self) -> float:
        """(1 - H2(0)) * N: the message length any zero-error cache must reach (L4)."""
        return index_lower_bound_bits(self.n_bits, 0)

    @property
    def leak(self) -> bool:
        return any(r.leak for r in self.runs)

    @property
    def bound_respected(self) -> bool:
        return not self.leak

    def to_json(self) -> dict[str, Any]:
        s = self.public.schedule
        return {
            "schedule": s.name,
            "schedule_shapes": [list(x) for x in s.shapes],
            "d": self.public.d,
            "cache": self.public.cache,
            "cache_options": dict(self.public.cache_params.options),
            "cached_tokens": s.cached_tokens,
            "last_scale_tokens": s.last_scale_tokens,
            "passes": math.ceil(s.cached_tokens / s.last_scale_tokens),
            "instance_bits": self.n_bits,
            "message_bits": self.message_bits,
            "bit_errors": self.bit_errors,
            "bits_decoded": self.n_bits * len(self.runs),
            "lower_bound_bits": self.lower_bound_bits,
            "C": self.public.scale,
            "C_min": self.public.c_min,
            "gamma": self.public.gamma,
            "tau": self.public.tau,
            "eps": float(self.public.eps),
            "eta": float(self.public.eta),
            "additive": self.public.additive,
            "max_inner_product": max(r.max_inner_product for r in self.runs),
            "seeds": [r.seed for r in self.runs],
            "bound_respected": self.bound_respected,
            "runs": [asdict(r) for r in self.runs],
        }


class _InlineBob:
    """Bob in this process: same function, still fed only the bytes (for fast tests)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def outputs(
        self, message: bytes, public: PublicParams, tokens: Iterable[int] | None = None
    ) -> np.ndarray:
        return bob_outputs(message, public, tokens, workers=self.workers)


def run_seed(
    schedule: Schedule,
    d: int,
    eps: float,
    eta: float,
    seed: int,
    bob: Any,
    *,
    cache: str = "exact",
    options: Mapping[str, Any] | None = None,
    additive: bool = False,
    instance: IndexInstance | None = None,
    num_queries: int | None = None,
    observe: Callable[[PublicParams, np.ndarray, np.ndarray], None] | None = None,
) -> SeedResult:
    """One seed: rng -> (instance, public keys, cache coins) -> message -> Bob -> bits.

    ``bob`` is anything with ``outputs(message, public, tokens)``: a
    :class:`reduction.bob.BobProcess` (separate process) or the inline Bob.
    ``num_queries`` makes a Multi-Index instance (Bob asks for that many random bits);
    ``observe(public, outputs, truth)`` receives Bob's raw outputs (for figures).
    """
    seed = check_int_at_least(seed, "seed", 0)
    instance_rng, public_rng, cache_rng = np.random.default_rng(seed).spawn(3)
    key_seed = int(public_rng.integers(0, 2**63 - 1))
    public = PublicParams(schedule, d, eps, eta, key_seed, cache, dict(options or {}), additive)
    family = public.key_family()
    if instance is None:
        instance = make_instance(schedule.cached_tokens, d, instance_rng,
                                 num_queries=num_queries)
    message = alice_message(instance.bits, public, cache_rng)
    tokens = instance.query_tokens()
    z = bob.outputs(message, public, tokens)
    decoded = decode_bits(z, public.tau)
    truth = instance.bits[tokens]
    if instance.queries is None:
        wrong = int(np.count_nonzero(decoded != truth))
        n_bits = instance.n_bits
    else:
        flat_rows = np.searchsorted(tokens, instance.queries // d)
        cols = instance.queries % d
        wrong = int(np.count_nonzero(decoded[flat_rows, cols] != truth[flat_rows, cols]))
        n_bits = int(instance.queries.size)
    if observe is not None:
        observe(public, z, truth)
    message_bits = 8 * len(message)
    lcb = information_bits_lower_confidence(wrong, n_bits, LEAK_ALPHA)
    return SeedResult(
        seed=seed,
        key_seed=key_seed,
        n_bits=n_bits,
        message_bits=message_bits,
        bit_errors=wrong,
        error_rate=wrong / n_bits,
        max_inner_product=family.max_inner_product,
        key_rounds=family.rounds,
        decoding_margin=decoding_margin(z, truth, public.tau),
        information_bits=information_bits(n_bits, wrong / n_bits),
        information_bits_lcb=lcb,
        leak=message_bits < lcb,
    )


def run_verification(
    schedule: Schedule,
    d: int,
    eps: float,
    eta: float,
    seeds: int | Iterable[int] = 1,
    *,
    cache: str = "exact",
    options: Mapping[str, Any] | None = None,
    additive: bool = False,
    isolation: str = "process",
    progress: Callable[[int, int, SeedResult], None] | None = None,
    num_queries: int | None = None,
    observe: Callable[[PublicParams, np.ndarray, np.ndarray], None] | None = None,
    workers: int = 1,
) -> VerifyResult:
    """Run the protocol on several seeds (``seeds=K`` means seeds 0..K-1).

    ``isolation="process"`` (default) runs Bob in a separate Python process that receives
    only the message bytes and the public parameters; ``"inline"`` runs the same Bob
    function here (faster; for tests). ``workers`` threads share Bob's passes; the
    result is bit-identical for every ``workers``.
    """
    check_workers(workers)
    seed_list = list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(
        seeds, int) else [check_int_at_least(s, "seed", 0) for s in seeds]
    if not seed_list:
        raise ValueError("no seeds given; pass seeds >= 1 or a non-empty list")
    if isolation not in ("process", "inline"):
        raise ValueError(f"isolation={isolation!r}; choose 'process' or 'inline'")
    # Validate everything public before any work, so bad input fails fast.
    _ = PublicParams(schedule, d, eps, eta, 0, cache, dict(options or {}), additive).cache_params
    runs: list[SeedResult] = []
    if isolation == "process":
        from reduction.bob import BobProcess

        with BobProcess(workers=workers) as bob:
            for i, s in enumerate(seed_list):
                runs.append(run_seed(schedule, d, eps, eta, s, bob, cache=cache,
                                     options=options, additive=additive,
                                     num_queries=num_queries, observe=observe))
                if progress:
                    progress(i + 1, len(seed_list), runs[-1])
    else:
        inline = _InlineBob(workers)
        for i, s in enumerate(seed_list):
            runs.append(run_seed(schedule, d, eps, eta, s, inline, cache=cache,
                                 options=options, additive=additive,
                                 num_queries=num_queries, observe=observe))
            if progress:
                progress(i + 1, len(seed_list), runs[-1])
    public = PublicParams(schedule, d, eps, eta, runs[0].key_seed, cache, dict(options or {}),
                          additive)
    return VerifyResult(public, tuple(runs))
