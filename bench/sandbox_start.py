"""What the sandbox costs, measured in one run (``make bench``; docs/theorem.md#sandbox).

* a bare ``python -S -c pass``, plain and inside bubblewrap (the sandbox's own start-up:
  namespaces, mounts, the seccomp filter);
* a party's worker from start to "ready" (Python, numpy, the cache registry), plain and
  sandboxed;
* one seed's fresh Alice: a child forked by her zygote and killed with all it started,
  against starting a sandboxed worker for every seed;
* ``kvbound verify --schedule 1,2,4 --d 32 --seeds 5`` end to end, sandboxed and with
  ``--no-sandbox``.

Absolute seconds depend on the machine's load; the ratios are measured in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys

from _timing import best_seconds  # bench/ is on sys.path when a script runs

import caches  # noqa: F401  (installs the registry and its worker module)
from reduction import cachespec
from reduction.isolation.party import ForkedParty, PartyProcess
from reduction.isolation.sandbox import Worker, sandbox_status


def _bare(status: object) -> None:
    worker = Worker([sys.executable, "-S", "-c", "pass"], os.environ,
                    status=status, limits=None)  # type: ignore[arg-type]
    worker.proc.wait()
    worker.kill()


def _ready(status: object) -> None:
    party = PartyProcess("bob", 60, module=cachespec.worker_module() or "",
                         sandbox=status)  # type: ignore[arg-type]
    party._channel("bench")
    party.end()


def _seeds(zygote: ForkedParty, seeds: int) -> None:
    for _ in range(seeds):
        zygote._channel("bench")
        zygote.finish()


def _verify(*extra: str) -> None:
    subprocess.run([sys.executable, "-m", "kvbound", "verify", "--schedule", "1,2,4",
                    "--d", "32", "--seeds", "5", "--quiet", *extra], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    status = sandbox_status()
    print(f"load average {os.getloadavg()[0]:.2f}; sandbox: {status.describe()}")
    if not status.available:
        return
    bare = best_seconds(lambda: _bare(None))
    boxed = best_seconds(lambda: _bare(status))
    print(f"python -S -c pass: plain {bare:.3f} s, sandboxed {boxed:.3f} s "
          f"(bubblewrap adds {boxed - bare:+.3f} s, x{boxed / bare:.2f})")
    plain = best_seconds(lambda: _ready(None))
    sandboxed = best_seconds(lambda: _ready(status))
    print(f"worker to ready: plain {plain:.3f} s, sandboxed {sandboxed:.3f} s "
          f"(x{sandboxed / plain:.2f})")
    zygote = ForkedParty("alice", 60, module=cachespec.worker_module() or "", sandbox=status)
    zygote._channel("bench")  # start-up once
    zygote.finish()
    per_seed = best_seconds(lambda: _seeds(zygote, 10)) / 10
    zygote.end()
    print(f"a fresh Alice per seed: forked by her zygote {per_seed:.4f} s, a new sandboxed "
          f"worker {sandboxed:.3f} s (x{sandboxed / per_seed:.0f} saved per seed)")
    with_box = best_seconds(_verify, repeat=2)
    without = best_seconds(lambda: _verify("--no-sandbox"), repeat=2)
    print(f"verify 1,2,4 d=32, 5 seeds: sandboxed {with_box:.2f} s, --no-sandbox "
          f"{without:.2f} s (x{with_box / without:.2f})")


if __name__ == "__main__":
    main()
