"""Run a sparsity variant's reduction on registered caches, in this process.

Purpose: the shared runner of the variants S1-S4 (docs/theorem.md#s1 ... #s4). A variant
builds a :class:`VariantInstance` (Alice's keys and values for scales 1..K-1, the token
each of Bob's query rows aims at, Bob's query scale C and the decoder); the runner then
does what the protocol of section 3 does, on the cache classes directly:

    Alice: Cls(params, rng), stream scales 1..K-1 (zero queries), message = to_bytes()
    Bob:   ceil(n / T_K) passes, each from Cls.from_bytes(message, params): queries
           C k_i (zero rows elsewhere), zero keys and values; decode the output rows

and returns a :class:`CacheRun`: message bits (8 len(message); the message must be a
plain ``bytes`` object, ``type(m) is bytes``, else the run fails; a bytes subclass could
carry state outside its length), the memory (the largest state over every scale boundary,
docs/theorem.md#mem; for information, the verdicts use the message), bit and symbol errors,
and the leak check at the observed symbol error rate p (docs/theorem.md#fano, #feasible):
message bits >= n (b - H2(p) - p log2(2^b - 1)) for every p in [0, 1], b the bits per
symbol (1 for the binary variants, where it is N (1 - H2(p)); a token's b bits for S2).

Main statement: a cache on the feasible side of the variant's Fano bound cannot hold less
than what Bob decoded; the matching cache of each variant decodes every bit with
message bits <= 1.3 * bound + n ceil(log2(L + 1)) + 256, n the tokens carrying bits
(:func:`match_allowance_bits`: the O(L log L) of the tightness claim, stated).

Only registered caches run here (by name); a cache whose own checks refuse the variant's
input (a ValueError on Alice's side, e.g. the packer on keys that repeat) is *skipped*
with that reason; anything that goes wrong on Bob's side is a *failure*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from caches import CACHES, cache_names
from lowerbound.sparsity import certified_fano_bits
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.parties import CacheContractError, bob_pass, stream_states
from reduction.schedule import Schedule

__all__ = [
    "MATCH_FACTOR",
    "MATCH_CONSTANT_BITS",
    "ATTACK_BUDGET",
    "VariantInstance",
    "CacheRun",
    "VariantReport",
    "match_allowance_bits",
    "run_cache",
    "score",
    "attack_suite",
    "bob_rows",
]

MATCH_FACTOR = Fraction(13, 10)
MATCH_CONSTANT_BITS = 256
ATTACK_BUDGET = 0.5  # the kept fraction given to budgeted caches in the attack suite


def match_allowance_bits(carriers: int, cached_tokens: int) -> int:
    """The O(L log L) slack: n ceil(log2(L + 1)) + 256 bits (routing, framing, padding).

    >>> match_allowance_bits(424, 424)
    4072
    """
    return carriers * math.ceil(math.log2(cached_tokens + 1)) + MATCH_CONSTANT_BITS


@dataclass(frozen=True, eq=False)
class VariantInstance:
    """One variant instance: Alice's input, Bob's targets, and how to decode and score.

    ``truth`` holds the bits Bob must recover, one row per query row; ``decode`` maps
    Bob's output rows (n, d) to bits of the same shape as ``truth``; a Fano symbol is
    ``symbol_bits`` consecutive bits of a row (1: every bit is a symbol). Alice's query
    for token j is ``alice_scale * k_j`` (0: zero queries, as in section 3); with
    ``fill_unused`` Bob's unused query rows repeat the pass's first row instead of being 0
    (S1: then every attention row of the run is concentrated, docs/theorem.md#s1).
    """

    variant: str
    schedule: Schedule
    d: int
    keys: np.ndarray
    values: np.ndarray
    bob_tokens: np.ndarray
    scale: float
    truth: np.ndarray
    symbol_bits: int
    decode: Callable[[np.ndarray], np.ndarray]
    bound_bits: Fraction
    gamma: float = 0.0
    alice_scale: float = 0.0
    fill_unused: bool = False

    @property
    def carriers(self) -> int:
        """Tokens whose rows Bob reads (they carry the bits)."""
        return int(self.bob_tokens.size)

    @property
    def n_bits(self) -> int:
        return int(self.truth.size)


@dataclass(frozen=True)
class CacheRun:
    """One cache on one variant instance (JSON-ready through :meth:`to_json`)."""

    cache: str
    options: dict[str, Any]
    status: Literal["ok", "skipped", "failed"]
    reason: str | None = None
    message_bits: int | None = None
    n_bits: int = 0
    bit_errors: int | None = None
    n_symbols: int = 0
    symbol_errors: int | None = None
    symbol_error_rate: float | None = None
    information_bits: float | None = None
    feasible: bool | None = None
    within_match: bool | None = None
    memory_bits: int | None = None

    @property
    def decoded_all(self) -> bool:
        return self.status == "ok" and self.bit_errors == 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VariantReport:
    """A variant run end to end: bound, matching cache, attack suite, measurements."""

    variant: str
    title: str
    parameters: dict[str, Any]
    bound_bits: Fraction
    bound_formula: str
    matching: CacheRun
    attack: tuple[CacheRun, ...]
    measurements: dict[str, Any]
    practice: dict[str, Any]
    checks: dict[str, bool] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sweep: tuple[dict[str, Any], ...] = ()

    @property
    def leaks(self) -> list[CacheRun]:
        """Runs on the infeasible side of the variant's bound (the harness leaks)."""
        return [r for r in (self.matching, *self.attack) if r.feasible is False]

    @property
    def failures(self) -> list[CacheRun]:
        return [r for r in (self.matching, *self.attack) if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """Matching cache exact and within 1.3x + allowance, no leak, no failure, checks hold."""
        return (self.matching.decoded_all and bool(self.matching.within_match)
                and not self.leaks and not self.failures and all(self.checks.values()))

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "title": self.title,
            "parameters": self.parameters,
            "bound_bits": float(self.bound_bits),
            "bound_bits_exact": str(self.bound_bits),
            "bound_formula": self.bound_formula,
            "match_rule": f"message_bits <= {MATCH_FACTOR} * bound + n * ceil(log2(L + 1)) "
                          f"+ {MATCH_CONSTANT_BITS}",
            "matching": self.matching.to_json(),
            "attack": [r.to_json() for r in self.attack],
            "measurements": self.measurements,
            "practice": self.practice,
            "checks": self.checks,
            "notes": list(self.notes),
            "sweep": list(self.sweep),
            "ok": self.ok,
        }


def bob_rows(cls: Any, message: bytes, params: CacheParams, inst: VariantInstance,
             name: str = "cache") -> np.ndarray:
    """Bob's output rows for ``inst.bob_tokens``, each pass from the bytes alone."""
    t_last, d = inst.schedule.last_scale_tokens, inst.d
    out = np.empty((inst.carriers, d))
    for start in range(0, inst.carriers, t_last):
        batch = inst.bob_tokens[start : start + t_last]
        queries = np.zeros((t_last, d))
        queries[: batch.size] = inst.scale * inst.keys[batch]
        if inst.fill_unused and batch.size:
            queries[batch.size :] = queries[0]
        z = bob_pass(cls, message, params, queries, name)
        out[start : start + batch.size] = z[: batch.size]
    return out


def _alice(cls: Any, params: CacheParams, inst: VariantInstance,
           rng: np.random.Generator, name: str) -> tuple[bytes, int]:
    """(the state after scale K-1, the largest state in bits over every boundary)."""
    cache = cls(params, rng)
    blocks = ((inst.alice_scale * inst.keys[start:stop], inst.keys[start:stop],
               inst.values[start:stop]) for start, stop in inst.schedule.block_bounds[:-1])
    states = stream_states(cache, blocks, name)
    return (states[-1] if states else b""), max((8 * len(s) for s in states), default=0)


def run_cache(
    inst: VariantInstance,
    name: str,
    options: Mapping[str, Any] | None = None,
    rng: np.random.Generator | int | None = None,
) -> CacheRun:
    """Alice -> bytes -> Bob for the registered cache ``name`` on ``inst``."""
    if name not in CACHES:
        raise InvalidArgument(f"unknown cache {name!r}: the variants run registered caches only "
                         f"({', '.join(cache_names())})")
    entry = CACHES[name]
    given = dict(options or {})
    try:  # an entry that needs the protocol's eta/tau (an adversary) is refused here too
        params = CacheParams(inst.d, inst.schedule, entry.merged_options(name, given))
        message, memory_bits = _alice(entry.cls, params, inst, np.random.default_rng(rng), name)
    except CacheContractError as exc:
        return CacheRun(name, given, "failed", str(exc))
    except ValueError as exc:
        return CacheRun(name, given, "skipped", f"does not apply: {exc}")
    try:
        z = (bob_rows(entry.cls, message, params, inst, name) if inst.carriers
             else np.zeros((0, inst.d)))
        decoded = np.asarray(inst.decode(z), dtype=np.uint8)
    except Exception as exc:  # Bob's side must not fail: report it, do not hide it
        return CacheRun(name, given, "failed", f"Bob's side: {type(exc).__name__}: {exc}")
    return replace(score(inst, name, given, 8 * len(message), decoded), memory_bits=memory_bits)


def score(inst: VariantInstance, name: str, options: dict[str, Any], message_bits: int,
          decoded: np.ndarray) -> CacheRun:
    """Errors, the Fano information at the observed symbol error rate, and the verdicts."""
    wrong = decoded != inst.truth
    b = inst.symbol_bits
    n_symbols = inst.n_bits // b
    symbol_wrong = wrong.reshape(n_symbols, b).any(axis=1) if n_symbols else np.zeros(0, bool)
    sym_errors = int(symbol_wrong.sum())
    p = Fraction(sym_errors, n_symbols) if n_symbols else Fraction(0)
    info = certified_fano_bits(n_symbols, p, b)
    allowance = match_allowance_bits(inst.carriers, inst.schedule.cached_tokens)
    return CacheRun(
        cache=name, options=options, status="ok", message_bits=message_bits,
        n_bits=inst.n_bits, bit_errors=int(wrong.sum()), n_symbols=n_symbols,
        symbol_errors=sym_errors, symbol_error_rate=float(p), information_bits=float(info),
        feasible=message_bits >= info,
        within_match=message_bits <= MATCH_FACTOR * inst.bound_bits + allowance,
    )


def attack_suite(
    inst: VariantInstance,
    rng: np.random.Generator | int | None = None,
    names: Iterable[str] | None = None,
) -> tuple[CacheRun, ...]:
    """Every registered compressor (or ``names``) on ``inst`` with its registered options;
    budgeted caches keep :data:`ATTACK_BUDGET` of the cached tokens. As in ``kvbound
    attack``, the adversaries of the decoding (``CacheEntry.adversary``) are left out."""
    chosen = ([n for n in cache_names() if not CACHES[n].adversary] if names is None
              else list(names))
    rngs = np.random.default_rng(rng).spawn(len(chosen))
    runs = []
    for name, cache_rng in zip(chosen, rngs):
        if name not in CACHES:
            raise InvalidArgument(f"unknown cache {name!r}; registered: {', '.join(cache_names())}")
        options = {"budget": ATTACK_BUDGET} if CACHES[name].budgeted else {}
        runs.append(run_cache(inst, name, options, cache_rng))
    return tuple(runs)
