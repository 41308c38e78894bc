"""What a protocol run needs, estimated before it starts, so sizes that cannot fit are
refused up front with the estimate instead of being discovered at 23 GB.

Purpose: the engineering rule "sizes that cannot fit are refused up front". One run of the
reduction (:mod:`reduction.protocol`) holds, at its peak, in bytes (L = L_{K-1} cached
tokens, T = T_K last-scale tokens, L_K = L + T, d the head dimension):

* Alice's instance, L d bits as uint8, and the current block cast to float64;
* the public keys: L d int8 signs, a float64 copy on each side (2 x 8 L d), and the
  block Gram matrix of the key check, min(2048, L) x L float32 plus its mask;
* the cache: at most float64 keys and values (2 x 8 d bytes per token, the largest
  registered cache): L tokens on Alice's side, the message and its copy through the
  pipe (L each), L_K in Bob's pass and their float64 copy in attention;
* Bob's pass: the T x d float64 queries, zero keys/values and outputs (3 x 8 T d), his
  L x d float64 answers, and the attention chunk (1024 x 4096 float64 scores, x 3);
* each seed's record (~2 KB).

The estimate is an upper bound in spirit, not a measurement; a run is refused when it
exceeds :data:`MEMORY_FRACTION` of the physical memory.
"""

from __future__ import annotations

import os

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.schedule import Schedule

__all__ = [
    "MEMORY_FRACTION",
    "MAX_SEEDS",
    "RunEstimate",
    "estimate_run",
    "physical_memory_bytes",
    "check_run_fits",
]

MEMORY_FRACTION = 0.75
MAX_SEEDS = 1_000_000  # one run per seed: more is a job for several invocations
_RECORD_BYTES = 2048
_CHUNK_BYTES = 3 * 1024 * 4096 * 8


class RunEstimate(dict[str, int]):
    """Bytes per component of one run (a dict), with ``total``."""

    @property
    def total(self) -> int:
        return sum(self.values())

    def describe(self) -> str:
        """The three largest parts, e.g. ``"Bob's pass 49.2 GB, cache 0.1 GB, ..."``."""
        parts = sorted(self.items(), key=lambda kv: -kv[1])[:3]
        return ", ".join(f"{name} {_gb(size)}" for name, size in parts)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def estimate_run(schedule: Schedule, d: int, seeds: int = 1) -> RunEstimate:
    """Peak bytes of one protocol run on ``schedule`` with head dimension ``d``.

    >>> est = estimate_run(Schedule.preset("var-256"), 64)
    >>> 1e6 < est.total < 1e9
    True
    """
    d = check_int_at_least(d, "d", 1)
    seeds = check_int_at_least(seeds, "seeds", 1)
    n, t, n_all = schedule.cached_tokens, schedule.last_scale_tokens, schedule.total_tokens
    return RunEstimate({
        "instance": n * d + 8 * max(schedule.tokens[:-1]) * d,
        "keys": n * d + 2 * 8 * n * d + min(2048, n) * n * 5,
        "cache": 2 * 8 * (3 * n + 2 * n_all) * d,
        "Bob's pass": 3 * 8 * t * d + 8 * n * d + _CHUNK_BYTES,
        "records": seeds * _RECORD_BYTES,
    })


def physical_memory_bytes() -> int | None:
    """Installed memory in bytes, or None where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_run_fits(schedule: Schedule, d: int, seeds: int = 1, *,
                   available: int | None = None, concurrent: int = 1) -> RunEstimate:
    """The estimate, or a ValueError naming it when the run cannot fit in memory.

    ``available`` defaults to the physical memory; runs above :data:`MEMORY_FRACTION` of
    it, or with more than :data:`MAX_SEEDS` seeds, are refused. ``concurrent`` runs at
    once (``attack --workers``) need that many times one run's memory.

    >>> check_run_fits(Schedule.parse("1,1000"), 2048, available=32 * 2**30)
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: schedule 1,1000 [1,1000] with d=2048 needs about 114.8 GB (cache 65.5 GB, Bob's pass 49.3 GB, keys 0.0 MB) for one run; this machine has 34.4 GB (runs above 75% are refused): lower d or use a smaller schedule
    """  # noqa: E501
    check_int_at_least(seeds, "seeds", 1)
    parallel = check_int_at_least(concurrent, "concurrent", 1)
    if seeds > MAX_SEEDS:
        raise InvalidArgument(f"seeds={seeds} exceeds {MAX_SEEDS} (each seed is one protocol run, "
                         "kept in memory with its record); split the run into several")
    est = estimate_run(schedule, d, seeds)
    memory = physical_memory_bytes() if available is None else available
    need = est.total + (parallel - 1) * (est.total - est["records"])
    if memory is not None and need > MEMORY_FRACTION * memory:
        runs = "one run" if seeds == 1 else f"{seeds} runs"
        raise InvalidArgument(
            f"schedule {schedule} with d={d} needs about {_gb(need)} ({est.describe()}) "
            f"for {runs if parallel == 1 else f'{runs}, {parallel} at once'}; this machine has "
            f"{_gb(memory)} (runs above {MEMORY_FRACTION:.0%} are refused): lower d or use "
            "a smaller schedule" + ("" if parallel == 1 else " or fewer workers")
        )
    return est
