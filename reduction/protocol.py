"""The one-way protocol of the reduction, run and verified: Alice -> bytes -> Bob.

Purpose: docs/theorem.md#reduction. Public coins: the key family (from ``key_seed``).
Alice (reduction.parties, in her own worker process) streams scales 1..K-1 into a cache
and her state after each scale comes back as bytes; the last state is the message.
Bob (in another process) rebuilds the cache from the message and the public parameters
alone and answers ceil(L/T_K) passes of queries C*k_i; the verifier thresholds at tau.
The memory measured is the largest state over the scale boundaries, in bits
(docs/theorem.md#mem), counted here, from the bytes received.

Main statement: with C = C_min(L, T_K, eps, eta) and an (eta, delta)-correct cache, Bob
recovers every bit with error <= delta, so the memory is >= (1 - H2(delta)) * N bits
(docs/theorem.md#thm via Lemmas L1-L4). Every run checks the contrapositive, exactly
(docs/theorem.md#feasible, #fano): the message Bob received has >= N(1 - H2(p)) bits for
the observed error rate p, whatever p is (never clamped), up to a confidence allowance;
otherwise the cache keeps state outside its bytes, and the run reports a leak.

References: arXiv 2503.14881 (VAR); Haris & Onak, COLT 2025 (arXiv 2502.15955).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from lowerbound.bound import index_lower_bound_bits
from lowerbound.fano import fano_information_bits, fano_information_lower_confidence
from lowerbound.precision import multilevel_bound_bits
from lowerbound.validation import check_int_at_least
from reduction.decode import decode_symbols, symbol_margin
from reduction.instance import IndexInstance, make_instance
from reduction.isolation import DEFAULT_TIMEOUT, InlineParties, ProcessParties
from reduction.public import SIMULATION_GAMMA_FRACTION, PublicParams, is_registered_cache
from reduction.schedule import Schedule

__all__ = [
    "PublicParams",
    "Parties",
    "SeedResult",
    "VerifyResult",
    "open_parties",
    "run_seed",
    "run_verification",
    "LEAK_ALPHA",
    "SIMULATION_GAMMA_FRACTION",
]

LEAK_ALPHA = 1e-6  # each one-sided end of the error-rate interval of the leak check


class Parties(Protocol):
    """Alice and Bob as the verifier reaches them (reduction.isolation)."""

    def check(self, public: PublicParams) -> None: ...

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]: ...

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray: ...

    def close(self) -> None: ...


def open_parties(isolation: str = "process", timeout: float = DEFAULT_TIMEOUT) -> Any:
    """``ProcessParties`` (two worker processes) or ``InlineParties`` (registered caches)."""
    if isolation == "process":
        return ProcessParties(timeout)
    if isolation == "inline":
        return InlineParties()
    raise ValueError(f"isolation={isolation!r}; choose 'process' or 'inline'")
@dataclass(frozen=True)
class SeedResult:
    """One run of the protocol on one seed."""

    seed: int
    key_seed: int
    n_bits: int
    n_symbols: int
    bits_per_symbol: int
    symbol_errors: int
    instance_bits: int
    message_bits: int
    memory_bits: int
    boundary_bits: tuple[int, ...]
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
        """The memory: the largest state over every scale boundary and seed (#mem)."""
        return max(r.memory_bits for r in self.runs)

    @property
    def error_rate(self) -> float:
        """Observed symbol error rate p over all seeds (bits when b = 1)."""
        return sum(r.symbol_errors for r in self.runs) / sum(r.n_symbols for r in self.runs)

    @property
    def bits_checked(self) -> int:
        return sum(r.n_bits for r in self.runs)

    @property
    def bit_errors(self) -> int:
        return sum(r.bit_errors for r in self.runs)

    @property
    def n_bits(self) -> int:
        """N = L * d, Alice's bits (Multi-Index checks fewer, the bound is on all N)."""
        return self.runs[0].instance_bits

    @property
    def lower_bound_bits(self) -> float:
        """(1 - H2(0)) * N: the memory any zero-error cache must reach (L4). Alice does
        not know Bob's Multi-Index indices, so it stays N (docs/theorem.md#multi)."""
        if self.public.bits_per_value is None:
            return index_lower_bound_bits(self.n_bits, 0)
        return multilevel_bound_bits(self.n_bits // self.public.symbol_bits,
                                     self.public.symbol_bits, 0)

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
            "cache_options": (dict(self.public.cache_params.options)
                              if is_registered_cache(self.public.cache)
                              else dict(self.public.options)),
            "cached_tokens": s.cached_tokens,
            "last_scale_tokens": s.last_scale_tokens,
            "passes": math.ceil(s.cached_tokens / s.last_scale_tokens),
            "instance_bits": self.n_bits,
            "message_bits": self.message_bits,
            "boundary_bits_max": [max(b) for b in zip(*(r.boundary_bits for r in self.runs))],
            "bit_errors": self.bit_errors,
            "bits_decoded": self.bits_checked,
            "error_rate": self.error_rate,
            "information_bits": min(r.information_bits for r in self.runs),
            "lower_bound_bits": self.lower_bound_bits,
            "C": self.public.scale,
            "C_min": self.public.c_min,
            "C_rule": "least C with gamma(C) < SIMULATION_GAMMA_FRACTION * (1 - eta)/(1 + eta)"
                      f" (fraction {SIMULATION_GAMMA_FRACTION}); C_min uses fraction 1",
            "gamma": self.public.gamma,
            "tau": self.public.tau if self.public.bits_per_value is None else None,
            "bits_per_value": self.public.bits_per_value,
            "thresholds": list(self.public.thresholds),
            "symbol_errors": sum(r.symbol_errors for r in self.runs),
            "eps": float(self.public.eps),
            "eta": float(self.public.eta),
            "additive": self.public.additive,
            "max_inner_product": max(r.max_inner_product for r in self.runs),
            "seeds": [r.seed for r in self.runs],
            "bound_respected": self.bound_respected,
            "runs": [asdict(r) for r in self.runs],
        }


def run_seed(
    schedule: Schedule,
    d: int,
    eps: float,
    eta: float,
    seed: int,
    parties: Parties,
    *,
    cache: str = "exact",
    options: Mapping[str, Any] | None = None,
    additive: bool = False,
    instance: IndexInstance | None = None,
    num_queries: int | None = None,
    observe: Callable[[PublicParams, np.ndarray, np.ndarray], None] | None = None,
    bits_per_value: int | None = None,
) -> SeedResult:
    """One seed: rng -> (instance, public keys, cache coins) -> states -> Bob -> bits.

    ``parties`` reaches Alice and Bob (:func:`open_parties`). ``num_queries`` makes a
    Multi-Index instance (Bob is asked for that many random bits); ``observe(public,
    outputs, truth)`` receives Bob's raw outputs (for figures).
    """
    seed = check_int_at_least(seed, "seed", 0)
    instance_rng, public_rng, cache_rng = np.random.default_rng(seed).spawn(3)
    key_seed = int(public_rng.integers(0, 2**63 - 1))
    cache_seed = int(cache_rng.integers(0, 2**63 - 1))
    public = PublicParams(schedule, d, eps, eta, key_seed, cache, dict(options or {}), additive,
                          bits_per_value)
    family = public.key_family()
    if instance is None:
        instance = make_instance(schedule.cached_tokens, d, instance_rng,
                                 num_queries=num_queries, bits_per_value=public.symbol_bits)
    if instance.bits_per_value != public.symbol_bits:
        raise ValueError(f"the instance has {instance.bits_per_value} bits per value, the "
                         f"public parameters {public.symbol_bits}")
    states = parties.alice_states(instance.bits, public, cache_seed)
    if not states or any(type(s) is not bytes for s in states):
        raise ValueError("Alice's states must be a non-empty list of bytes")
    message = states[-1]
    tokens = instance.query_tokens()
    z = np.asarray(parties.bob_outputs(message, public, tokens), dtype=np.float64)
    if z.shape != (tokens.size, d):
        raise ValueError(f"Bob's outputs have shape {z.shape}, expected ({tokens.size}, {d})")
    thresholds = public.thresholds
    decoded = decode_symbols(z, thresholds)
    truth = instance.bits[tokens].astype(np.uint16)
    if instance.queries is None:
        got, want = decoded, truth
    else:
        flat_rows = np.searchsorted(tokens, instance.queries // d)
        cols = instance.queries % d
        got, want = decoded[flat_rows, cols], truth[flat_rows, cols]
    b = public.symbol_bits
    wrong = int(np.count_nonzero(got != want))
    n_symbols = int(want.size)
    wrong_bits = int(np.unpackbits((got ^ want).astype(">u2").view(np.uint8)).sum())
    if observe is not None:
        observe(public, z, truth)
    boundary_bits = tuple(8 * len(s) for s in states)
    message_bits = boundary_bits[-1]
    lcb = fano_information_lower_confidence(wrong, n_symbols, b, LEAK_ALPHA)
    return SeedResult(
        seed=seed,
        key_seed=key_seed,
        n_bits=n_symbols * b,
        n_symbols=n_symbols,
        bits_per_symbol=b,
        symbol_errors=wrong,
        instance_bits=instance.n_bits,
        message_bits=message_bits,
        memory_bits=max(boundary_bits),
        boundary_bits=boundary_bits,
        bit_errors=wrong_bits,
        error_rate=wrong / n_symbols,
        max_inner_product=family.max_inner_product,
        key_rounds=family.rounds,
        decoding_margin=symbol_margin(z, truth, thresholds),
        information_bits=fano_information_bits(n_symbols, wrong / n_symbols, b),
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
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int, SeedResult], None] | None = None,
    num_queries: int | None = None,
    observe: Callable[[PublicParams, np.ndarray, np.ndarray], None] | None = None,
    bits_per_value: int | None = None,
) -> VerifyResult:
    """Run the protocol on several seeds (``seeds=K`` means seeds 0..K-1).

    ``isolation="process"`` (default) runs Alice and Bob in two worker processes that
    receive only frames of public parameters, her bits and the message bytes; this
    process never imports a third-party cache. ``"inline"`` runs the same functions here
    (faster; registered caches only, for tests).
    """
    seed_list = list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(
        seeds, int) else [check_int_at_least(s, "seed", 0) for s in seeds]
    if not seed_list:
        raise ValueError("no seeds given; pass seeds >= 1 or a non-empty list")
    probe = PublicParams(schedule, d, eps, eta, 0, cache, dict(options or {}), additive,
                         bits_per_value)
    runs: list[SeedResult] = []
    with open_parties(isolation, timeout) as parties:
        if is_registered_cache(cache):
            probe.cache_params  # noqa: B018  (validates the options before any work)
        else:
            parties.check(probe)  # resolved in a worker, never here
        for i, s in enumerate(seed_list):
            runs.append(run_seed(schedule, d, eps, eta, s, parties, cache=cache,
                                 options=options, additive=additive,
                                 num_queries=num_queries, observe=observe,
                                 bits_per_value=bits_per_value))
            if progress:
                progress(i + 1, len(seed_list), runs[-1])
    public = PublicParams(schedule, d, eps, eta, runs[0].key_seed, cache, dict(options or {}),
                          additive, bits_per_value)
    return VerifyResult(public, tuple(runs))
