"""The attack sweep: every compressor, at every budget, through the same Alice/Bob protocol.

Purpose: docs/theorem.md#feasible, "every compressor is on the feasible side" (ours, beyond
the papers). Each point runs the reduction of section 3 on a few seeds with one cache
configuration and records the message length and the bit errors Bob made.

Main statement (Lemma L4 read backwards): a message from which Bob decodes the N uniform
bits of the instance with average error rate p carries >= N * (1 - H2(p)) bits. So every
point must satisfy ``message_bits >= information_bits_lcb`` (the lower confidence bound
of N * (1 - H2(p)) at confidence 1 - LEAK_ALPHA); a point below it decodes more than its
bytes can hold, i.e. the cache keeps state outside ``to_bytes()``: a leak, or a harness
that mis-measures. Seeds are pooled: with S seeds of N bits each and E errors in total,
p = E / (S N) and the bound is N * (1 - H2(p_hi)), p_hi the Clopper-Pearson upper limit
on (E, S N); by concavity of H2 the mean message length over the seeds must exceed it
(and so must every seed's, checked by :func:`reduction.protocol.run_seed`).

The budget axis. A ``budgeted`` cache (see :class:`reduction.compressors.CacheEntry`)
takes the option ``budget`` (fraction of tokens KEPT, or a token count) and is run at
every budget of the sweep. Other caches sweep their own knob, named in :data:`SWEEP_AXES`
(bit width, rank, sketch size...) over default values; a cache known to this table as
fixed, or unknown to it (a third-party ``module:Class``), runs once with no options.

One Alice and one Bob serve the whole sweep: a
pair of worker processes (reduction.isolation, default) or the same functions inline
(``isolation="inline"``, registered caches only, for tests).

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak); Kremer, Nisan & Ron
(1999) for Index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from lowerbound.entropy import information_bits, information_bits_lower_confidence
from lowerbound.validation import check_int_at_least
from reduction.cache import CacheParams, budget_tokens
from reduction.compressors import CACHES, CacheEntry, resolve_cache
from reduction.isolation import DEFAULT_TIMEOUT
from reduction.protocol import LEAK_ALPHA, SeedResult, open_parties, run_seed
from reduction.public import is_registered_cache
from reduction.schedule import Schedule
from reduction.variants.low_dimension import Regime, plan_regime

__all__ = [
    "SweepAxis",
    "SweepTask",
    "SweepPoint",
    "SweepResult",
    "SWEEP_AXES",
    "DEFAULT_BUDGETS",
    "PACKER_CACHE",
    "sweep_axis",
    "plan_sweep",
    "run_sweep",
    "pooled_information",
]

JSONScalar = bool | int | float | str | None

DEFAULT_BUDGETS: tuple[float, ...] = (0.25, 0.5, 0.75)

# The instance-optimal packer of docs/theorem.md#tight ("tightness"; reduction/compressors/
# packer.py): the point whose message_bits / N the sweep reports.
PACKER_CACHE = "packer"


@dataclass(frozen=True)
class SweepAxis:
    """What a non-budgeted cache sweeps: ``option`` over ``values`` (None: run once).

    ``per_d=True`` reads each value as a fraction of d, rounded up to a whole number
    >= 1 (e.g. a rank of d/4), so one table serves every head dimension.
    """

    option: str | None
    values: tuple[JSONScalar, ...] = ()
    per_d: bool = False
    note: str = ""

    def resolved(self, d: int) -> tuple[JSONScalar, ...]:
        """The values for head dimension d (fractions of d made whole when ``per_d``).

        >>> SweepAxis("rank", (0.25, 0.5), per_d=True).resolved(64)
        (16, 32)
        """
        if not self.per_d:
            return self.values
        out: list[JSONScalar] = []
        for v in self.values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"per-d sweep value {v!r} must be a number")
            out.append(max(1, math.ceil(v * d - 1e-9)))
        return tuple(out)


_FIXED = SweepAxis(None, (), note="fixed configuration: run once")

# One place for every registered non-budgeted cache: the option it sweeps and its values.
# tests/test_attack.py checks that every registered non-budgeted cache is listed here and
# that every name listed here is registered (no stale rows).
# Parametric names sweep the knob their module names; names that pin a value (uniform-q2,
# kivi-q4, ...) run once, so the table shows both the curve and the named presets.
_BITS = SweepAxis("bits", (1, 2, 4, 8), note="bits per stored code")
_RANK = SweepAxis("rank", (1 / 16, 1 / 4, 1 / 2), per_d=True,
                  note="rank as a fraction of d (4, 16, 32 at d = 64)")
SWEEP_AXES: dict[str, SweepAxis] = {
    "exact": _FIXED,
    "exact-fp16": _FIXED,
    "exact-fp32": _FIXED,
    "exact-fp64": _FIXED,
    "uniform": _BITS,
    "uniform-q1": _FIXED,
    "uniform-q2": _FIXED,
    "uniform-q4": _FIXED,
    "uniform-q8": _FIXED,
    "uniform-sym": _BITS,
    "uniform-sym-q1": _FIXED,
    "uniform-sym-q2": _FIXED,
    "kivi": _BITS,
    "kivi-q2": _FIXED,
    "kivi-q4": _FIXED,
    "lowrank": _RANK,
    "sketch": _RANK,
    "packer": _FIXED,
    "noisy": SweepAxis("eta", (0.25, 0.5, 0.9), note="relative error of every output"),
    # the sparsity variants' caches (reduction/variants/)
    "topk-attention": SweepAxis("k", (1, 4, 16), note="scores each query attends to"),
    "support": _FIXED,
    "window": SweepAxis("w", (1, 2, 3), note="scales visible, the current one counted"),
    "cluster": _FIXED,
}

# Caches no row names (third-party module:Class) run once with no options.
DEFAULT_AXIS = SweepAxis(None, (), note="not in SWEEP_AXES: run once with no options")


def sweep_axis(name: str, entry: CacheEntry | None = None) -> SweepAxis:
    """The axis of cache ``name``: ``budget`` if budgeted, its table row, or the default.

    ``budget`` values come from the sweep's budgets (see :func:`plan_sweep`), so the axis
    returned for a budgeted cache has no values of its own.

    >>> sweep_axis("exact").option is None
    True
    """
    if entry is None and name.strip() not in CACHES:
        return DEFAULT_AXIS  # third-party code is never imported by the verifier
    entry = entry if entry is not None else resolve_cache(name)
    if entry.budgeted:
        return SweepAxis("budget", (), note="fraction of tokens kept (or a token count)")
    return SWEEP_AXES.get(name, DEFAULT_AXIS)


@dataclass(frozen=True)
class SweepTask:
    """One configuration of the sweep: a cache and the options given on top of its own."""

    cache: str
    option: str | None
    value: JSONScalar
    options: Mapping[str, Any] = field(default_factory=dict)
    skip: str | None = None

    @property
    def label(self) -> str:
        return self.cache if self.option is None else f"{self.cache} {self.option}={self.value}"


def _check_budgets(budgets: Iterable[float | int], n_tokens: int) -> tuple[float | int, ...]:
    out = tuple(budgets)
    if not out:
        raise ValueError("no budgets given; pass kept fractions in (0, 1] such as 0.25,0.5")
    for b in out:
        budget_tokens(b, n_tokens)  # raises ValueError naming the bad budget
    return out


def plan_sweep(
    schedule: Schedule,
    d: int,
    caches: Sequence[str] | None = None,
    budgets: Iterable[float | int] = DEFAULT_BUDGETS,
) -> list[SweepTask]:
    """Every (cache, option value) to run, validated before any work is done.

    ``caches=None`` means every registered compressor (the adversaries of the decoding,
    ``CacheEntry.adversary``, run through ``verify``). Each task's cache is built once on
    Alice's side (empty), so a bad option value (a rank above d, ...) fails here with the
    cache's own ValueError. With ``caches=None`` a registered cache whose fixed options do
    not fit these public parameters (KIVI's group size must divide d) is not an error of
    the caller: its task carries the reason in ``skip`` and is reported, not run.
    """
    d = check_int_at_least(d, "d", 1)
    names = ([n for n, e in CACHES.items() if not e.adversary] if caches is None
             else [c.strip() for c in caches])
    if not names:
        raise ValueError("no caches given; pass 'all' or names such as exact,streaming-llm")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"cache(s) {', '.join(dup)} given more than once")
    budget_list = _check_budgets(budgets, schedule.cached_tokens)
    tasks: list[SweepTask] = []
    for name in names:
        if name not in CACHES:
            if ":" not in name:
                resolve_cache(name)  # raises ValueError naming the registered caches
            tasks.append(SweepTask(name, None, None, {}))  # checked in a worker when run
            continue
        entry = resolve_cache(name)
        axis = sweep_axis(name, entry)
        values = budget_list if axis.option == "budget" else axis.resolved(d)
        if axis.option is None:
            tasks.append(SweepTask(name, None, None, {}))
        else:
            tasks.extend(SweepTask(name, axis.option, v, {axis.option: v}) for v in values)
    checked: list[SweepTask] = []
    for task in tasks:
        if task.cache not in CACHES:
            checked.append(task)
            continue
        entry = resolve_cache(task.cache)
        params = CacheParams(d, schedule, {**entry.options, **task.options})
        try:
            entry.cls(params, np.random.default_rng(0))
        except ValueError as exc:
            if caches is not None:
                raise ValueError(f"{task.label}: {exc}") from None
            task = replace(task, skip=str(exc))
        checked.append(task)
    return checked


def pooled_information(errors: int, n_bits: int, seeds: int) -> tuple[float, float]:
    """(N * (1 - H2(p)), its lower confidence bound) pooled over ``seeds`` runs of N bits.

    p = E / (S N); the bound uses the Clopper-Pearson upper limit on (E, S N) at
    confidence 1 - LEAK_ALPHA (docs/theorem.md#feasible, via Lemma L4).

    >>> info, lcb = pooled_information(0, 1000, 2)
    >>> info, round(lcb, 1)
    (1000.0, 940.7)
    """
    s = check_int_at_least(seeds, "seeds", 1)
    total = s * check_int_at_least(n_bits, "n_bits", 1)
    info = information_bits(total, errors / total) / s
    lcb = information_bits_lower_confidence(errors, total, LEAK_ALPHA) / s
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


def _point(task: SweepTask, params: CacheParams, runs: Sequence[SeedResult],
           seconds: float) -> SweepPoint:
    n = runs[0].n_bits
    errors = sum(r.bit_errors for r in runs)
    info, lcb = pooled_information(errors, n, len(runs))
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


def _failed(task: SweepTask, params: CacheParams | None, seeds: Sequence[int], n_bits: int,
            message: str, seconds: float, skipped: bool = False) -> SweepPoint:
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

    @property
    def n_bits(self) -> int:
        """N = L' * d (L' = L_{K-1} in the theorem's regime), the bound at delta = 0 (L4)."""
        carriers = self.schedule.cached_tokens if self.regime is None else (
            self.regime.carriers_witnessed)
        return carriers * self.d

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


def run_sweep(
    schedule: Schedule,
    d: int,
    eps: float,
    eta: float,
    *,
    caches: Sequence[str] | None = None,
    budgets: Iterable[float | int] = DEFAULT_BUDGETS,
    seeds: int | Iterable[int] = 2,
    additive: bool = False,
    isolation: str = "process",
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int, SweepPoint], None] | None = None,
    clock: Callable[[], float] | None = None,
    logit_cap: float | None = None,
    var_head: bool = False,
) -> SweepResult:
    """Run every planned configuration on every seed; one Bob serves the whole sweep.

    A cache that raises while running (its own bytes rejected, a wrong output shape) is
    recorded as a failed point with the error text, and the sweep goes on; bad input
    (unknown cache, bad budget or option, a logit cap nothing fits under) raises ValueError
    before any run. Below d_min the C1 variant runs (reduction.variants.low_dimension).
    """
    import time

    clock = clock or time.perf_counter
    seed_list = (list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(seeds, int)
                 else [check_int_at_least(s, "seed", 0) for s in seeds])
    if not seed_list:
        raise ValueError("no seeds given; pass seeds >= 1")
    if isolation not in ("process", "inline"):
        raise ValueError(f"isolation={isolation!r}; choose 'process' or 'inline'")
    regime = plan_regime(schedule, d, eps, eta, additive=additive, logit_cap=logit_cap,
                         var_head=var_head)  # validates eps, eta, d, the cap
    tasks = plan_sweep(schedule, d, caches, budgets)
    n_bits = regime.carriers_witnessed * d
    points: list[SweepPoint] = []

    def run_all(parties: Any) -> None:
        for i, task in enumerate(tasks):
            start = clock()
            params: CacheParams | None = None
            if task.skip is not None:
                points.append(_failed(task, None, seed_list, n_bits, task.skip, 0.0,
                                      skipped=True))
                if progress is not None:
                    progress(i + 1, len(tasks), points[-1])
                continue
            try:
                probe = regime.public(0, task.cache, task.options)
                if is_registered_cache(task.cache):
                    params = probe.cache_params
                else:  # third-party code is resolved in a worker, never here
                    parties.check(probe)
                    params = CacheParams(d, schedule, dict(task.options))
                runs = [run_seed(schedule, d, eps, eta, s, parties, cache=task.cache,
                                 options=task.options, additive=additive,
                                 logit_cap=logit_cap, var_head=var_head) for s in seed_list]
                point = _point(task, params, runs, clock() - start)
            except Exception as exc:  # a broken cache is a finding, not a crash of the sweep
                point = _failed(task, params, seed_list, n_bits,
                                f"{type(exc).__name__}: {exc}", clock() - start)
            points.append(point)
            if progress is not None:
                progress(i + 1, len(tasks), point)

    with open_parties(isolation, timeout) as parties:
        for task in tasks:  # third-party caches: resolved and checked in a worker, up front
            if task.skip is None and not is_registered_cache(task.cache):
                parties.check(regime.public(0, task.cache, task.options))
        run_all(parties)
    return SweepResult(schedule, d, float(regime.eps), float(eta), additive,
                       tuple(seed_list), isolation, tuple(points), regime)
