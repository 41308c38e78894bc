"""Planning the attack sweep: which cache configurations to run (the budget axis).

Purpose: docs/theorem.md#feasible, "every compressor is on the feasible side" (ours,
beyond the papers). A ``budgeted`` cache (see :class:`caches.CacheEntry`)
takes the option ``budget`` (fraction of tokens KEPT, or a token count) and is run at
every budget of the sweep. Other caches sweep their own knob, named in :data:`SWEEP_AXES`
(bit width, rank, sketch size...) over default values; a cache known to this table as
fixed, or unknown to it (a third-party ``module:Class``), runs once with no options.
Every registered configuration is validated here, before any run; third-party code is
never imported here (it is resolved and checked in a worker process when the sweep runs).

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from caches import CACHES, CacheEntry, resolve_cache
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.cache import CacheParams, budget_tokens
from reduction.schedule import Schedule

__all__ = [
    "JSONScalar",
    "SweepAxis",
    "SweepTask",
    "SWEEP_AXES",
    "DEFAULT_AXIS",
    "DEFAULT_BUDGETS",
    "PACKER_CACHE",
    "sweep_axis",
    "plan_sweep",
]

JSONScalar = bool | int | float | str | None

DEFAULT_BUDGETS: tuple[float, ...] = (0.25, 0.5, 0.75)

# The instance-optimal packer (docs/theorem.md#tight; caches/matching/packer.py):
# the point whose message_bits / N the sweep reports.
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
                raise InvalidArgument(f"per-d sweep value {v!r} must be a number")
            out.append(max(1, math.ceil(v * d - 1e-9)))
        return tuple(out)


_FIXED = SweepAxis(None, (), note="fixed configuration: run once")

# One place for every registered non-budgeted cache: the option it sweeps and its values.
# tests/kvbound/test_attack.py checks that every registered non-budgeted cache is listed here and
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
    "noisy": SweepAxis("noise", (0.25, 0.5, 0.9), note="relative error of every output"),
    # the sparsity variants' caches (variants/)
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
        raise InvalidArgument("no budgets given; pass kept fractions in (0, 1] such as 0.25,0.5")
    for b in out:
        budget_tokens(b, n_tokens)  # raises ValueError naming the bad budget
    return out


def plan_sweep(
    schedule: Schedule,
    d: int,
    caches: Sequence[str] | None = None,
    budgets: Iterable[float | int] = DEFAULT_BUDGETS,
    bits_per_value: int | None = None,
) -> list[SweepTask]:
    """Every (cache, option value) to run, validated before any work is done.

    With ``bits_per_value`` (values on 2^b levels, docs/theorem.md#prec) a cache whose
    class sets ``BINARY_VALUES = True`` (it stores 0/1 values only: the sparsity
    variants' matching caches) is skipped with that reason, or refused if named.

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
        raise InvalidArgument("no caches given; pass 'all' or names such as exact,streaming-llm")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidArgument(f"cache(s) {', '.join(dup)} given more than once")
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
        if bits_per_value is not None and getattr(entry.cls, "BINARY_VALUES", False):
            why = (f"stores 0/1 values only; not a cache for --bits-per-value "
                   f"{bits_per_value}")
            if caches is not None:
                raise InvalidArgument(f"{task.label}: {why}")
            checked.append(replace(task, skip=why))
            continue
        try:
            entry.cls(params, np.random.default_rng(0))
        except ValueError as exc:
            if caches is not None:
                raise InvalidArgument(f"{task.label}: {exc}") from None
            task = replace(task, skip=str(exc))
        checked.append(task)
    return checked
