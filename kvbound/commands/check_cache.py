"""``kvbound check-cache``: run the cache contract and the corrupt-message fuzz on a cache.

For a third-party ``module:Class`` (looked for in the current directory first) or a
registered name, on a small schedule: outputs of the right shape, a message of bytes that
round-trips, the same seed giving the same bytes, foreign, truncated and bit-flipped
messages refused with a ValueError, and mutated messages parsed without a crash, a hang or
a huge allocation (the checks of caches.contract, which the test suite runs on every
registered cache). Exit code 0 when every check passes, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from kvbound.exit_codes import EXIT_CACHE_FAILED
from kvbound.options import parse_cache_options, parse_schedule

__all__ = ["register", "run", "EXIT_CONTRACT_BROKEN"]

EXIT_CONTRACT_BROKEN = EXIT_CACHE_FAILED  # a broken contract is the cache's fault


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-cache",
        help="run the cache contract and the corrupt-message fuzz on a cache (module:Class)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("cache", help="module:Class (current directory first) or a registered name")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="cache option, repeatable (e.g. --option budget=0.5)")
    p.add_argument("--schedule", default="1,2,3,4",
                   help="schedule of the test stream (default: 1,2,3,4: 14 cached tokens)")
    p.add_argument("--d", type=int, default=32, help="head dimension (default: 32)")
    p.add_argument("--fuzz", type=int, default=200,
                   help="number of mutated messages to parse (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fuzz (default: 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from caches import resolve_cache
    from caches.contract import run_contract
    from lowerbound.validation import InvalidArgument, check_int_at_least
    from reduction.cache import CacheParams

    check_int_at_least(args.d, "--d", 1)
    check_int_at_least(args.fuzz, "--fuzz", 0)
    check_int_at_least(args.seed, "--seed", 0)
    schedule = parse_schedule(args.schedule)
    entry = resolve_cache(args.cache)
    options = entry.merged_options(args.cache, parse_cache_options(args.option))
    params = CacheParams(args.d, schedule, options)
    try:
        entry.cls(params, None)  # bad options fail here, as bad input (exit 2)
    except InvalidArgument:
        raise
    except ValueError as exc:
        raise InvalidArgument(f"cache {args.cache!r} refused its options "
                              f"{dict(params.options)}: {exc}") from None
    outcomes = run_contract(entry.cls, params, fuzz_cases=args.fuzz, seed=args.seed)
    print(f"cache contract of {args.cache} on schedule {schedule}, d={args.d}")
    for o in outcomes:
        print(f"  {'ok  ' if o.passed else 'FAIL'}  {o.name}"
              + ("" if o.passed else f": {o.detail}"))
    failed = [o for o in outcomes if not o.passed]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} checks passed")
    return EXIT_CONTRACT_BROKEN if failed else 0
