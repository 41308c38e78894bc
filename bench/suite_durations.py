"""The test suite's wall time and its slowest tests (``make bench``), as ``make test`` runs it.

Runs ``pytest --durations=30`` on the whole suite in a subprocess and prints the wall
time, the load average around it and pytest's table of the 30 slowest test phases. The
suite's budget (under 10 minutes on a loaded 2-core machine, 4 on a quiet one) is read
off this line, not asserted anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    before = os.getloadavg()[0]
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--durations=30"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = run.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "slowest" in line), len(lines))
    print("\n".join(lines[start:]))
    print(f"test suite: {wall:.0f} s wall (exit {run.returncode}); load average "
          f"{before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
