"""No false alarms: every registered cache over 20 seeds at var-256, and exact at n128.

Lemma CERT (docs/theorem.md#certificate) fires on an honest cache with probability at
most alpha = 1e-6 per run. This runs every registered cache (registered code, so Alice
and Bob run inline in this process) on var-256, d = 64, seeds 0..19, and the exact cache
on n128, d = 128, one seed, and prints for each the verdict, the decisive test (the one
closest to its threshold: its code, seed or pooled, and how many bits over the threshold
it stayed) and the seconds the run took, all measured here. tests/reduction/
test_no_false_alarms.py checks the var-256 runs (slow); the n128 run is the README's tour
command, run by tests/kvbound/test_docs_commands.py.
"""

from __future__ import annotations

import time

import caches
from reduction.protocol import run_verification
from reduction.schedule import Schedule

SEEDS = 20


def main() -> None:
    var256 = Schedule.preset("var-256")
    runs = [(name, var256, 64, SEEDS) for name in caches.cache_names()]
    runs.append(("exact", Schedule.preset("n128"), 128, 1))
    print(f"{'cache':22} {'schedule':9} {'seeds':>5} {'bit errors':>11} {'verdict':8} "
          f"{'closest test':32} {'bits over':>12} {'seconds':>8}")
    for name, schedule, d, seeds in runs:
        t0 = time.perf_counter()
        result = run_verification(schedule, d, 0.75, 0.25, seeds, cache=name,
                                  isolation="inline")
        seconds = time.perf_counter() - t0
        c = result.certificate
        print(f"{name:22} {schedule.name:9} {seeds:>5} {result.bit_errors:>11} "
              f"{'LEAK' if result.leak else 'ok':8} {c.code + ' (' + c.scope + ')':32} "
              f"{-c.margin_bits:>12.1f} {seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
