"""Running the attack sweep: every planned point through the same Alice/Bob protocol.

Purpose: docs/theorem.md#feasible. Each point (one cache configuration) runs the reduction
of docs/theorem.md#reduction on every seed and is pooled by
:func:`kvbound.experiments.pooling.point_from_runs`. A cache that raises while running is
recorded as a failed point and the sweep goes on.

Points are independent, so they may run in parallel: ``workers=N`` uses a pool of N
processes on this machine, ``dask="tcp://host:port"`` the workers of an existing Dask
cluster (``pip install kvbound[dask]``). Each point runs on one BLAS thread wherever it
runs (reduction.threads), so every mode gives the same points as the sequential run, bit
for bit, except their wall-clock ``seconds``. Bob is a separate process (default) or the
same function inline (``isolation="inline"``, for tests): one Bob per sequential sweep or
per pool process, one per Dask task (a task of a few points; it leaves no process
behind).

References: arXiv 2503.14881 (VAR); arXiv 2502.15955 (Haris & Onak).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from kvbound.experiments.planning import DEFAULT_BUDGETS, SweepTask, plan_sweep
from kvbound.experiments.pooling import SweepPoint, SweepResult, failed_point, point_from_runs
from lowerbound.validation import check_int_at_least
from reduction.cache import CacheParams
from reduction.protocol import PublicParams, bob_outputs, run_seed
from reduction.schedule import Schedule
from reduction.threads import blas_threads, check_workers

__all__ = ["run_sweep", "run_point", "PointJob"]


@dataclass(frozen=True)
class PointJob:
    """Everything one point needs, as plain data (it travels to pool and Dask workers)."""

    task: SweepTask
    schedule: Schedule
    d: int
    eps: float
    eta: float
    seeds: tuple[int, ...]
    additive: bool
    isolation: str


class _InlineBob:
    """Bob in this process (same function, still fed only the bytes)."""

    def outputs(self, message: bytes, public: PublicParams,
                tokens: Iterable[int] | None = None) -> np.ndarray:
        return bob_outputs(message, public, tokens)

    def close(self) -> None:
        pass


class _RestartingBob:
    """One Bob process, started again if a broken cache kills it."""

    def __init__(self) -> None:
        from reduction.bob import BobProcess

        self._factory = BobProcess
        self._bob = BobProcess().__enter__()

    def outputs(self, message: bytes, public: PublicParams,
                tokens: Iterable[int] | None = None) -> np.ndarray:
        from reduction.bob import BobFailure

        try:
            return self._bob.outputs(message, public, tokens)
        except BobFailure:
            self._bob.close()
            self._bob = self._factory().__enter__()
            raise

    def close(self) -> None:
        self._bob.close()


def _new_bob(isolation: str) -> _InlineBob | _RestartingBob:
    return _RestartingBob() if isolation == "process" else _InlineBob()


def run_point(job: PointJob, bob: Any, clock: Callable[[], float] = time.perf_counter
              ) -> SweepPoint:
    """One configuration on every seed (on one BLAS thread); failures become points."""
    task, n_bits = job.task, job.schedule.cached_tokens * job.d
    start = clock()
    if task.skip is not None:
        return failed_point(task, None, job.seeds, n_bits, task.skip, 0.0, skipped=True)
    params: CacheParams | None = None
    try:
        with blas_threads(1):
            params = PublicParams(job.schedule, job.d, job.eps, job.eta, 0, task.cache,
                                  dict(task.options), job.additive).cache_params
            runs = [run_seed(job.schedule, job.d, job.eps, job.eta, s, bob, cache=task.cache,
                             options=task.options, additive=job.additive) for s in job.seeds]
        return point_from_runs(task, params, runs, clock() - start)
    except Exception as exc:  # a broken cache is a finding, not a crash of the sweep
        return failed_point(task, params, job.seeds, n_bits, f"{type(exc).__name__}: {exc}",
                            clock() - start)


_WORKER = threading.local()


def _pooled_point(job: PointJob) -> SweepPoint:
    """A point in a pool process, with that process's own Bob (kept between points)."""
    bob = getattr(_WORKER, "bob", None)
    if bob is None or getattr(_WORKER, "isolation", None) != job.isolation:
        bob = _WORKER.bob = _new_bob(job.isolation)
        _WORKER.isolation = job.isolation
    return run_point(job, bob)


def _dask_points(jobs: list[PointJob]) -> list[SweepPoint]:
    """A group of points on a Dask worker: one Bob, closed before the task returns."""
    bob = _new_bob(jobs[0].isolation)
    try:
        return [run_point(job, bob) for job in jobs]
    finally:
        bob.close()


@contextmanager
def _sequential_bob(isolation: str) -> Iterator[Any]:
    bob = _new_bob(isolation)
    try:
        yield bob
    finally:
        bob.close()


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
    else:
        with _sequential_bob(jobs[0].isolation if jobs else "inline") as bob:
            for i, job in enumerate(jobs):
                yield i, run_point(job, bob, clock)


def _dask_results(jobs: Sequence[PointJob], address: str) -> Iterator[tuple[int, SweepPoint]]:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the installation
        raise ValueError("--dask needs the optional dependency: pip install 'kvbound[dask]'"
                         ) from None
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise ValueError(f"--dask {address}: cannot reach a Dask scheduler there ({exc})"
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
    progress: Callable[[int, int, SweepPoint], None] | None = None,
    workers: int = 1,
    dask: str | None = None,
    clock: Callable[[], float] | None = None,
) -> SweepResult:
    """Run every planned configuration on every seed (module docstring for the engines).

    Bad input (unknown cache, bad budget or option, d below d_min, workers < 1) raises
    ValueError before any run. ``progress(done, total, point)`` is called as points
    finish (in completion order when parallel); the result keeps the planned order.
    ``clock`` times the points of a sequential run (pool and Dask workers use their own).
    """
    seed_list = (list(range(check_int_at_least(seeds, "seeds", 1))) if isinstance(seeds, int)
                 else [check_int_at_least(s, "seed", 0) for s in seeds])
    if not seed_list:
        raise ValueError("no seeds given; pass seeds >= 1")
    if isolation not in ("process", "inline"):
        raise ValueError(f"isolation={isolation!r}; choose 'process' or 'inline'")
    check_workers(workers)
    if dask is not None and workers != 1:
        raise ValueError(f"give either workers={workers} (this machine) or dask={dask!r}")
    PublicParams(schedule, d, eps, eta, 0, "exact", {}, additive)  # eps, eta, d >= d_min
    tasks = plan_sweep(schedule, d, caches, budgets)
    jobs = [PointJob(t, schedule, d, float(eps), float(eta), tuple(seed_list), additive,
                     isolation) for t in tasks]
    points: list[SweepPoint | None] = [None] * len(jobs)
    finished = _results(jobs, workers, dask, clock or time.perf_counter)
    for done, (i, point) in enumerate(finished, start=1):
        points[i] = point
        if progress is not None:
            progress(done, len(jobs), point)
    return SweepResult(schedule, d, float(eps), float(eta), additive, tuple(seed_list),
                       isolation, tuple(p for p in points if p is not None))
