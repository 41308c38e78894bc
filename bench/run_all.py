"""Run every benchmark script in bench/ in turn, then the test suite's slowest tests
(``make bench``).

The last part runs the whole pytest suite once with ``--durations=30`` and prints the 30
slowest tests, the suite's wall time and the share those 30 take: where the test budget
goes (``make test`` prints its own wall time). ``--no-test-durations`` skips it.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SLOWEST = 30


def test_durations(n: int = SLOWEST) -> int:
    """Run pytest with ``--durations=n``; print its slowest tests and the wall time."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-m", "not browser", f"--durations={n}"],  # as make test's pytest
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    first = next((i for i, line in enumerate(lines) if "slowest" in line), None)
    if first is None:
        print(proc.stdout[-4000:] + proc.stderr[-2000:])
        print(f"pytest exited {proc.returncode} without a durations table")
        return proc.returncode or 1
    table = [line for line in lines[first + 1:] if re.match(r"^\d+\.\d+s ", line)]
    print("\n".join(lines[first:first + 1 + len(table)]))
    summary = next((line for line in reversed(lines) if " in " in line and "passed" in line),
                   "")
    top = sum(float(line.split("s ", 1)[0]) for line in table)
    print(f"pytest: {wall:.0f} s wall ({summary.strip('= ')}); the {len(table)} slowest "
          f"take {top:.0f} s, {top / wall:.0%} of it; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return proc.returncode


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-test-durations", action="store_true",
                        help="skip the pytest run with --durations")
    args = parser.parse_args()
    for script in sorted(HERE.glob("*.py")):
        if script.name == "run_all.py" or script.name.startswith("_"):
            continue
        print(f"=== {script.name}", flush=True)
        sys.argv = [str(script)]
        runpy.run_path(str(script), run_name="__main__")
    if not args.no_test_durations:
        print(f"=== pytest --durations={SLOWEST}", flush=True)
        sys.exit(test_durations())
