"""The attack suite at b bits per value (docs/theorem.md#prec): what each cache loses.

For b in {1, 2, 4, 8, 11} (values on 2^b levels m 2^-b, exact attention asked for: eta = 0)
this runs a set of caches on var-256, d = 64, one seed, and prints for each the symbol
error rate and memory / bound, the bound being Lemma PREC's L d b. Measured in this run;
nothing is asserted (tests/reduction/test_precision_reduction.py holds the checked claims).
"""

from __future__ import annotations

from kvbound.experiments import run_sweep
from reduction.schedule import Schedule

CACHES = ["exact-fp16", "exact-fp32", "uniform-q2", "uniform-q4", "uniform-q8", "kivi-q2",
          "kivi-q4", "lowrank", "sketch", "packer"]
BITS = (1, 2, 4, 8, 11)


def main() -> None:
    schedule = Schedule.preset("var-256")
    rows: dict[str, dict[int, str]] = {}
    for b in BITS:
        result = run_sweep(schedule, 64, 0.75, 0.0, caches=CACHES, budgets=(0.5,), seeds=1,
                           isolation="inline", bits_per_value=b)
        bound = result.n_bits
        for p in result.points:
            label = p.cache if p.option is None else f"{p.cache} {p.option}={p.budget}"
            cell = ("failed" if p.error else
                    f"{p.error_rate:5.3f} {p.message_bits / bound:6.2f}x")
            rows.setdefault(label, {})[b] = cell
    print("symbol error rate and memory / (L d b), var-256, d = 64, eta = 0, seed 0")
    print(f"{'cache':24}" + "".join(f"{'b = ' + str(b):>16}" for b in BITS))
    for label, cells in rows.items():
        print(f"{label:24}" + "".join(f"{cells.get(b, '-'):>16}" for b in BITS))


if __name__ == "__main__":
    main()
