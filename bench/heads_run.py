"""C2 as a run: ``verify --heads 16 --layers 16 --schedule var-256 --d 64`` timed, with its
peak memory (docs/theorem.md#c2-run).

Each run is a fresh Python process (so its peak resident size is its own): it calls
``kvbound verify ... --json`` and reports the wall time, the verifier's peak RSS and the
largest peak RSS of its two worker processes (Alice, Bob). The three processes can be
alive together, so their sum bounds the run's total; the issue's budget is 2 GiB.

Printed ratios, all measured in this run: the total against 2 GiB; the 16 x 16 run's
time against 256 times a one-head run of the same shapes (how much cheaper a head is when
all heads share one pass); seconds per million instance bits.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import contextlib, io, json, resource, sys, time
import kvbound.cli
args = sys.argv[1:]
out = io.StringIO()
t0 = time.perf_counter()
with contextlib.redirect_stdout(out):
    code = kvbound.cli.main(args)
seconds = time.perf_counter() - t0
record = json.loads(out.getvalue())
self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "self_kib": self_kib,
                  "worker_kib": child_kib, "instance_bits": record["instance_bits"],
                  "bit_errors": record["bit_errors"], "message_bits": record["message_bits"]}))
"""

GIB = 2**30
BUDGET = 2 * GIB


def run(heads: int, layers: int) -> dict[str, float]:
    """One verify run in a fresh process: its record, time and peak memories."""
    argv = ["verify", "--heads", str(heads), "--layers", str(layers), "--schedule", "var-256",
            "--d", "64", "--json", "--quiet"]
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    one = run(1, 1)
    big = run(16, 16)
    total = 1024 * (big["self_kib"] + 2 * big["worker_kib"])
    print(f"verify --heads 16 --layers 16 --schedule var-256 --d 64: "
          f"{big['instance_bits']} instance bits, {big['bit_errors']} bit errors, "
          f"{big['message_bits']} message bits, exit {big['code']}")
    print(f"  wall time {big['seconds']:.2f} s; peak RSS: verifier {big['self_kib'] / 1024:.0f} "
          f"MiB, largest worker {big['worker_kib'] / 1024:.0f} MiB")
    print(f"  verifier + 2 x largest worker = {total / 2**20:.0f} MiB = "
          f"{total / BUDGET:.3f} x the 2 GiB budget")
    print(f"  time / (256 x one-head time {one['seconds']:.2f} s) = "
          f"{big['seconds'] / (256 * one['seconds']):.3f}")
    print(f"  seconds per million instance bits: {1e6 * big['seconds'] / big['instance_bits']:.3f}"
          f" (one head: {1e6 * one['seconds'] / one['instance_bits']:.3f})")


if __name__ == "__main__":
    main()
