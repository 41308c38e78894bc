"""BLAS threads chosen per operation, and the worker counts of the parallel paths.

Purpose: the reduction's heavy operations want different BLAS threading. Bob's attention
runs every GEMM on ONE BLAS thread and gets its parallelism from ``workers`` Python
threads, each on its own fixed query chunks: OpenBLAS's float32 GEMM rounds differently
with 1 and 2 threads (measured), so this is what makes ``--workers N`` bit-identical to
the sequential run. The key check multiplies +-1 matrices, exact in float32 whatever the
order of summation, so it may use every BLAS thread. The attack sweep runs each point on
one BLAS thread (its caches' SVDs and small GEMMs lose most of their time to thread
hand-offs on a shared machine).

``threadpoolctl`` sets the limit (a process-wide setting: entered once around a parallel
region, never inside a worker thread). It is imported lazily, on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lowerbound.validation import InvalidArgument

__all__ = ["blas_threads", "available_cores", "check_workers", "auto_workers",
           "PARALLEL_FLOPS"]

#: Bob's attention work (flops) from which ``--workers auto`` uses every core: below it a
#: second thread's start-up and the shared machine cost more than they save.
PARALLEL_FLOPS = 2e9

_CONTROLLER: Any = None
_LOCK = threading.Lock()
_ACTIVE: dict[str, Any] = {"n": None, "count": 0, "limiter": None}


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int, name: str = "workers") -> int:
    """``workers`` as an int >= 1 (ValueError naming the value otherwise).

    >>> check_workers(2)
    2
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgument(f"{name}={workers!r} must be a whole number >= 1 "
                         f"(this machine has {available_cores()} cores)")
    return workers


def auto_workers(cached_tokens: int, d: int) -> int:
    """``--workers auto``: every core this process may use when Bob's work, about
    4 L^2 d flops (L queries against L cached keys, two GEMMs), reaches
    :data:`PARALLEL_FLOPS`, else 1. Outputs do not depend on it (bit-identical).

    >>> auto_workers(424, 64), auto_workers(17856, 128) == available_cores()
    (1, True)
    """
    return available_cores() if 4.0 * cached_tokens**2 * d >= PARALLEL_FLOPS else 1


def _controller() -> Any:
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit the BLAS thread pool to ``n`` threads inside the block (None: leave as is).

    Concurrent blocks asking for the same ``n`` (e.g. Dask tasks in threads of one
    process) share one limit, lifted when the last of them exits, so no block sees the
    limit change under it.

    >>> import numpy as np
    >>> with blas_threads(1):
    ...     float((np.ones((2, 2)) @ np.ones((2, 2)))[0, 0])
    2.0
    """
    if n is None:
        yield
        return
    n = check_workers(n, "BLAS threads")
    with _LOCK:
        shared = _ACTIVE["count"] == 0 or _ACTIVE["n"] == n
        if _ACTIVE["count"] == 0:
            _ACTIVE["limiter"] = _controller().limit(limits=n, user_api="blas")
            _ACTIVE["n"] = n
        if shared:
            _ACTIVE["count"] += 1
    if not shared:  # a different limit nested inside an active one: plain nesting
        with _controller().limit(limits=n, user_api="blas"):
            yield
        return
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE["count"] -= 1
            if _ACTIVE["count"] == 0:
                _ACTIVE["limiter"].restore_original_limits()
                _ACTIVE["limiter"] = _ACTIVE["n"] = None
