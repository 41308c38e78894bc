"""Pooling the seeds of a sweep point, and the sweep's results.

Purpose: the leak check of docs/theorem.md#certificate over a sweep. Each point runs the
reduction on a few seeds with one cache configuration and records the message length,
Bob's errors and the certificate of every seed and of the seeds pooled (the family fixed
by the number of seeds before the first one runs).

Main statement (Lemma CERT): a point is a leak when some code of the family describes
Alice's symbols given Bob's, on one seed or pooled, in fewer bits than N minus the message
and its allowance minus log2(|family| / alpha): the cache keeps state outside
``to_bytes()``, or the harness mis-measures. No model of the errors is assumed. A leak on
one seed outranks a failure on a later one. The information at the observed rate, N (1 -
H2(p)) pooled over the seeds (Lemma L4 read backwards), is reported beside it.

References: Kremer, Nisan & Ron (1999) for Index; arXiv 2503.14881; arXiv 2502.15955.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kvbound.experiments.planning import PACKER_CACHE, JSONScalar, SweepTask
from lowerbound.certificate import Certificate
from lowerbound.entropy import binary_entropy_inverse
from lowerbound.fano import fano_information_bits
from lowerbound.validation import check_int_at_least
from reduction.cache import CacheParams, budget_rows
from reduction.protocol import LEAK_ALPHA, SeedResult
from reduction.regime import Regime
from reduction.schedule import Schedule

__all__ = ["SweepPoint", "SweepResult", "pooled_information", "point_from_runs",
           "failed_point", "kept_fraction", "floor_error_rate"]


def pooled_information(errors: int, n_symbols: int, seeds: int,
                       bits_per_symbol: int = 1) -> float:
    """Fano's information per seed at the pooled rate p = E / (S n), any p in [0, 1]
    (b = 1: N (1 - H2(p))); reported beside the certificate, never a verdict
    (docs/theorem.md#fano).

    >>> pooled_information(0, 1000, 2), pooled_information(1000, 1000, 2)
    (1000.0, 0.0)
    """
    s = check_int_at_least(seeds, "seeds", 1)
    total = s * check_int_at_least(n_symbols, "n_symbols", 1)
    b = check_int_at_least(bits_per_symbol, "bits_per_symbol", 1)
    return fano_information_bits(total, errors / total, b) / s


def _per_seed(c: Certificate, seeds: int) -> tuple[float, float]:
    """(revealed, required) bits per seed of a certificate over ``seeds`` seeds: N - len,
    and the message below which it is a leak (docs/theorem.md#certificate)."""
    k = 1 if c.scope.startswith("seed") else seeds
    return c.revealed_bits / k, (c.message_bits + c.margin_bits) / k


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
    revealed_bits: float
    certified_bits: float
    ratio: float
    feasible: bool
    seeds: tuple[int, ...]
    seconds: float
    error: str | None = None
    skipped: str | None = None
    certificate: dict[str, Any] | None = None
    failure_after_leak: str | None = None
    kept_fraction: float | None = None
    predicted_error: float | None = None
    floor_error: float | None = None

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
                    seconds: float, pooled: Certificate | None = None,
                    failure: str | None = None) -> SweepPoint:
    """A measured point: every seed's certificate and the ``pooled`` one decide it (the
    most decisive is recorded, with its code and margin); ``failure`` a later seed's
    failure after a leak (module docstring)."""
    n = runs[0].n_bits
    errors = sum(r.bit_errors for r in runs)
    b = runs[0].bits_per_symbol
    info = pooled_information(sum(r.symbol_errors for r in runs), runs[0].n_symbols,
                              len(runs), b)
    tests = [r.certificate for r in runs] + ([] if pooled is None else [pooled])
    decisive = max(tests, key=lambda c: (c.leak, c.margin_bits))
    revealed, required = _per_seed(decisive, len(runs))
    mean_bits = sum(r.message_bits for r in runs) / len(runs)
    max_bits = max(r.message_bits for r in runs)
    kept = kept_fraction(task, params)
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
        revealed_bits=revealed,
        certified_bits=required,
        ratio=max_bits / n,
        feasible=not any(c.leak for c in tests),
        seeds=tuple(r.seed for r in runs),
        seconds=seconds,
        certificate=decisive.to_json(),
        failure_after_leak=failure,
        kept_fraction=kept,
        predicted_error=None if kept is None else (1.0 - kept) / 2.0,
        floor_error=floor_error_rate(max_bits, n) if b == 1 else None,
    )


def kept_fraction(task: SweepTask, params: CacheParams) -> float | None:
    """f, the fraction of all D * H * L cached rows a budgeted point keeps (or reads):
    ``budget_rows(budget) / (D * H * L)``; None for a point without a budget.

    >>> from reduction.schedule import Schedule
    >>> p = CacheParams(64, Schedule.parse("var-256"), {"budget": 0.25}, heads=16, layers=16)
    >>> kept_fraction(SweepTask("snapkv", "budget", 0.25, {"budget": 0.25}), p)
    0.25
    """
    if task.option != "budget" or task.value is None or isinstance(task.value, (bool, str)):
        return None
    rows = params.n_heads * params.schedule.cached_tokens
    return budget_rows(task.value, params) / rows


def floor_error_rate(message_bits: float, n_bits: int) -> float:
    """The compression certificate's floor: the least bit error rate p with
    N (1 - H2(p)) <= m, i.e. H2^{-1}(1 - m/N) for m < N, else 0 (docs/theorem.md#fano;
    no cache with an m-bit message decodes N uniform bits with a lower error rate).

    >>> floor_error_rate(1000, 1000), round(floor_error_rate(500, 1000), 4)
    (0.0, 0.11)
    """
    if message_bits >= n_bits:
        return 0.0
    return binary_entropy_inverse(1.0 - message_bits / n_bits)


def failed_point(task: SweepTask, params: CacheParams | None, seeds: Sequence[int],
                 n_bits: int, message: str, seconds: float, skipped: bool = False
                 ) -> SweepPoint:
    """A point that failed while running (``error``) or was not run (``skipped``)."""
    nan = float("nan")
    return SweepPoint(
        cache=task.cache, option=task.option, budget=task.value,
        options=dict(params.options) if params else dict(task.options), n_bits=n_bits,
        message_bits=0, mean_message_bits=nan, bit_errors=0, bits_decoded=0, error_rate=nan,
        information_bits=nan, revealed_bits=nan, certified_bits=nan, ratio=nan,
        feasible=False,
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
    heads: int = 1
    layers: int = 1
    unused_heads: int = 0
    sandbox: bool = False  # the parties ran in the sandbox (reduction.isolation.sandbox)

    @property
    def multi_head(self) -> bool:
        """Whether every point ran on D * H > 1 heads (docs/theorem.md#c2-run)."""
        return self.heads * self.layers > 1

    @property
    def n_bits(self) -> int:
        """N = (D H - U) L' d b (L' = L_{K-1} in the theorem's regime; b = 1 without
        --bits-per-value; D = H = 1, U = 0 for one head), the bound at delta = 0 (L4,
        PREC, C2)."""
        carrying = self.heads * self.layers - self.unused_heads
        if self.regime is None:
            return carrying * self.schedule.cached_tokens * self.d
        return carrying * self.regime.carriers_witnessed * self.d * (
            self.regime.bits_per_value or 1)

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
            "heads": self.heads,
            "layers": self.layers,
            "unused_heads": self.unused_heads,
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
