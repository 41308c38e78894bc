"""The public parameters of one run: everything both parties know before Alice speaks.

Purpose: the public coins and constants of the reduction (docs/theorem.md#reduction):
the schedule, d, eps, eta, the seed of the public key family, the cache's name and
options. They cross every process boundary as JSON scalars; nothing derived from
Alice's bits is among them. From them follow Bob's query scale C and threshold tau
(Lemmas L2, L3: docs/theorem.md#l2, #l3) and the key family (Lemma L1, #l1).

Three optional fields leave the theorem's regime (variants): ``carriers`` = L'
runs the low-dimension variant (docs/theorem.md#c1, #unused): only the first L' cached
tokens carry bits, with the keys of a witnessed family (docs/theorem.md#witness), and the
other L - L' get zero keys and zero values, which enter gamma like the last scale's zero
keys; ``logit_cap`` = B requires every logit Bob's queries create to lie in [-B, B], i.e.
C <= B (docs/theorem.md#cap); ``var_head`` runs the released VAR head (q, k L2-normalised,
scale clamped at 100; docs/theorem.md#var-head), which implies B <= 100.

Resolving the cache (``cache_params``) imports the cache's code: the verifier does this
only for registered caches; a third-party ``module:Class`` is resolved only inside the
parties' worker processes (reduction.isolation.worker).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.decoding import tau as decoding_tau
from lowerbound.jl import d_min
from lowerbound.precision import eta_limit, level_gamma_target, level_thresholds
from lowerbound.softmax import gamma, gamma_target, scale_for_gamma
from lowerbound.validation import (
    InvalidArgument,
    check_finite_positive,
    check_int_at_least,
    check_interval,
)
from reduction import cachespec
from reduction.cache import CacheParams
from reduction.instance import MAX_BITS_PER_VALUE
from reduction.keys import KeyFamily, replay_keys, sample_keys
from reduction.schedule import Schedule
from reduction.var_head import VAR_MAX_SCALE, clamped_scale, l2_normalise
from reduction.witnessed import witnessed_prefix

__all__ = ["PublicParams", "SIMULATION_GAMMA_FRACTION", "SIMULATION_CAP_FRACTION", "run_cap",
           "decoding_gamma_target", "is_registered_cache"]

# The simulation runs Bob's queries at the C that makes gamma at most half of what Lemma
# L3 admits (gamma < (1 - eta) / (2 (1 + eta))), not at C_min itself: at C_min the two
# decoding ranges touch in the limit, and floating-point rounding (or float16 storage)
# would sit on the boundary. Both C's are reported (docs/theorem.md#subtleties).
SIMULATION_GAMMA_FRACTION = Fraction(1, 2)

# Under a logit cap B Bob always runs at C <= B' = B (1 - 2^-9) (the knife-edge rule):
# keys (and queries) stored at float16 round by <= 2^-11 relative per coordinate, so a
# logit a cache computes is at most C (1 + 2^-11)^2 (1 + d 2^-24) < B. The run is planned
# against B' (reduction.regime), so C_min <= B' always; parameters with C_min in (B', B]
# are refused rather than run at a C the rule does not protect (docs/theorem.md#cap).
SIMULATION_CAP_FRACTION = Fraction(511, 512)


def run_cap(cap: float) -> float:
    """B' = B (1 - 2^-9), a double: the cap the run plans against and keeps C below.

    >>> run_cap(100.0)
    99.8046875
    """
    return float(cap) * float(SIMULATION_CAP_FRACTION)


def is_registered_cache(spec: str) -> bool:
    """True for a registered cache name (our code), False for ``module:Class``."""
    return cachespec.is_registered(spec.strip())


@dataclass(frozen=True)
class PublicParams:
    """Everything both parties know before Alice speaks (all JSON scalars).

    ``eta`` is the entrywise error the decoding is designed to tolerate (relative, or
    additive with ``additive=True``); C and tau follow from it (Lemma L3). ``carriers``,
    ``logit_cap`` and ``var_head``: see the module docstring (None, None, False is the
    theorem's reduction). ``bits_per_value`` None is the one-bit reduction (values in
    {0, 1}, threshold tau); an integer b >= 1 is the precision construction of
    docs/theorem.md#prec: values m 2^-b, m < 2^b, decoded with Lemma PREC's 2^b - 1
    thresholds.
    """

    schedule: Schedule
    d: int
    eps: float
    eta: float
    key_seed: int
    cache: str = "exact"
    options: Mapping[str, Any] = field(default_factory=dict)
    additive: bool = False
    carriers: int | None = None
    logit_cap: float | None = None
    var_head: bool = False
    bits_per_value: int | None = None
    at_c_min: bool = False
    delta: float = 0.0
    key_repairs: tuple[tuple[int, ...], ...] | None = None
    key_max_inner_product: float | None = None

    def __post_init__(self) -> None:
        check_int_at_least(self.d, "d", 1)
        check_interval(self.eps, "eps", 0, 1)
        if self.additive:
            check_interval(self.eta, "eta", 0, 0.5, closed_lower=True)
        else:
            check_interval(self.eta, "eta", 0, 1, closed_lower=True)
        check_int_at_least(self.key_seed, "key_seed", 0)
        check_interval(self.delta, "delta", 0, 0.5, closed_lower=True)
        if self.bits_per_value is not None:
            b = check_int_at_least(self.bits_per_value, "bits_per_value", 1)
            if b > MAX_BITS_PER_VALUE:
                raise InvalidArgument(f"bits_per_value={b} exceeds {MAX_BITS_PER_VALUE}")
            if self._gamma_bound() <= 0:
                raise InvalidArgument(
                    f"bits_per_value={b} levels cannot be told apart under eta={self.eta:g}"
                    f"{' (additive)' if self.additive else ''}: they need eta < "
                    f"{float(eta_limit(b, additive=self.additive)):.6g}; lower b or eta "
                    "(--bits-per-value auto picks the largest b that works)")
        n_keys = self.schedule.cached_tokens
        if self.carriers is None:
            need = d_min(n_keys, self.eps)
            if self.d < need:
                raise InvalidArgument(
                    f"L={n_keys} and eps={self.eps:g} need d >= {need}, got d={self.d}; raise "
                    "d or eps (the theorem's regime is d >= d_min), or give carriers=L' < L "
                    "(the low-dimension variant, reduction.regime)"
                )
        elif check_int_at_least(self.carriers, "carriers", 1) > n_keys:
            raise InvalidArgument(f"carriers={self.carriers} exceeds the L={n_keys} cached tokens")
        if self.logit_cap is not None:
            check_finite_positive(self.logit_cap, "logit_cap")
            if self.var_head and self.logit_cap > VAR_MAX_SCALE:
                raise InvalidArgument(
                    f"logit_cap={self.logit_cap:g} with var_head: the released VAR heads clamp "
                    f"their scale at {VAR_MAX_SCALE:g}; give a cap <= {VAR_MAX_SCALE:g}"
                )
        cap = self.effective_cap
        if cap is not None and self.c_min > run_cap(cap):
            raise InvalidArgument(
                f"L'={self.n_carriers} carrying tokens, T_K={self.schedule.last_scale_tokens} "
                f"and {self.zero_key_tokens} zero-key tokens at eps={self.eps:g}, "
                f"eta={self.eta:g} need C_min = {self.c_min:.6g} > B(1 - 2^-9) = "
                f"{run_cap(cap):.6g} for the logit cap B={cap:g} (the knife-edge rule keeps "
                "float16 logits inside [-B, B]); raise B, or lower eps or the number of "
                "carrying tokens (reduction.regime.plan_regime picks both)"
            )
        object.__setattr__(self, "options", dict(self.options))
        if (self.key_repairs is None) != (self.key_max_inner_product is None):
            raise InvalidArgument("a key certificate needs both key_repairs and "
                                  "key_max_inner_product")
        if self.key_repairs is not None:
            object.__setattr__(self, "key_repairs", _repairs(self.key_repairs))

    @property
    def levels(self) -> int:
        """How many values a coordinate takes: 2 (one bit) or 2^b."""
        return 2 if self.bits_per_value is None else 2**self.bits_per_value

    @property
    def symbol_bits(self) -> int:
        """Bits each value coordinate carries: 1, or b (docs/theorem.md#prec)."""
        return 1 if self.bits_per_value is None else self.bits_per_value

    def _value_bound(self) -> Fraction:
        return _top_level(self.symbol_bits)

    def _gamma_bound(self) -> Fraction:
        """The gamma decoding needs to stay below: L3's, or Lemma PREC's for 2^b levels."""
        return decoding_gamma_target(self.eta, self.additive, self.bits_per_value)

    def values(self, symbols: np.ndarray) -> np.ndarray:
        """Alice's value rows for her symbols: bits as 0/1, or levels m 2^-b (exact)."""
        x = np.asarray(symbols, dtype=np.float64)
        return x if self.bits_per_value is None else np.ldexp(x, -self.bits_per_value)

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Bob's thresholds at gamma(C): (tau,) (Lemma L3) or Lemma PREC's 2^b - 1."""
        if self.bits_per_value is None:
            return (self.tau,)
        return tuple(float(t) for t in level_thresholds(
            self.bits_per_value, Fraction(self.gamma), self.eta, additive=self.additive,
            value_bound=self._value_bound()))

    @property
    def n_carriers(self) -> int:
        """L': the cached tokens that carry bits (the first L'; all L by default)."""
        return self.schedule.cached_tokens if self.carriers is None else int(self.carriers)

    @property
    def zero_key_tokens(self) -> int:
        """L - L': cached tokens with zero keys and zero values (docs/theorem.md#unused)."""
        return self.schedule.cached_tokens - self.n_carriers

    @property
    def effective_cap(self) -> float | None:
        """The bound B on |logit|: ``logit_cap``, and at most 100 for a VAR head."""
        if self.var_head:
            return VAR_MAX_SCALE if self.logit_cap is None else float(self.logit_cap)
        return None if self.logit_cap is None else float(self.logit_cap)

    @property
    def cache_params(self) -> CacheParams:
        """The cache's public parameters, options merged over its defaults.

        Imports the cache's module: call it for a registered cache, or inside a party's
        worker process (never in the verifier for third-party code).
        """

        entry = cachespec.resolve(self.cache)
        protocol: dict[str, Any] = {}
        if entry.protocol:  # public quantities an adversary of the decoding reads
            if self.bits_per_value is not None and "tau" in entry.protocol:
                raise InvalidArgument(f"cache {self.cache!r} attacks the one-bit threshold tau; "
                                 "run it without --bits-per-value")
            protocol = {"eta": float(self.eta), "delta": float(self.delta),
                        "additive": self.additive, "bits_per_value": self.bits_per_value}
            if "tau" in entry.protocol:
                protocol["tau"] = self.tau
        merged = entry.merged_options(self.cache, self.options, protocol)
        return CacheParams(self.d, self.schedule, merged)

    def _scale_for(self, fraction: Fraction) -> float:
        """Least C with gamma(C) < fraction * the decoding bound: (1 - eta)/(1 + eta)
        (Lemmas L2, L3) or Lemma PREC's for 2^b levels; the zero-key tokens score 0 like
        the last scale's T_K (docs/theorem.md#unused)."""
        return _scale_cached(
            self.n_carriers,
            self.schedule.last_scale_tokens + self.zero_key_tokens,
            float(self.eps),
            self._gamma_bound() * fraction,
        )

    @property
    def c_min(self) -> float:
        """The theorem's C_min(L, T_K, eps, eta) (Lemma L3)."""
        return self._scale_for(Fraction(1))

    @property
    def scale(self) -> float:
        """Bob's query scale C: C_min itself with ``at_c_min`` (the theorem's worst case);
        else gamma(C) < SIMULATION_GAMMA_FRACTION * L3's bound, and under a cap B at most
        B' = :func:`run_cap` (B); C_min <= B' is checked on construction, so in every case
        C_min <= C <= B'."""
        if self.at_c_min:
            return self.c_min
        c = self._scale_for(SIMULATION_GAMMA_FRACTION)
        cap = self.effective_cap
        return c if cap is None else min(c, run_cap(cap))

    @property
    def gamma(self) -> float:
        """gamma at C (Lemma L2), the zero-key tokens included (docs/theorem.md#unused)."""
        return gamma(self.n_carriers, self.schedule.last_scale_tokens + self.zero_key_tokens,
                     self.scale, self.eps)

    @property
    def tau(self) -> float:
        """Decoding threshold at gamma(C) (Lemma L3; the one-bit reduction only)."""
        if self.bits_per_value is not None:
            raise InvalidArgument(
                "tau is the one-bit threshold; with bits_per_value use thresholds")
        return decoding_tau(self.gamma, self.eta, additive=self.additive)

    @property
    def max_abs_logit(self) -> float:
        """The largest |logit| Bob's queries form against the cached keys, in closed form:
        the query scale s (C, or for a VAR head its clamped scale). Every cached key is a
        unit sign vector or 0 and Bob's query for token i is s k_i, so |<s k_i, k_j>| <= s
        by Cauchy-Schwarz, with equality at j = i (docs/theorem.md#cap). No L x L pass."""
        if self.var_head:
            return clamped_scale(math.log(self.scale))
        return self.scale

    def key_family(self) -> KeyFamily:
        """The carriers' public keys, regenerated from ``key_seed``: sampled and repaired
        (Lemma L1), or with ``carriers`` the first L' of the witnessed search (#witness).
        With a key certificate (:meth:`with_key_certificate`, how the workers receive the
        family) the sampled family is replayed from its repair log, without the Gram pass
        the verifier already made."""
        if self.carriers is None:
            if self.key_repairs is not None and self.key_max_inner_product is not None:
                return _key_family_replayed(self.schedule.cached_tokens, self.d,
                                            float(self.eps), self.key_seed, self.key_repairs,
                                            float(self.key_max_inner_product))
            return _key_family_cached(self.schedule.cached_tokens, self.d, float(self.eps),
                                      self.key_seed)
        return witnessed_prefix(self.schedule.cached_tokens, self.d, float(self.eps),
                                self.key_seed, self.n_carriers)

    def with_key_certificate(self) -> PublicParams:
        """These parameters with the sampled family's certificate attached (its repair log
        and certified max inner product), so the parties replay the family instead of
        sampling and certifying it again. The verifier calls it once per seed; with
        ``carriers`` (a witnessed family, fixed for the whole run) nothing is attached."""
        if self.carriers is not None:
            return self
        family = self.key_family()
        # one key has no pair (-inf); -1, the least <k_i, k_j>, keeps the frame valid JSON
        return replace(self, key_repairs=family.repairs,
                       key_max_inner_product=max(family.max_inner_product, -1.0))

    def cached_keys(self) -> np.ndarray:
        """The L x d keys Alice's cache receives: k_i = sigma_i / sqrt(d) for the carriers
        (first L' rows), zero rows after; for a VAR head normalise(sigma_i), zeros kept."""
        signs = self.key_family().signs
        keys = np.zeros((self.schedule.cached_tokens, self.d))
        keys[: signs.shape[0]] = signs
        if self.var_head:
            return l2_normalise(keys)
        return np.divide(keys, np.sqrt(self.d), out=keys)  # sigma / sqrt(d), in place

    def bob_queries(self, tokens: np.ndarray) -> np.ndarray:
        """Bob's queries for carrying tokens: C * k_i, or for a VAR head
        clamped_scale(ln C) * normalise(sigma_i) (docs/theorem.md#var-head)."""
        signs = self.key_family().signs[np.asarray(tokens, dtype=np.int64)].astype(np.float64)
        if self.var_head:
            return clamped_scale(math.log(self.scale)) * l2_normalise(signs)
        np.multiply(signs, self.scale, out=signs)  # (C sigma) / sqrt(d), in place
        return np.divide(signs, np.sqrt(self.d), out=signs)

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
            "carriers": self.carriers,
            "logit_cap": None if self.logit_cap is None else float(self.logit_cap),
            "var_head": self.var_head,
            "bits_per_value": self.bits_per_value,
            "at_c_min": self.at_c_min,
            "delta": float(self.delta),
            "key_repairs": (None if self.key_repairs is None
                            else [list(r) for r in self.key_repairs]),
            "key_max_inner_product": self.key_max_inner_product,
        }

    @classmethod
    def from_json(cls, obj: Any) -> PublicParams:
        need = {"schedule", "d", "eps", "eta", "key_seed", "cache", "options", "additive"}
        if not isinstance(obj, dict) or not need <= obj.keys():
            raise InvalidArgument(f"public parameters must be an object with {sorted(need)}")
        carriers, cap = obj.get("carriers"), obj.get("logit_cap")
        return cls(
            schedule=Schedule.from_json(obj["schedule"]),
            d=int(obj["d"]),
            eps=float(obj["eps"]),
            eta=float(obj["eta"]),
            key_seed=int(obj["key_seed"]),
            cache=str(obj["cache"]),
            options=dict(obj["options"]),
            additive=bool(obj["additive"]),
            carriers=None if carriers is None else int(carriers),
            logit_cap=None if cap is None else float(cap),
            var_head=bool(obj.get("var_head", False)),
            bits_per_value=_optional_int(obj.get("bits_per_value")),
            at_c_min=bool(obj.get("at_c_min", False)),
            delta=float(obj.get("delta", 0.0)),
            key_repairs=_optional_repairs(obj.get("key_repairs")),
            key_max_inner_product=(None if obj.get("key_max_inner_product") is None
                                   else float(obj["key_max_inner_product"])),
        )


def _top_level(b: int) -> Fraction:
    return Fraction(2**b - 1, 2**b)


def decoding_gamma_target(eta: float, additive: bool = False,
                          bits_per_value: int | None = None) -> Fraction:
    """The gamma Bob's decoding needs to stay below (exact): Lemma L3's (1-eta)/(1+eta)
    (or its additive form) for the one-bit reduction; Lemma PREC's bound for 2^b levels,
    with every value at most the top level (2^b - 1)/2^b (docs/theorem.md#l3, #prec).

    >>> decoding_gamma_target(0.25), decoding_gamma_target(0, bits_per_value=2)
    (Fraction(3, 5), Fraction(1, 3))
    """
    if bits_per_value is None:
        return gamma_target(eta, additive=additive)
    return level_gamma_target(bits_per_value, eta, additive=additive,
                              value_bound=_top_level(bits_per_value))


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise InvalidArgument(f"bits_per_value must be null or an integer, got {value!r}")
    return value


def _repairs(value: Any) -> tuple[tuple[int, ...], ...]:
    """A repair log as a tuple of tuples of ints (each row index an int, not a bool)."""
    try:
        rounds = tuple(tuple(r) for r in value)
    except TypeError:
        raise InvalidArgument(f"key_repairs must be a list of lists of row indices, got "
                              f"{value!r:.80}") from None
    if any(type(i) is not int for r in rounds for i in r):
        raise InvalidArgument("key_repairs must hold integer row indices")
    return rounds


def _optional_repairs(value: Any) -> tuple[tuple[int, ...], ...] | None:
    return None if value is None else _repairs(value)


@functools.lru_cache(maxsize=8)
def _key_family_replayed(n_keys: int, d: int, eps: float, key_seed: int,
                         repairs: tuple[tuple[int, ...], ...],
                         max_inner: float) -> KeyFamily:
    family = replay_keys(n_keys, d, eps, np.random.default_rng(key_seed), repairs, max_inner)
    family.signs.setflags(write=False)
    return family


@functools.lru_cache(maxsize=8)
def _key_family_cached(n_keys: int, d: int, eps: float, key_seed: int) -> KeyFamily:
    family = sample_keys(n_keys, d, eps, np.random.default_rng(key_seed))
    family.signs.setflags(write=False)
    return family


@functools.lru_cache(maxsize=64)
def _scale_cached(n: int, t: int, eps: float, target: Fraction) -> float:
    return scale_for_gamma(n, t, eps, target)
