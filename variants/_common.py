"""Private helpers shared by the variants: seeds, Bob's query scale, the threshold decoder."""

from __future__ import annotations

import functools
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from lowerbound.decoding import tau as decoding_tau
from lowerbound.jl import d_min
from lowerbound.softmax import gamma, scale_for_gamma
from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval
from reduction.keys import sample_keys
from reduction.schedule import Schedule

__all__ = ["SIMULATION_GAMMA_FRACTION", "split_seed", "query_scale", "threshold_decoder",
           "check_regime", "check_key_dimension", "public_keys"]

# As in the main protocol: Bob's C makes gamma at most half of what Lemma L3 admits, so
# floating-point rounding never sits on the decoding boundary (docs/theorem.md#l3).
SIMULATION_GAMMA_FRACTION = Fraction(1, 2)


def split_seed(seed: int) -> tuple[np.random.Generator, np.random.Generator,
                                   np.random.Generator]:
    """(instance rng, public key rng, caches' rng) from one seed: same seed, same run."""
    seed = check_int_at_least(seed, "seed", 0)
    a, b, c = np.random.default_rng(seed).spawn(3)
    return a, b, c


def check_regime(eps: float, eta: float) -> None:
    """eps in (0, 1), eta in [0, 1) (relative error), with messages naming the value."""
    check_interval(eps, "eps", 0, 1)
    check_interval(eta, "eta", 0, 1, closed_lower=True)


def check_key_dimension(n_keys: int, d: int, eps: float, what: str) -> None:
    """d >= d_min(n_keys, eps) (Lemma L1), else a ValueError naming every input."""
    need = d_min(n_keys, eps)
    if d < need:
        raise InvalidArgument(f"{what}: L={n_keys} keys with eps={eps:g} need d >= {need}, got "
                         f"d={d}; raise d or eps")


@functools.lru_cache(maxsize=16)
def public_keys(n_keys: int, d: int, eps: float, seed: int) -> np.ndarray:
    """The certified sign keys / sqrt(d) of ``seed``'s public rng (Lemma L1), read-only.

    Drawn from ``split_seed(seed)[1]``, so the sweeps of a variant share one key family.
    """
    keys = sample_keys(n_keys, d, eps, split_seed(seed)[1]).keys
    keys.setflags(write=False)
    return keys


@functools.lru_cache(maxsize=64)
def query_scale(n_sign: int, n_zero: int, eps: float, target: Fraction) -> tuple[float, float]:
    """(C, gamma(C)): the least C with gamma < SIMULATION_GAMMA_FRACTION * target.

    gamma = (n_sign - 1) e^{-C (1 - eps)} + n_zero e^{-C} (Lemma L2, docs/theorem.md#l2,
    with the zero keys of unused tokens counted as in docs/theorem.md#unused).
    """
    c = scale_for_gamma(n_sign, n_zero, eps, target * SIMULATION_GAMMA_FRACTION)
    return c, gamma(n_sign, n_zero, c, eps)


def threshold_decoder(g: float, eta: float) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
    """(tau, decode): x_hat = [Z > tau] with tau of Lemma L3 (docs/theorem.md#l3)."""
    t = decoding_tau(g, eta)

    def decode(z: np.ndarray) -> np.ndarray:
        return (np.asarray(z) > t).astype(np.uint8)

    return t, decode


def report_parameters(schedule: Schedule, d: int, eps: float, eta: float, seed: int,
                      scale: float, gamma_value: float, **extra: Any) -> dict[str, Any]:
    """The ``parameters`` block every variant's report starts with (JSON scalars):
    schedule, shapes, d, eps, eta, seed, the variant's own knobs, then C and gamma."""
    return {"schedule": schedule.name, "shapes": [list(x) for x in schedule.shapes],
            "d": d, "eps": eps, "eta": eta, "seed": seed, **extra, "C": scale,
            "gamma": gamma_value}
