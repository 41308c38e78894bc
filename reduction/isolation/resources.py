"""What a protocol run needs, estimated before it starts: bytes per process and seconds.

Purpose: the engineering rule "sizes that cannot fit are refused up front", and an honest
warning before a long run. One run of the reduction (:mod:`reduction.protocol`) keeps
three processes alive (the verifier and the two parties' workers, docs/theorem.md#reduction);
each holds, at its peak, in bytes (L = L_{K-1} cached tokens, T = T_K, d the head
dimension, S_k the cache's state after scale k, S = S_{K-1} the message, B0 the interpreter
with numpy and this package):

* verifier: Alice's bits and the key signs (2 L d), the BLAS workspace; then the larger
  of the key check (a float32 copy, 4 L d, and one 1024 x 4096 float32 tile with its
  mask) and the end of a seed: every boundary state it received (sum S_k), Bob's float64
  answer and the frame it came in (16 L d), the decoded symbols, the truth and their
  difference (6 L d);
* Alice's worker: her bits, the float64 keys and values (17 L d), the cache and its copy
  while it grows (2 S), the states and the frame that carries them (2 sum S_k);
* Bob's worker: the message and a pass's copy of the cache (2.5 S), the float32 keys and
  values with their extra column (8 L (d + 1)), a pass's float64 queries and outputs
  (16 T d), his answer and its frame (16 L d).

The state sizes come from the cache: ``state_bytes_per_token`` (the exact caches store
2 d numbers per token at their dtype; the default, 16 d, is float64 keys and values, the
largest a registered cache keeps). The processes are alive together, so a run needs the
sum; ``make bench`` compares the largest process with the measured peak RSS.

Seconds: start-up (both workers start as this process did: :func:`startup_seconds`)
plus, per seed, the key check (L^2 d flops at the float32 GEMM rate R), Bob's two GEMMs
and his exponentials (L^2 (4 (d + 1) + ``EXP_FLOPS``) / (R w), w the workers) and the
bytes moved (states, frames, decoding) at ``BYTES_PER_SECOND``. R is measured when the
estimate is made and scaled by this process's share of a loaded machine
(:func:`gemm_rate`). It is an estimate: ``make bench`` prints it beside every measured
run.

With D * H heads at once (``heads``, docs/theorem.md#c2-run) every part but the key
check's tile is D * H times larger, and Bob's stacked answers are copied twice more (the
carrying heads, then the requested rows).
"""

from __future__ import annotations

import os
import time

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.isolation.threads import available_cores, blas_threads
from reduction.schedule import Schedule

__all__ = [
    "MEMORY_FRACTION",
    "MAX_SEEDS",
    "BASELINE_BYTES",
    "RunEstimate",
    "estimate_run",
    "gemm_rate",
    "startup_seconds",
    "physical_memory_bytes",
    "check_run_fits",
    "describe_bytes",
    "describe_seconds",
]

MEMORY_FRACTION = 0.75
MAX_SEEDS = 1_000_000  # one run per seed: more is a job for several invocations
BASELINE_BYTES = 46 << 20  # one process: Python, numpy, this package (measured: 44-46 MiB)
STARTUP_SECONDS = 0.6  # imports and both workers started (measured in make bench)
EXP_FLOPS = 48  # one float32 exp and its bookkeeping, in GEMM flops (measured)
BYTES_PER_SECOND = 1.5e9  # copies, frames, to_bytes, decoding (measured)
_RECORD_BYTES = 2048
_PROBE_MAX_D = 512  # gemm_rate's largest inner dimension
_TILE_BYTES = int(1024 * 4096 * 5)  # the key check's float32 tile and its bool mask
_BLAS_BYTES = 10 << 20  # the BLAS workspace of the key check's large GEMMs (measured)
#: The verifier imports everything its verdict needs before any worker starts (the
#: sandbox's rule: nothing is imported after a cache ran), the plots and reports included
#: (measured: the verifier's peak RSS on var-1024 grew by about 35 MiB with the preload).
_PRELOAD_BYTES = 36 << 20


class RunEstimate(dict[str, int]):
    """Peak bytes per process of one run (a dict: ``verifier``, ``alice``, ``bob``,
    ``records``), with the total, the largest process, and the estimated ``seconds``."""

    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.values())

    @property
    def largest_process(self) -> int:
        return max(self["verifier"], self["alice"], self["bob"])

    def describe(self) -> str:
        """The three largest parts, e.g. ``"bob 1.2 GiB, alice 0.9 GiB, verifier ..."``."""
        parts = sorted(self.items(), key=lambda kv: -kv[1])[:3]
        return ", ".join(f"{name} {describe_bytes(size)}" for name, size in parts)


def describe_bytes(n: float) -> str:
    """``"3.1 GiB"`` or ``"240 MiB"``.

    >>> describe_bytes(3.1 * 2**30), describe_bytes(240 * 2**20)
    ('3.1 GiB', '240 MiB')
    """
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def describe_seconds(s: float) -> str:
    """``"40 s"``, ``"4 min"`` or ``"2.0 h"``.

    >>> describe_seconds(40.2), describe_seconds(250), describe_seconds(7200)
    ('40 s', '4 min', '2.0 h')
    """
    if s < 90:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def gemm_rate(d: int = 128, repeats: int = 5) -> float:
    """float32 GEMM flops per second one BLAS thread gets *now*: the kernel's shape (512
    queries x (d + 1) x 2048 keys, the median of ``repeats``, ~15 ms) times this
    thread's share of the machine, min(1, cores / (1 + the 1-minute load average)), since
    a run of seconds shares the cores with whatever else is running. Timed at
    min(d, 1024): the rate per flop no longer depends on d there, and a d of 10^8 (a run
    about to be refused for its memory) must not allocate 10^8 columns to be timed."""
    d = min(d, 1024)
    rng = np.random.default_rng(0)
    k = min(d, _PROBE_MAX_D) + 1
    a = rng.standard_normal((512, k), dtype=np.float32)
    b = rng.standard_normal((2048, k), dtype=np.float32)
    out = np.empty((512, 2048), dtype=np.float32)
    times = []
    with blas_threads(1):
        np.matmul(a, b.T, out=out)
        for _ in range(repeats):
            t = time.perf_counter()
            np.matmul(a, b.T, out=out)
            times.append(time.perf_counter() - t)
    rate = 2.0 * 512 * 2048 * k / max(float(np.median(times)), 1e-9)
    return rate * min(1.0, available_cores() / (1.0 + _load_average()))


def _load_average() -> float:
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # pragma: no cover - not POSIX
        return 0.0


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), or None."""
    try:
        with open("/proc/self/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


#: This process's age when the module was imported: its interpreter and imports.
_AGE_AT_IMPORT = _process_age()


def startup_seconds() -> float:
    """Start-up of a run: the two workers start while the verifier plans, each about as
    long as this process took to import this module (its interpreter and imports, read
    from /proc when the module was imported), between :data:`STARTUP_SECONDS` and 5 s."""
    if _AGE_AT_IMPORT is None:
        return STARTUP_SECONDS
    return min(5.0, max(STARTUP_SECONDS, 1.2 * _AGE_AT_IMPORT + 0.1))


def estimate_run(schedule: Schedule, d: int, seeds: int = 1, *,
                 state_bytes_per_token: float | None = None, workers: int = 1,
                 rate: float | None = None, startup: float | None = None,
                 heads: int = 1) -> RunEstimate:
    """Peak bytes per process and seconds of a run on ``schedule`` at head dimension ``d``
    (module docstring). ``rate`` (float32 GEMM flops/s on one thread) and ``startup``
    (seconds) default to measurements now; pass both to make the estimate deterministic.
    ``heads`` = D * H heads at once.

    >>> est = estimate_run(Schedule.preset("var-256"), 64, rate=3e10)
    >>> 1e6 < est.total < 1e9, est.largest_process == est["verifier"] or True
    (True, True)
    >>> estimate_run(Schedule.preset("var-256"), 64, rate=3e10, heads=256).total < 2 * 2**30
    True
    """
    d = check_int_at_least(d, "d", 1)
    seeds = check_int_at_least(seeds, "seeds", 1)
    workers = check_int_at_least(workers, "workers", 1)
    g = check_int_at_least(heads, "heads", 1)
    n, t = schedule.cached_tokens, schedule.last_scale_tokens
    per_token = 16.0 * d if state_bytes_per_token is None else float(state_bytes_per_token)
    states = [g * per_token * lk for lk in schedule.cumulative[:-1]]
    message, all_states = states[-1], sum(states)
    nd = g * n * d
    tile = min(_TILE_BYTES, 5 * min(1024, n) * min(4096, n))
    verifier = BASELINE_BYTES + _PRELOAD_BYTES + _BLAS_BYTES + 2 * nd + max(4 * nd + tile,
                                                          all_states + 22 * nd)
    alice = BASELINE_BYTES + 17 * nd + 2 * message + 2 * all_states
    bob = (BASELINE_BYTES + 2.5 * message + g * (8 * n * (d + 1) + 16 * t * d) + 16 * nd
           + (0 if g == 1 else 16 * nd))
    est = RunEstimate({"verifier": int(verifier), "alice": int(alice), "bob": int(bob),
                       "records": seeds * _RECORD_BYTES})
    r = gemm_rate(d) if rate is None else float(rate)
    flops = g * (n * n * d + n * n * (4 * (d + 1) + EXP_FLOPS) / workers)
    moved = 2 * all_states + 40 * nd
    start = startup_seconds() if startup is None else float(startup)
    est.seconds = start + seeds * (flops / r + moved / BYTES_PER_SECOND)
    return est


def physical_memory_bytes() -> int | None:
    """Installed memory in bytes, or None where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_run_fits(schedule: Schedule, d: int, seeds: int = 1, *,
                   available: int | None = None, concurrent: int = 1,
                   state_bytes_per_token: float | None = None, workers: int = 1,
                   rate: float | None = None, heads: int = 1) -> RunEstimate:
    """The estimate, or a ValueError naming it when the run cannot fit in memory.

    ``available`` defaults to the physical memory; runs above :data:`MEMORY_FRACTION` of
    it, or with more than :data:`MAX_SEEDS` seeds, are refused (a long run is not: its
    time is only reported). ``concurrent`` runs at once (``attack --workers``) need that
    many times one run's memory.

    >>> check_run_fits(Schedule.parse("1,1000"), 2048, available=32 * 2**30, rate=3e10)
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: schedule 1,1000 [1,1000] with d=2048 needs about 30.7 GiB (bob 30.6 GiB, verifier 92 MiB, alice 46 MiB) for one run; this machine has 32.0 GiB (runs above 75% are refused): lower d or use a smaller schedule
    """  # noqa: E501
    check_int_at_least(seeds, "seeds", 1)
    parallel = check_int_at_least(concurrent, "concurrent", 1)
    if seeds > MAX_SEEDS:
        raise InvalidArgument(f"seeds={seeds} exceeds {MAX_SEEDS} (each seed is one protocol run, "
                         "kept in memory with its record); split the run into several")
    est = estimate_run(schedule, d, seeds, state_bytes_per_token=state_bytes_per_token,
                       workers=workers, rate=rate, heads=heads)
    memory = physical_memory_bytes() if available is None else available
    need = est.total + (parallel - 1) * (est.total - est["records"])
    if memory is not None and need > MEMORY_FRACTION * memory:
        runs = "one run" if seeds == 1 else f"{seeds} runs"
        raise InvalidArgument(
            f"schedule {schedule} with d={d}{f' on {heads} heads' if heads > 1 else ''} needs "
            f"about {describe_bytes(need)} ({est.describe()}) for "
            f"{runs if parallel == 1 else f'{runs}, {parallel} at once'}; this machine has "
            f"{describe_bytes(memory)} (runs above {MEMORY_FRACTION:.0%} are refused): lower d "
            "or use a smaller schedule" + ("" if parallel == 1 else " or fewer workers")
        )
    return est
