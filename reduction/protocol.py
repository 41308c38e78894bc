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
(docs/theorem.md#thm via Lemmas L1-L4). Every run checks the contrapositive with the
compression certificate of docs/theorem.md#certificate (reduction.leak): if a code fixed
before the run describes Alice's symbols given Bob's in fewer bits than N minus the message
and its allowance, on one seed or pooled over the seeds, the cache keeps state outside its
bytes and the run reports a leak (false-alarm probability at most LEAK_ALPHA, no model of
the errors). A leak outranks a failure on a later seed.

Below d_min, or when a logit cap B leaves too few tokens, the run is the C1 variant of
reduction.regime (docs/theorem.md#c1, #unused, #witness, #cap): the regime
is planned once, before any seed. Under a cap (or for a VAR head, #var-head) the verifier
recomputes the largest |logit| Bob's queries create from the public keys and checks it,
and Bob's own claim of the logits his cache computed, against B.

References: arXiv 2503.14881 (VAR); Haris & Onak, COLT 2025 (arXiv 2502.15955).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

import numpy as np

from lowerbound.bound import index_lower_bound_bits
from lowerbound.certificate import Certificate
from lowerbound.codes import SymbolPair
from lowerbound.fano import fano_information_bits
from lowerbound.precision import multilevel_bound_bits
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.decode import decode_symbols, symbol_margin
from reduction.heads import carrying_or_one, head_errors
from reduction.instance import IndexInstance, make_instance
from reduction.isolation.parties import DEFAULT_TIMEOUT, InlineParties, ProcessParties
from reduction.isolation.threads import check_workers
from reduction.leak import LEAK_ALPHA, LeakLedger
from reduction.public import SIMULATION_GAMMA_FRACTION, PublicParams, is_registered_cache
from reduction.regime import Regime, plan_regime, variant_json
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

class Parties(Protocol):
    """Alice and Bob as the verifier reaches them (reduction.isolation.parties)."""

    def check(self, public: PublicParams) -> None: ...

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]: ...

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray: ...

    def close(self) -> None: ...


def _bob(parties: Any, message: bytes, public: PublicParams,
         tokens: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Bob's outputs and his claimed largest |logit| (None from parties without a claim)."""
    answer = getattr(parties, "bob_answer", None)
    if answer is None:
        return np.asarray(parties.bob_outputs(message, public, tokens)), None
    got = answer(message, public, tokens)
    return np.asarray(got.outputs), got.max_abs_logit


def open_parties(isolation: str = "process", timeout: float = DEFAULT_TIMEOUT,
                 workers: int = 1, blas_threads: int | None = None, *,
                 sandbox: bool | None = None, max_message_bytes: int | None = None) -> Any:
    """``ProcessParties`` (sandboxed worker processes) or ``InlineParties`` (registered
    caches); ``workers`` threads share Bob's passes (his outputs do not depend on it);
    ``blas_threads`` limits the BLAS pool of the worker processes (None: their default);
    ``sandbox=False`` runs the workers unsandboxed (``--no-sandbox``), ``max_message_bytes``
    bounds Alice's states (reduction.isolation.parties)."""
    if isolation == "process":
        return ProcessParties(timeout, workers, blas_threads, sandbox=sandbox,
                              max_message_bytes=max_message_bytes)
    if isolation == "inline":
        return InlineParties(workers)
    raise InvalidArgument(f"isolation={isolation!r}; choose 'process' or 'inline'")


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
    certificate: Certificate
    carriers: int | None = None
    max_abs_logit: float | None = None
    max_abs_logit_recomputed: float | None = None
    logit_cap_respected: bool = True
    head_symbol_errors: tuple[int | None, ...] | None = None

    @property
    def leak(self) -> bool:
        """This seed's certificate (docs/theorem.md#certificate) found a leak."""
        return self.certificate.leak

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["certificate"] = self.certificate.to_json()
        out["leak"] = self.leak
        return out


@dataclass(frozen=True)
class VerifyResult:
    """Runs of the protocol over several seeds, with the theorem's numbers beside them.

    ``pooled`` is the certificate pooled over the seeds (two or more); ``failure`` the
    failure that cut the run short after a leak was certified (the leak outranks it).
    """

    public: PublicParams
    runs: tuple[SeedResult, ...]
    regime: Regime | None = None
    pooled: Certificate | None = None
    failure: str | None = None
    isolation: Mapping[str, Any] | None = None  # how the parties ran (sandbox, limits)

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
        """N = L' * d, Alice's bits (Multi-Index checks fewer, the bound is on all N)."""
        return min(r.instance_bits for r in self.runs)

    @property
    def instance_bits(self) -> int:
        """The bits of Alice's instance, N (``instance_bits`` of the JSON record)."""
        return self.n_bits

    @property
    def lower_bound_bits(self) -> float:
        """(1 - H2(0)) * N: the memory any zero-error cache must reach (L4). Alice does
        not know Bob's Multi-Index indices, so it stays N (docs/theorem.md#multi). With
        2^b levels, Lemma PREC's L' d b (docs/theorem.md#prec)."""
        delta = self.public.delta  # 0 unless the run names the delta it tolerates
        if self.public.bits_per_value is None:
            return index_lower_bound_bits(self.n_bits, delta)
        return multilevel_bound_bits(self.n_bits // self.public.symbol_bits,
                                     self.public.symbol_bits, delta)

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        """Every test of the run: one per seed, then the pooled one."""
        pooled = () if self.pooled is None else (self.pooled,)
        return tuple(r.certificate for r in self.runs) + pooled

    @property
    def certificate(self) -> Certificate:
        """The decisive test: the one furthest under its threshold (the leak, if any)."""
        return max(self.certificates, key=lambda c: (c.leak, c.margin_bits))

    @property
    def leak(self) -> bool:
        return any(c.leak for c in self.certificates)

    @property
    def bound_respected(self) -> bool:
        return not self.leak

    @property
    def logit_cap_respected(self) -> bool:
        return all(r.logit_cap_respected for r in self.runs)

    def _variant_json(self) -> dict[str, Any]:
        """The regime (C1 counts and bounds) and the logit record."""
        return variant_json(self.regime, self.public, self.message_bits,
                            [(r.max_abs_logit, r.max_abs_logit_recomputed) for r in self.runs],
                            self.logit_cap_respected)

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
            "heads": self.public.heads,
            "layers": self.public.layers,
            "unused_heads": self.public.unused_heads,
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
            "C_rule": "C_min itself (--at-c-min)" if self.public.at_c_min else
                      "least C with gamma(C) < SIMULATION_GAMMA_FRACTION * (1 - eta)/(1 + eta)"
                      f" (fraction {SIMULATION_GAMMA_FRACTION}); C_min uses fraction 1",
            "at_c_min": self.public.at_c_min,
            "delta": float(self.public.delta),
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
            "leak_alpha": self.certificate.alpha,
            "certificate": self.certificate.to_json(),
            "pooled_certificate": None if self.pooled is None else self.pooled.to_json(),
            "failure_after_leak": self.failure,
            "sandbox": bool(self.isolation and self.isolation.get("sandbox")),
            "isolation": dict(self.isolation) if self.isolation is not None else None,
            "runs": [r.to_json() for r in self.runs],
            **self._variant_json(),
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
    logit_cap: float | None = None,
    var_head: bool = False,
    bits_per_value: int | None = None,
    at_c_min: bool = False,
    delta: float = 0.0,
    regime: Regime | None = None,
    heads: int = 1,
    layers: int = 1,
    unused_heads: int = 0,
    ledger: LeakLedger | None = None,
) -> SeedResult:
    """One seed: rng -> (instance, public keys, cache coins) -> states -> Bob -> bits.

    ``parties`` reaches Alice and Bob (:func:`open_parties`). ``num_queries`` makes a
    Multi-Index instance (Bob is asked for that many random bits); ``observe(public,
    outputs, truth)`` receives Bob's raw outputs (for figures). ``logit_cap`` and
    ``var_head``: see reduction.public; the regime (theorem or C1) is planned by
    reduction.regime.plan_regime, or given planned (``regime``: the verifier plans once
    for all its seeds). ``heads``, ``layers`` and ``unused_heads`` run D * H heads at
    once, U of them unused (docs/theorem.md#c2-run, #alloc; reduction.heads). ``ledger``
    holds the run's leak tests (default: a run of this one seed).
    """
    seed = check_int_at_least(seed, "seed", 0)
    instance_rng, public_rng, cache_rng = np.random.default_rng(seed).spawn(3)
    key_seed = int(public_rng.integers(0, 2**63 - 1))
    cache_seed = int(cache_rng.integers(0, 2**63 - 1))
    if regime is None:
        regime = plan_regime(schedule, d, eps, eta, additive=additive, logit_cap=logit_cap,
                             var_head=var_head, bits_per_value=bits_per_value)
    public = replace(regime.public(key_seed, cache, options), at_c_min=at_c_min, delta=delta,
                     heads=heads, layers=layers, unused_heads=unused_heads)
    key_seed = public.key_seed
    # sampled and certified once, here; the parties replay the one-head family
    families = [public.key_family(int(j)) for j in carrying_or_one(public)]
    public = public.with_key_certificate()
    if instance is None:
        instance = make_instance(public.bit_rows, d, instance_rng, num_queries=num_queries,
                                 bits_per_value=public.symbol_bits)
    if instance.bits_per_value != public.symbol_bits:
        raise InvalidArgument(f"the instance has {instance.bits_per_value} bits per value, the "
                         f"public parameters {public.symbol_bits}")
    states = parties.alice_states(instance.bits, public, cache_seed)
    if not states or any(type(s) is not bytes for s in states):
        raise InvalidArgument("Alice's states must be a non-empty list of bytes")
    message = states[-1]
    tokens = instance.query_tokens()
    z, claim = _bob(parties, message, public, tokens)
    z = np.asarray(z, dtype=np.float64)
    if z.shape != (tokens.size, d):
        raise InvalidArgument(f"Bob's outputs have shape {z.shape}, expected ({tokens.size}, {d})")
    thresholds = public.thresholds
    decoded = decode_symbols(z, thresholds)
    truth = instance.bits[tokens].astype(np.uint16)
    if instance.queries is None:
        got, want, rows = decoded, truth, None
    else:
        rows = np.searchsorted(tokens, instance.queries // d)
        cols = instance.queries % d
        got, want = decoded[rows, cols], truth[rows, cols]
    b = public.symbol_bits
    wrong = int(np.count_nonzero(got != want))
    n_symbols = int(want.size)
    wrong_bits = int(np.bitwise_count(got ^ want).sum())
    if observe is not None:
        observe(public, z, truth)
    boundary_bits = tuple(8 * len(s) for s in states)
    message_bits = boundary_bits[-1]
    ledger = LeakLedger() if ledger is None else ledger
    certificate = ledger.seed(seed, SymbolPair(want, got, b, rows), message_bits)
    cap = public.effective_cap
    # the largest |logit| Bob's queries create, in closed form, where a cap asks (#cap)
    recomputed = None if cap is None else public.max_abs_logit
    per_head = None
    if public.multi_head and instance.queries is None:
        per_head = head_errors(public, np.count_nonzero(got != want, axis=1))
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
        max_inner_product=max(f.max_inner_product for f in families),
        key_rounds=max(f.rounds for f in families),
        decoding_margin=symbol_margin(z, truth, thresholds),
        information_bits=fano_information_bits(n_symbols, wrong / n_symbols, b),
        certificate=certificate,
        carriers=public.carriers,
        max_abs_logit=claim,
        max_abs_logit_recomputed=recomputed,
        logit_cap_respected=cap is None or (recomputed is not None and recomputed <= cap
                                            and (claim is None or claim <= cap)),
        head_symbol_errors=per_head,
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
    logit_cap: float | None = None,
    var_head: bool = False,
    bits_per_value: int | None = None,
    at_c_min: bool = False,
    delta: float = 0.0,
    workers: int = 1,
    heads: int = 1,
    layers: int = 1,
    unused_heads: int = 0,
    sandbox: bool | None = None,
    max_message_bytes: int | None = None,
) -> VerifyResult:
    """Run the protocol on several seeds (``seeds=K`` means seeds 0..K-1).

    ``isolation="process"`` (default) runs Alice and Bob in two worker processes that
    receive only frames of public parameters, her bits and the message bytes; this
    process never imports a third-party cache. ``"inline"`` runs the same functions here
    (faster; registered caches only, for tests). Below d_min or under a logit cap the
    C1 variant runs (reduction.regime). ``workers`` threads share Bob's
    passes; the result is bit-identical for every ``workers``. ``heads``, ``layers``,
    ``unused_heads``: D * H heads at once (docs/theorem.md#c2-run, #alloc).
    ``sandbox`` and ``max_message_bytes``: see :func:`open_parties`; the record says how
    the parties ran.
    """
    check_workers(workers)
    seed_list = list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(
        seeds, int) else [check_int_at_least(s, "seed", 0) for s in seeds]
    if not seed_list:
        raise InvalidArgument("no seeds given; pass seeds >= 1 or a non-empty list")
    runs: list[SeedResult] = []
    ledger, failure = LeakLedger(len(seed_list)), None
    with open_parties(isolation, timeout, workers, sandbox=sandbox,
                      max_message_bytes=max_message_bytes) as parties:
        parties.plan(len(seed_list))
        parties.start()  # both workers start while the verifier plans and checks
        regime = plan_regime(schedule, d, eps, eta, additive=additive, logit_cap=logit_cap,
                             var_head=var_head, bits_per_value=bits_per_value)
        probe = replace(regime.public(0, cache, options), at_c_min=at_c_min, delta=delta,
                        heads=heads, layers=layers, unused_heads=unused_heads)
        if is_registered_cache(cache):
            probe.cache_params  # noqa: B018  (validates the options before any work)
        else:
            parties.check(probe)  # resolved in a worker, never here
        for i, s in enumerate(seed_list):
            try:
                runs.append(run_seed(schedule, d, eps, eta, s, parties, cache=cache,
                                     options=options, additive=additive,
                                     num_queries=num_queries, observe=observe,
                                     logit_cap=logit_cap, var_head=var_head,
                                     bits_per_value=bits_per_value, at_c_min=at_c_min,
                                     delta=delta, regime=regime, heads=heads, layers=layers,
                                     unused_heads=unused_heads, ledger=ledger))
            except Exception as exc:  # a certified leak outranks a later failure
                if not ledger.leak:
                    raise
                failure = f"seed {s}: {type(exc).__name__}: {exc}"
                break
            if progress:
                progress(i + 1, len(seed_list), runs[-1])
        isolation_record = parties.record(probe)
    # every worker is gone here (closing the parties returns once they are)
    public = replace(regime.public(runs[0].key_seed, cache, options), at_c_min=at_c_min,
                     delta=delta, heads=heads, layers=layers, unused_heads=unused_heads)
    return VerifyResult(public, tuple(runs), regime, ledger.pooled(), failure, isolation_record)
