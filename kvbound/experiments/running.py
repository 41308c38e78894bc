"""Running the attack sweep: every planned point through the same Alice/Bob protocol.

Purpose: docs/theorem.md#feasible and #certificate. Each point (one cache configuration)
runs the reduction of docs/theorem.md#reduction on every seed and is pooled by
:func:`kvbound.experiments.pooling.point_from_runs`. A cache that raises while running is
recorded as a failed point and the sweep goes on, unless a seed before it was certified a
leak: the leak outranks the failure. Below d_min, or under a logit cap, every
point runs the C1 variant planned once for the sweep (reduction.regime).

Points are independent, so they may run in parallel: ``workers=N`` uses a pool of N
processes on this machine, ``dask="tcp://host:port"`` the workers of an existing Dask
cluster (``pip install kvbound[dask]``). Each point runs on one BLAS thread wherever it
runs (reduction.isolation.threads; the parties' worker processes are started with one BLAS
thread), so every mode gives the same points as the sequential run, bit for bit, except
their wall-clock ``seconds``. Alice and Bob are a pair of worker processes
(reduction.isolation.parties, default; restarted after a failure, every exchange under
``timeout``) or the same functions inline (``isolation="inline"``, registered caches
only, for tests): one pair per sequential sweep or per pool process, one per Dask task
(a task of a few points; it leaves no process behind). Third-party caches are resolved
and checked in a worker, never in the sweep's own process.

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak).
"""

from __future__ import annotations

import atexit
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kvbound.experiments.planning import DEFAULT_BUDGETS, SweepTask, plan_sweep
from kvbound.experiments.pooling import SweepPoint, SweepResult, failed_point, point_from_runs
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.cache import CacheParams
from reduction.isolation.parties import DEFAULT_TIMEOUT
from reduction.isolation.threads import blas_threads, check_workers
from reduction.leak import LeakLedger
from reduction.protocol import SeedResult, open_parties, run_seed
from reduction.public import is_registered_cache
from reduction.regime import Regime, plan_regime
from reduction.schedule import Schedule

__all__ = ["run_sweep", "run_point", "PointJob"]


@dataclass(frozen=True)
class PointJob:
    """Everything one point needs, as plain data (it travels to pool and Dask workers)."""

    task: SweepTask
    regime: Regime
    seeds: tuple[int, ...]
    isolation: str
    timeout: float = DEFAULT_TIMEOUT
    heads: int = 1
    layers: int = 1
    unused_heads: int = 0
    sandbox: bool | None = None  # False: --no-sandbox (reduction.isolation.parties)
    max_message_bytes: int | None = None

    @property
    def n_bits(self) -> int:
        """N = (D H - U) L' d: the bits of one seed's instance."""
        per_head = self.regime.carriers_witnessed * self.regime.d * (
            self.regime.bits_per_value or 1)
        return (self.heads * self.layers - self.unused_heads) * per_head


def _new_parties(job: PointJob) -> Any:
    """Alice and Bob for a run of points, their worker processes on one BLAS thread."""
    return open_parties(job.isolation, job.timeout, blas_threads=1, sandbox=job.sandbox,
                        max_message_bytes=job.max_message_bytes)


def _parties_key(job: PointJob) -> tuple[Any, ...]:
    return (job.isolation, job.timeout, job.sandbox, job.max_message_bytes)


def run_point(job: PointJob, parties: Any, clock: Callable[[], float] = time.perf_counter
              ) -> SweepPoint:
    """One configuration on every seed (on one BLAS thread); failures become points."""
    task, regime = job.task, job.regime
    start = clock()
    if task.skip is not None:
        return failed_point(task, None, job.seeds, job.n_bits, task.skip, 0.0, skipped=True)
    params: CacheParams | None = None
    try:
        with blas_threads(1):
            probe = replace(regime.public(0, task.cache, task.options), heads=job.heads,
                            layers=job.layers, unused_heads=job.unused_heads)
            if is_registered_cache(task.cache):
                params = probe.cache_params
            else:  # third-party code is resolved in a worker, never here
                parties.check(probe)
                params = CacheParams(regime.d, regime.schedule, dict(task.options),
                                     heads=job.heads, layers=job.layers)
            ledger, failure = LeakLedger(len(job.seeds)), None
            runs: list[SeedResult] = []
            for s in job.seeds:
                try:
                    runs.append(run_seed(regime.schedule, regime.d, regime.eps_requested,
                                         regime.eta, s, parties, cache=task.cache,
                                         options=task.options, additive=regime.additive,
                                         logit_cap=regime.logit_cap, var_head=regime.var_head,
                                         bits_per_value=regime.bits_per_value, regime=regime,
                                         heads=job.heads, layers=job.layers,
                                         unused_heads=job.unused_heads, ledger=ledger))
                except Exception as exc:  # a certified leak outranks a later failure
                    if not ledger.leak:
                        raise
                    failure = f"seed {s}: {type(exc).__name__}: {exc}"
                    break
        return point_from_runs(task, params, runs, clock() - start, ledger.pooled(), failure)
    except Exception as exc:  # a broken cache is a finding, not a crash of the sweep
        return failed_point(task, params, job.seeds, job.n_bits,
                            f"{type(exc).__name__}: {exc}", clock() - start)


_WORKER = threading.local()

#: How long ``--dask ADDRESS`` waits for the scheduler before giving up (Dask's syntax).
DASK_CONNECT_TIMEOUT = "10s"


def _pooled_point(job: PointJob) -> SweepPoint:
    """A point in a pool process, with that process's own parties (kept between points)."""
    parties = getattr(_WORKER, "parties", None)
    if parties is None or getattr(_WORKER, "key", None) != _parties_key(job):
        if parties is not None:
            parties.close()
        parties = _WORKER.parties = _new_parties(job)
        _WORKER.key = _parties_key(job)
        atexit.register(parties.close)
    return run_point(job, parties)


def _dask_points(jobs: list[PointJob]) -> list[SweepPoint]:
    """A group of points on a Dask worker: one pair of parties, closed before returning."""
    with _new_parties(jobs[0]) as parties:
        return [run_point(job, parties) for job in jobs]


def _results(jobs: Sequence[PointJob], workers: int, dask: str | None,
             clock: Callable[[], float]) -> Iterator[tuple[int, SweepPoint]]:
    """(index, point) pairs as points finish, from the chosen engine."""
    if dask is not None:
        yield from _dask_results(jobs, dask)
    elif workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_pooled_point, job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
    elif jobs:
        with _new_parties(jobs[0]) as parties:
            parties.start()
            for i, job in enumerate(jobs):
                yield i, run_point(job, parties, clock)


def _dask_results(jobs: Sequence[PointJob], address: str) -> Iterator[tuple[int, SweepPoint]]:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the installation
        raise InvalidArgument("--dask needs the optional dependency: pip install 'kvbound[dask]'"
                         ) from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except OSError as exc:
        raise InvalidArgument(f"--dask {address}: cannot reach a Dask scheduler there ({exc})"
                         ) from None
    with client:
        # Tasks of a few consecutive points each (about 4 per Dask worker), so a Bob
        # process is started per task, not per point.
        size = max(1, math.ceil(len(jobs) / (4 * max(1, len(client.nthreads())))))
        starts = list(range(0, len(jobs), size))
        futures = client.map(_dask_points, [list(jobs[s : s + size]) for s in starts],
                             pure=False)
        first = {f.key: s for f, s in zip(futures, starts)}
        for fut in as_completed(futures):
            for offset, point in enumerate(fut.result()):
                yield first[fut.key] + offset, point


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
    workers: int = 1,
    dask: str | None = None,
    clock: Callable[[], float] | None = None,
    logit_cap: float | None = None,
    var_head: bool = False,
    bits_per_value: int | None = None,
    heads: int = 1,
    layers: int = 1,
    unused_heads: int = 0,
    sandbox: bool | None = None,
    max_message_bytes: int | None = None,
) -> SweepResult:
    """Run every planned configuration on every seed (module docstring for the engines).

    Bad input (unknown cache, bad budget or option, a logit cap nothing fits under,
    workers < 1, a third-party cache its worker cannot resolve) raises ValueError before
    any run. Below d_min the C1 variant runs (reduction.regime).
    ``progress(done, total, point)`` is called as points finish (in completion order when
    parallel); the result keeps the planned order. ``clock`` times the points of a
    sequential run (pool and Dask workers use their own). ``heads``, ``layers`` and
    ``unused_heads`` run every point on D * H heads at once (docs/theorem.md#c2-run,
    #alloc; kvbound.experiments.planning for the caches swept). ``sandbox=False`` runs the
    parties unsandboxed (``--no-sandbox``); ``max_message_bytes`` bounds Alice's states
    (reduction.isolation.parties).
    """
    seed_list = (list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(seeds, int)
                 else [check_int_at_least(s, "seed", 0) for s in seeds])
    if not seed_list:
        raise InvalidArgument("no seeds given; pass seeds >= 1")
    if isolation not in ("process", "inline"):
        raise InvalidArgument(f"isolation={isolation!r}; choose 'process' or 'inline'")
    check_workers(workers)
    if dask is not None and workers != 1:
        raise InvalidArgument(f"give either workers={workers} (this machine) or dask={dask!r}")
    regime = plan_regime(schedule, d, eps, eta, additive=additive, logit_cap=logit_cap,
                         var_head=var_head, bits_per_value=bits_per_value)  # validates all
    tasks = plan_sweep(schedule, d, caches, budgets, bits_per_value, heads, layers)
    jobs = [PointJob(t, regime, tuple(seed_list), isolation, float(timeout), heads=heads,
                     layers=layers, unused_heads=unused_heads, sandbox=sandbox,
                     max_message_bytes=max_message_bytes) for t in tasks]
    third_party = [t for t in tasks if t.skip is None and not is_registered_cache(t.cache)]
    sandboxed = False
    if jobs:  # third-party caches are resolved and checked in a worker, up front
        with _new_parties(jobs[0]) as parties:
            sandboxed = bool(parties.record()["sandbox"])
            for task in third_party:
                parties.check(replace(regime.public(0, task.cache, task.options), heads=heads,
                                      layers=layers, unused_heads=unused_heads))
    points: list[SweepPoint | None] = [None] * len(jobs)
    finished = _results(jobs, workers, dask, clock or time.perf_counter)
    for done, (i, point) in enumerate(finished, start=1):
        points[i] = point
        if progress is not None:
            progress(done, len(jobs), point)
    return SweepResult(schedule, d, float(regime.eps), float(eta), additive,
                       tuple(seed_list), isolation, tuple(p for p in points if p is not None),
                       regime, heads, layers, unused_heads, sandbox=sandboxed)
