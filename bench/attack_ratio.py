"""How close the instance-optimal packer comes to the theorem's bound, measured in one run.

For var-256 and var-512 at d = 64 and 128, runs the packer and the exact float16 cache
through the reduction (Alice -> bytes -> Bob in a separate process, one seed) and prints
the packer's message bits against the bound N = L_{K-1} * d of Lemma L4 (delta = 0) and
against the exact fp16 cache's message, as ratios, with the bit errors of both (a ratio
means something only if Bob decoded every bit) and the seconds the sweep took.

docs/theorem.md#tight, "Tightness" (ours): the packer should sit within 1 + O(log L / d)
of N; the exact fp16 cache sits at about 32 N.
"""

from __future__ import annotations

import time

from caches import CACHES
from kvbound.experiments import PACKER_CACHE, run_sweep
from reduction.schedule import Schedule

CASES = (("var-256", 64), ("var-256", 128), ("var-512", 64), ("var-512", 128))
EPS, ETA = 0.75, 0.25


def main() -> None:
    if PACKER_CACHE not in CACHES:
        print(f"the packer ({PACKER_CACHE!r}) is not registered: nothing to measure")
        return
    print(f"{'schedule':>9} {'d':>4} {'N = bound':>10} {'packer bits':>12} {'packer/N':>9} "
          f"{'exact fp16':>11} {'packer/exact':>12} {'errors p/e':>10} {'seconds':>8}")
    for name, d in CASES:
        schedule = Schedule.preset(name)
        t0 = time.perf_counter()
        result = run_sweep(schedule, d, EPS, ETA, caches=[PACKER_CACHE, "exact-fp16"],
                           seeds=1)
        seconds = time.perf_counter() - t0
        packer, exact = result.points
        for p in (packer, exact):
            if p.error is not None:
                raise SystemExit(f"{p.cache} failed on {name}, d={d}: {p.error}")
        n = result.n_bits
        print(f"{name:>9} {d:>4} {n:>10} {packer.message_bits:>12} "
              f"{packer.message_bits / n:>9.4f} {exact.message_bits:>11} "
              f"{packer.message_bits / exact.message_bits:>12.5f} "
              f"{packer.bit_errors:>4}/{exact.bit_errors:<5} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
