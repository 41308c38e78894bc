"""The public parameters of one run: everything both parties know before Alice speaks.

Purpose: the public coins and constants of the reduction (docs/theorem.md#reduction):
the schedule, d, eps, eta, the seed of the public key family, the cache's name and
options. They cross every process boundary as JSON scalars; nothing derived from
Alice's bits is among them. From them follow Bob's query scale C and threshold tau
(Lemmas L2, L3: docs/theorem.md#l2, #l3) and the key family (Lemma L1, #l1).

Resolving the cache (``cache_params``) imports the cache's code: the verifier does this
only for registered caches; a third-party ``module:Class`` is resolved only inside the
parties' worker processes (reduction.worker).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.decoding import tau as decoding_tau
from lowerbound.jl import d_min
from lowerbound.precision import eta_limit, level_gamma_target, level_thresholds
from lowerbound.softmax import gamma, gamma_target, scale_for_gamma
from lowerbound.validation import check_int_at_least, check_interval
from reduction.cache import CacheParams
from reduction.instance import MAX_BITS_PER_VALUE
from reduction.keys import KeyFamily, sample_keys
from reduction.schedule import Schedule

__all__ = ["PublicParams", "SIMULATION_GAMMA_FRACTION", "is_registered_cache"]

# The simulation runs Bob's queries at the C that makes gamma at most half of what Lemma
# L3 admits (gamma < (1 - eta) / (2 (1 + eta))), not at C_min itself: at C_min the two
# decoding ranges touch in the limit, and floating-point rounding (or float16 storage)
# would sit on the boundary. Both C's are reported (docs/theorem.md#subtleties).
SIMULATION_GAMMA_FRACTION = Fraction(1, 2)


def is_registered_cache(spec: str) -> bool:
    """True for a registered cache name (our code), False for ``module:Class``."""
    from reduction.compressors import CACHES

    return spec.strip() in CACHES


@dataclass(frozen=True)
class PublicParams:
    """Everything both parties know before Alice speaks (all JSON scalars).

    ``eta`` is the entrywise error the decoding is designed to tolerate (relative, or
    additive with ``additive=True``); C and tau follow from it (Lemma L3).
    ``bits_per_value`` None is the one-bit reduction (values in {0, 1}, threshold tau);
    an integer b >= 1 is the precision construction of docs/theorem.md#prec: values
    m 2^-b, m < 2^b, decoded with the 2^b - 1 thresholds of Lemma PREC.
    """

    schedule: Schedule
    d: int
    eps: float
    eta: float
    key_seed: int
    cache: str = "exact"
    options: Mapping[str, Any] = field(default_factory=dict)
    additive: bool = False
    bits_per_value: int | None = None

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
        if self.bits_per_value is not None:
            b = check_int_at_least(self.bits_per_value, "bits_per_value", 1)
            if b > MAX_BITS_PER_VALUE:
                raise ValueError(f"bits_per_value={b} exceeds {MAX_BITS_PER_VALUE}")
            if self._gamma_bound() <= 0:
                raise ValueError(
                    f"bits_per_value={b} levels cannot be told apart under eta={self.eta:g}"
                    f"{' (additive)' if self.additive else ''}: they need eta < "
                    f"{float(eta_limit(b, additive=self.additive)):.6g}; lower b or eta "
                    "(--bits-per-value auto picks the largest b that works)")
        object.__setattr__(self, "options", dict(self.options))

    @property
    def levels(self) -> int:
        """How many values a coordinate takes: 2 (one bit) or 2^b."""
        return 2 if self.bits_per_value is None else 2**self.bits_per_value

    @property
    def symbol_bits(self) -> int:
        """Bits each value coordinate carries: 1, or b (docs/theorem.md#prec)."""
        return 1 if self.bits_per_value is None else self.bits_per_value

    def _value_bound(self) -> Fraction:
        b = self.symbol_bits
        return Fraction(2**b - 1, 2**b)

    def _gamma_bound(self) -> Fraction:
        """The gamma decoding needs to stay below: L3's, or Lemma PREC's for 2^b levels."""
        if self.bits_per_value is None:
            return gamma_target(self.eta, additive=self.additive)
        return level_gamma_target(self.bits_per_value, self.eta, additive=self.additive,
                                  value_bound=self._value_bound())

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
    def cache_params(self) -> CacheParams:
        """The cache's public parameters, options merged over its defaults.

        Imports the cache's module: call it for a registered cache, or inside a party's
        worker process (never in the verifier for third-party code).
        """
        from reduction.compressors import resolve_cache

        merged = resolve_cache(self.cache).merged_options(self.cache, self.options)
        return CacheParams(self.d, self.schedule, merged)

    def _scale_for(self, fraction: Fraction) -> float:
        """Least C with gamma(C) < fraction * the decoding bound (Lemmas L2, L3, PREC)."""
        return _scale_cached(
            self.schedule.cached_tokens,
            self.schedule.last_scale_tokens,
            float(self.eps),
            self._gamma_bound() * fraction,
        )

    @property
    def c_min(self) -> float:
        """The theorem's C_min(L, T_K, eps, eta) (Lemma L3; Lemma PREC with levels)."""
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
        """Decoding threshold at gamma(C) (Lemma L3; the one-bit reduction only)."""
        if self.bits_per_value is not None:
            raise ValueError("tau is the one-bit threshold; with bits_per_value use thresholds")
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
            "bits_per_value": self.bits_per_value,
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
            bits_per_value=_optional_int(obj.get("bits_per_value")),
        )


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise ValueError(f"bits_per_value must be null or an integer, got {value!r}")
    return value


@functools.lru_cache(maxsize=8)
def _key_family_cached(n_keys: int, d: int, eps: float, key_seed: int) -> KeyFamily:
    family = sample_keys(n_keys, d, eps, np.random.default_rng(key_seed))
    family.signs.setflags(write=False)
    return family


@functools.lru_cache(maxsize=64)
def _scale_cached(n: int, t: int, eps: float, target: Fraction) -> float:
    return scale_for_gamma(n, t, eps, target)
