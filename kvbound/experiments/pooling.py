"""Pooling the seeds of a sweep point, and the sweep's results.

Purpose: the check of docs/theorem.md#feasible. Each point runs the reduction on a few
seeds with one cache configuration and records the message length and Bob's bit errors.

Main statement (Lemma L4 read backwards, docs/theorem.md#l4): a message from which Bob
decodes the N uniform bits of the instance with average error rate p carries >= N * (1 -
H2(p)) bits. So every point must satisfy ``message_bits >= information_bits_lcb`` (the
lower confidence bound of N * (1 - H2(p)) at confidence 1 - LEAK_ALPHA); a point below it
decodes more than its bytes can hold, i.e. the cache keeps state outside ``to_bytes()``: a
leak, or a harness that mis-measures. Seeds are pooled: with S seeds of N bits each and E
errors in total, p = E / (S N) and the bound is N * (1 - H2(p_hi)), p_hi the
Clopper-Pearson upper limit on (E, S N); by concavity of H2 the mean message length over
the seeds must exceed it (and so must every seed's, checked by
:func:`reduction.protocol.run_seed`).

References: Kremer, Nisan & Ron (1999) for Index; arXiv 2503.14881; arXiv 2502.15955.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kvbound.experiments.planning import PACKER_CACHE, JSONScalar, SweepTask
from lowerbound.fano import fano_information_bits, fano_information_lower_confidence
from lowerbound.validation import check_int_at_least
from reduction.cache import CacheParams
from reduction.protocol import LEAK_ALPHA, SeedResult
from reduction.regime import Regime
from reduction.schedule import Schedule

__all__ = ["SweepPoint", "SweepResult", "pooled_information", "point_from_runs",
           "failed_point"]


def pooled_information(errors: int, n_symbols: int, seeds: int,
                       bits_per_symbol: int = 1) -> tuple[float, float]:
    """Fano's information and its lower confidence bound, pooled over ``seeds`` runs of
    n symbols of b bits (b = 1: N bits, N (1 - H2(p))).

    p = E / (S n), any p in [0, 1]; the bound is the least information over the
    Clopper-Pearson interval of (E, S n) (docs/theorem.md#feasible, #fano).

    >>> info, lcb = pooled_information(0, 1000, 2)
    >>> info, round(lcb, 1)
    (1000.0, 938.2)
    """
    s = check_int_at_least(seeds, "seeds", 1)
    total = s * check_int_at_least(n_symbols, "n_symbols", 1)
    b = check_int_at_least(bits_per_symbol, "bits_per_symbol", 1)
    info = fano_information_bits(total, errors / total, b) / s
    lcb = fano_information_lower_confidence(errors, total, b, LEAK_ALPHA) / s
    return info, lcb


@dataclass(frozen=True)
class SweepPoint:
    """One cache configuration over the seeds (``error`` set if the cache failed)."""

    cache: str
    option: str | None
    budget: JSONScalar
    options: dict[str, Any]
    n_bits: int
    message_bits: int
    mean_message_bits: float
    bit_errors: int
    bits_decoded: int
    error_rate: float
    information_bits: float
    information_bits_lcb: float
    ratio: float
    feasible: bool
    seeds: tuple[int, ...]
    seconds: float
    error: str | None = None
    skipped: str | None = None

    @property
    def leak(self) -> bool:
        return self.error is None and self.skipped is None and not self.feasible

    @property
    def label(self) -> str:
        return self.cache if self.option is None else f"{self.cache} {self.option}={self.budget}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        out["leak"] = self.leak
        return out


def point_from_runs(task: SweepTask, params: CacheParams, runs: Sequence[SeedResult],
                    seconds: float) -> SweepPoint:
    """A measured point: the seeds pooled (module docstring)."""
    n = runs[0].n_bits
    errors = sum(r.bit_errors for r in runs)
    b = runs[0].bits_per_symbol
    info, lcb = pooled_information(sum(r.symbol_errors for r in runs), runs[0].n_symbols,
                                   len(runs), b)
    mean_bits = sum(r.message_bits for r in runs) / len(runs)
    max_bits = max(r.message_bits for r in runs)
    return SweepPoint(
        cache=task.cache,
        option=task.option,
        budget=task.value,
        options=dict(params.options),
        n_bits=n,
        message_bits=max_bits,
        mean_message_bits=mean_bits,
        bit_errors=errors,
        bits_decoded=n * len(runs),
        error_rate=errors / (n * len(runs)),
        information_bits=info,
        information_bits_lcb=lcb,
        ratio=max_bits / n,
        feasible=mean_bits >= lcb and not any(r.leak for r in runs),
        seeds=tuple(r.seed for r in runs),
        seconds=seconds,
    )


def failed_point(task: SweepTask, params: CacheParams | None, seeds: Sequence[int],
                 n_bits: int, message: str, seconds: float, skipped: bool = False
                 ) -> SweepPoint:
    """A point that failed while running (``error``) or was not run (``skipped``)."""
    nan = float("nan")
    return SweepPoint(
        cache=task.cache, option=task.option, budget=task.value,
        options=dict(params.options) if params else dict(task.options), n_bits=n_bits,
        message_bits=0, mean_message_bits=nan, bit_errors=0, bits_decoded=0, error_rate=nan,
        information_bits=nan, information_bits_lcb=nan, ratio=nan, feasible=False,
        seeds=tuple(seeds), seconds=seconds, error=None if skipped else message,
        skipped=message if skipped else None,
    )


@dataclass(frozen=True)
class SweepResult:
    """The points of a sweep with the public parameters they share."""

    schedule: Schedule
    d: int
    eps: float
    eta: float
    additive: bool
    seeds: tuple[int, ...]
    isolation: str
    points: tuple[SweepPoint, ...]
    regime: Regime | None = None
    sandbox: bool = False  # the parties ran in the sandbox (reduction.isolation.sandbox)

    @property
    def n_bits(self) -> int:
        """N = L' d b (L' = L_{K-1} in the theorem's regime; b = 1 without
        --bits-per-value), the bound at delta = 0 (L4, PREC)."""
        if self.regime is None:
            return self.schedule.cached_tokens * self.d
        return self.regime.carriers_witnessed * self.d * (self.regime.bits_per_value or 1)

    @property
    def leaks(self) -> list[SweepPoint]:
        return [p for p in self.points if p.leak]

    @property
    def failures(self) -> list[SweepPoint]:
        return [p for p in self.points if p.error is not None]

    @property
    def skipped(self) -> list[SweepPoint]:
        return [p for p in self.points if p.skipped is not None]

    @property
    def measured(self) -> list[SweepPoint]:
        """The points that ran to the end (neither failed nor skipped)."""
        return [p for p in self.points if p.error is None and p.skipped is None]

    @property
    def all_feasible(self) -> bool:
        return not self.leaks

    def packer(self) -> SweepPoint | None:
        """The packer's (first) point, if it ran and did not fail."""
        for p in self.measured:
            if p.cache == PACKER_CACHE:
                return p
        return None

    def to_json(self) -> dict[str, Any]:
        s = self.schedule
        packer = self.packer()
        return {
            "schedule": s.name,
            "schedule_shapes": [list(x) for x in s.shapes],
            "d": self.d,
            "eps": float(self.eps),
            "eta": float(self.eta),
            "additive": self.additive,
            "cached_tokens": s.cached_tokens,
            "last_scale_tokens": s.last_scale_tokens,
            "n_bits": self.n_bits,
            "lower_bound_bits": float(self.n_bits),
            "seeds": list(self.seeds),
            "isolation": self.isolation,
            "sandbox": self.sandbox,
            "leak_alpha": LEAK_ALPHA,
            "all_feasible": self.all_feasible,
            "leaks": [p.label for p in self.leaks],
            "failures": [p.label for p in self.failures],
            "skipped": [p.label for p in self.skipped],
            "packer": None if packer is None else {
                "cache": packer.cache, "message_bits": packer.message_bits,
                "ratio": packer.ratio, "bit_errors": packer.bit_errors,
            },
            "points": [p.to_json() for p in self.points],
            "low_dimension": None if self.regime is None else self.regime.to_json(),
        }
