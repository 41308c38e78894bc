"""A small Python API over the command line, for notebooks and other programs.

Purpose: ``kvbound.verify(...)`` runs the reduction of docs/theorem.md#reduction on one
cache and returns the record ``kvbound verify --json`` prints (a
:class:`reduction.protocol.VerifyResult`: ``bit_errors``, ``message_bits``,
``instance_bits``, ``bound_respected``, ``to_json()``); ``kvbound.constants(...)`` the
theorem's numbers for a schedule and head dimension (:func:`kvbound.reports.constants`).
Defaults are :data:`lowerbound.defaults.DEFAULTS`.

A cache is a registered name (``"exact"``, ``"h2o"``), a ``"module:Class"`` string (run in
the sandboxed worker processes, like ``kvbound verify --cache``), or a cache class. A class
whose module can be imported by name runs like ``module:Class``; a class defined in the
notebook itself (module ``__main__``) cannot be reached by a worker process, so it runs in
this process, with Alice's and Bob's states still exchanged as bytes; its record says
``isolation: inline (caller's class)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from caches.registry import local_spec
from lowerbound.defaults import DEFAULTS
from lowerbound.validation import InvalidArgument
from reduction.protocol import VerifyResult, run_verification
from reduction.schedule import Schedule

__all__ = ["verify", "constants"]


def _cache_spec(cache: str | type) -> tuple[str, str]:
    """(spec, isolation) for a name, a ``module:Class`` string or a class."""
    if isinstance(cache, str):
        return cache, "process"
    if not isinstance(cache, type):
        raise InvalidArgument(f"cache={cache!r} must be a registered name, a 'module:Class' "
                              "string or a cache class")
    module = getattr(cache, "__module__", "__main__")
    if module not in ("__main__", "builtins") and "<locals>" not in cache.__qualname__:
        return f"{module}:{cache.__qualname__}", "process"
    return local_spec(cache), "inline"


def verify(
    cache: str | type = "exact",
    *,
    schedule: str | Schedule = DEFAULTS.schedule,
    d: int = DEFAULTS.d,
    seeds: int = 1,
    first_seed: int = 0,
    eps: float = float(DEFAULTS.eps),
    eta: float = float(DEFAULTS.eta),
    options: Mapping[str, Any] | None = None,
    **protocol: Any,
) -> VerifyResult:
    """Run the reduction on ``cache`` over ``seeds`` seeds from ``first_seed``.

    Further keyword arguments go to :func:`reduction.protocol.run_verification`
    (``logit_cap``, ``var_head``, ``bits_per_value``, ``additive``, ``delta``,
    ``workers``, ``timeout``, ...).

    >>> r = verify("exact", schedule="1,2,3", d=32)
    >>> r.bit_errors, r.instance_bits, r.message_bits >= r.instance_bits
    (0, 160, True)
    """
    spec, isolation = _cache_spec(cache)
    sched = schedule if isinstance(schedule, Schedule) else Schedule.parse(schedule)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise InvalidArgument(f"seeds={seeds!r} must be a whole number >= 1")
    protocol.setdefault("isolation", isolation)
    return run_verification(sched, d, eps, eta, range(first_seed, first_seed + seeds),
                            cache=spec, options=dict(options or {}), **protocol)


def constants(
    schedule: str | Schedule = DEFAULTS.schedule,
    d: int = DEFAULTS.d,
    eps: float | Fraction = DEFAULTS.eps,
    eta: float | Fraction = DEFAULTS.eta,
) -> dict[str, Any]:
    """The theorem's numbers for one schedule and d, as ``kvbound constants --json``.

    >>> c = constants("var-256", 64)
    >>> c["cached_tokens"], c["n_bits"], c["d_min"]
    (424, 27136, 41)
    """
    from kvbound.reports.constants_table import schedule_constants

    sched = schedule if isinstance(schedule, Schedule) else Schedule.parse(schedule)
    return schedule_constants(sched, d, Fraction(eps), Fraction(eta))
