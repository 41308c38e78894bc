"""The reduction against the machine's flop limit, measured in one run (``make bench``).

For var-256, var-512, n128 and var-1024 at d = 64 and 128, with the exact fp16 cache:

* Bob's attention (every pass, from the message, ``workers`` = the cores here): seconds
  and GFLOP/s counted on the MINIMUM work, 4 L^2 d flops (L queries against L cached
  keys, Q K^T and P V; no padded query rows, no zero keys);
* the float32 numpy matmul rate (2048^2, same threads; the better of a measurement just
  before and one just after), and the ratio of the two: the share of the flop limit
  Bob's attention reaches;
* ``work/min``: the flops the kernel issues over that minimum ((d+1)/d: the shift and
  the normaliser ride in the GEMMs; the old padded float64 path issued ~3.5x);
* the speed-up over a naive Bob (per query: scores against the padded cache in float64,
  softmax, weighted sum; timed on a sample of queries, scaled to all L);
* ``kvbound verify`` in a subprocess (its default ``--workers auto``): wall seconds, the
  same as a multiple of the flop limit (minimum flops / matmul rate), peak RSS (the
  largest process of the tree, from ``getrusage(RUSAGE_CHILDREN)`` of a wrapper), the
  estimate of both that ``verify`` makes before it runs (made the same way in a fresh
  process just before) and the measured over estimated ratios, and Bob's bit errors.

Then ``kvbound verify`` alone on n192 and n256 at d = 64 and 128 (the same columns), the
must-show lines (n128, d = 128: at most 2x the flop limit and 300 MiB; n256, d = 128: at
most 25 s and 1 GiB), and ``kvbound verify --schedule var-256`` end to end (process start
to exit) against ``python -c pass`` and ``python -c 'import numpy'``. Absolute seconds
depend on the machine's load (printed); the ratios are measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from _timing import best_seconds  # bench/ is on sys.path when a script runs

from caches.exact import ExactCache
from lowerbound.jl import d_min
from reduction.attention import softmax_rows
from reduction.isolation.threads import available_cores, blas_threads
from reduction.parties import alice_message, bob_outputs
from reduction.public import PublicParams
from reduction.schedule import Schedule

CASES = [(s, d) for s in ("var-256", "var-512", "n128", "var-1024") for d in (64, 128)]
VERIFY_ONLY = [(s, d) for s in ("n192", "n256") for d in (64, 128)]
MiB = 2**20
ETA = 0.25
NAIVE_SAMPLE = 48
_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'wall': wall, 'rss_kib': rss, 'rc': r.returncode, 'out': r.stdout}))\n"
)



def matmul_gflops(threads: int, n: int = 2048) -> float:
    """float32 numpy matmul rate on ``threads`` BLAS threads, measured now."""
    a = np.random.default_rng(0).normal(size=(n, n)).astype(np.float32)
    with blas_threads(threads):
        seconds = best_seconds(lambda: a @ a, repeat=3)
    return 2 * n**3 / seconds / 1e9


def eps_for(schedule: Schedule, d: int) -> float:
    """0.75, or the least of 0.8, 0.85, ... with d >= d_min(L, eps) (n128 at d = 64)."""
    eps = 0.75
    while d < d_min(schedule.cached_tokens, eps):
        eps = round(eps + 0.05, 2)
    return eps


def naive_seconds(message: bytes, public: PublicParams) -> float:
    """A naive Bob, per query in float64 against the padded cache; scaled to L queries."""
    cache = ExactCache.from_bytes(message, public.cache_params)
    t_last, d = public.schedule.last_scale_tokens, public.d
    k = np.vstack([cache.keys.astype(np.float64), np.zeros((t_last, d))])
    v = np.vstack([cache.values.astype(np.float64), np.zeros((t_last, d))])
    n = public.schedule.cached_tokens
    rows = np.linspace(0, n - 1, NAIVE_SAMPLE).astype(int)
    queries = public.scale * public.key_family().keys[rows]
    t0 = time.perf_counter()
    for q in queries:
        softmax_rows((k @ q)[None, :]) @ v
    return (time.perf_counter() - t0) / rows.size * n


def verify_subprocess(args: list[str]) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "kvbound", "verify", *args]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


_ESTIMATE = (
    "import json, sys\n"
    "import kvbound.cli, kvbound.commands.verify as v\n"
    "from reduction.isolation.resources import estimate_run\n"
    "from reduction.isolation.threads import auto_workers\n"
    "from reduction.schedule import Schedule\n"
    "s, d = Schedule.preset(sys.argv[1]), int(sys.argv[2])\n"
    "e = estimate_run(s, d, workers=auto_workers(s.cached_tokens, d),\n"
    "                 state_bytes_per_token=v.state_bytes_per_token('exact-fp16', None, d))\n"
    "print(json.dumps({'seconds': e.seconds, 'bytes_largest_process': e.largest_process}))\n"
)


def estimate_subprocess(name: str, d: int) -> dict:  # type: ignore[type-arg]
    """The estimate ``kvbound verify`` makes before it runs, made the same way: in a fresh
    process that has imported the command (its start-up term is that process's age)."""
    cmd = [sys.executable, "-c", _ESTIMATE, name, str(d)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def verify_columns(name: str, d: int, eps: float, rate: float) -> tuple[str, dict]:  # type: ignore[type-arg]
    """``kvbound verify`` on a preset (Bob on every core: --workers auto): wall, x flop
    limit, peak RSS, the estimate of both made just before and measured / estimated."""
    est = estimate_subprocess(name, d)
    run = verify_subprocess(["--schedule", name, "--d", str(d), "--eps", str(eps), "--json",
                             "--quiet", "--cache", "exact-fp16"])
    record = json.loads(run["out"])
    n = Schedule.preset(name).cached_tokens
    limit = 4 * n * n * d / (rate * 1e9)
    rss = run["rss_kib"] * 1024
    row = (f"{run['wall']:>7.2f} {run['wall'] / limit:>7.2f} {rss / MiB:>7.0f} "
           f"{est['seconds']:>7.1f} {run['wall'] / est['seconds']:>6.2f} "
           f"{est['bytes_largest_process'] / MiB:>7.0f} "
           f"{rss / est['bytes_largest_process']:>6.2f}")
    return row, {"wall": run["wall"], "limit": limit, "rss": rss, "errors":
                 record["bit_errors"], "time_ratio": run["wall"] / est["seconds"],
                 "rss_ratio": rss / est["bytes_largest_process"]}


def case_row(name: str, d: int, workers: int) -> tuple[str, dict]:  # type: ignore[type-arg]
    schedule = Schedule.preset(name)
    eps = eps_for(schedule, d)
    public = PublicParams(schedule, d, eps, ETA, 1)
    n = schedule.cached_tokens
    bits = np.random.default_rng(0).integers(0, 2, size=(n, d))
    message = alice_message(bits, public, np.random.default_rng(1))
    before = matmul_gflops(workers)
    z = bob_outputs(message, public, workers=workers)  # warm-up, and the bits
    errors = int(np.count_nonzero((z > public.tau) != bits.astype(bool)))
    bob = best_seconds(lambda: bob_outputs(message, public, workers=workers), repeat=2)
    rate = max(before, matmul_gflops(workers))  # the better of just before and just after
    flops = 4 * n * n * d
    naive = naive_seconds(message, public)
    columns, measured = verify_columns(name, d, eps, rate)
    return (f"{name:>9} {d:>4} {eps:>5} {n:>6} {bob:>7.3f} {flops / bob / 1e9:>7.1f} "
            f"{rate:>7.1f} {flops / bob / 1e9 / rate:>6.2f} {(d + 1) / d:>8.3f} "
            f"{naive / bob:>7.0f} {columns} {errors}/{measured['errors']}"), measured


def verify_row(name: str, d: int, workers: int) -> tuple[str, dict]:  # type: ignore[type-arg]
    schedule = Schedule.preset(name)
    eps = eps_for(schedule, d)
    rate = matmul_gflops(workers)
    columns, measured = verify_columns(name, d, eps, rate)
    blank = "-"
    return (f"{name:>9} {d:>4} {eps:>5} {schedule.cached_tokens:>6} {blank:>7} {blank:>7} "
            f"{rate:>7.1f} {blank:>6} {blank:>8} {blank:>7} {columns} {measured['errors']}"), \
        measured


def _median_wall(cmd: list[str], repeat: int = 5) -> float:
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def main() -> None:
    workers = available_cores()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {workers} cores "
          f"(Bob's kernel with {workers} threads; verify with --workers auto)")
    print(f"{'schedule':>9} {'d':>4} {'eps':>5} {'L':>6} {'bob s':>7} {'GFLOP/s':>7} "
          f"{'matmul':>7} {'ratio':>6} {'work/min':>8} {'vs naive':>7} {'verify':>7} "
          f"{'x limit':>7} {'RSS MiB':>7} {'est s':>7} {'s/est':>6} {'est MiB':>7} "
          f"{'RSS/est':>6} errors")
    results = {}
    for name, d in CASES:
        row, results[name, d] = case_row(name, d, workers)
        print(row, flush=True)
    for name, d in VERIFY_ONLY:
        row, results[name, d] = verify_row(name, d, workers)
        print(row, flush=True)
    n128, n256 = results["n128", 128], results["n256", 128]
    print(f"must-show n128, d = 128: verify {n128['wall'] / n128['limit']:.2f} x the flop "
          f"limit (<= 2), peak RSS {n128['rss'] / MiB:.0f} MiB (<= 300)")
    print(f"must-show n256, d = 128: verify {n256['wall']:.1f} s (<= 25), peak RSS "
          f"{n256['rss'] / MiB:.0f} MiB (<= 1024)")
    times = [r["time_ratio"] for r in results.values()]
    sizes = [r["rss_ratio"] for r in results.values()]
    print(f"estimator, measured / estimated: seconds in [{min(times):.2f}, {max(times):.2f}], "
          f"peak RSS in [{min(sizes):.2f}, {max(sizes):.2f}] (goal: within 0.75 .. 1.25; "
          f"{sum(0.75 <= t <= 1.25 for t in times)}/{len(times)} and "
          f"{sum(0.75 <= r <= 1.25 for r in sizes)}/{len(sizes)} runs are)")
    py = sys.executable
    e2e = _median_wall([py, "-m", "kvbound", "verify", "--schedule", "var-256", "--quiet"])
    bare = _median_wall([py, "-c", "pass"])
    numpy_only = _median_wall([py, "-c", "import numpy"])
    print(f"var-256 verify end to end: {e2e:.3f} s (median of 5) = {e2e / numpy_only:.1f} x "
          f"python -c 'import numpy' ({numpy_only:.3f} s; goal <= 5 x) and {e2e / bare:.0f} x "
          f"python -c pass ({bare:.3f} s)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
