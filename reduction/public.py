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
from lowerbound.softmax import gamma, gamma_target, scale_for_gamma
from lowerbound.validation import check_int_at_least, check_interval
from reduction.cache import CacheParams
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
        """The cache's public parameters, options merged over its defaults.

        Imports the cache's module: call it for a registered cache, or inside a party's
        worker process (never in the verifier for third-party code).
        """
        from reduction.compressors import resolve_cache

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
