"""``kvbound check-cache``: run the cache contract and the corrupt-message fuzz on a cache.

For a third-party ``module:Class`` (looked for in the current directory first) or a
registered name, on a small schedule: outputs of the right shape, a message of bytes that
round-trips, the same seed giving the same bytes, foreign, truncated and bit-flipped
messages refused with a ValueError, and mutated messages parsed without a crash, a hang or
a huge allocation (the checks of caches.contract, which the test suite runs on every
registered cache). Then one seed of the reduction through the real protocol (Alice and Bob
in worker processes) and its leak certificate (docs/theorem.md#certificate): a cache whose
Bob reveals more than its message can carry keeps state outside its bytes. Exit code 0
when every check passes, 3 on a certified leak (it outranks any other failure), 4 when a
check fails, 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from kvbound.exit_codes import EXIT_BOUND_VIOLATED, EXIT_CACHE_FAILED
from kvbound.options import describe, parse_cache_options, parse_schedule

__all__ = ["register", "run", "EXIT_CONTRACT_BROKEN"]

EXAMPLES = (
    'cd examples && kvbound check-cache every_other:EveryOtherCache',
    'kvbound check-cache noisy --option noise=0.5',
)

EXIT_CONTRACT_BROKEN = EXIT_CACHE_FAILED  # a broken contract is the cache's fault


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-cache",
        help="run the cache contract and the corrupt-message fuzz on a cache (module:Class)",
        **describe(__doc__, EXAMPLES),
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
    from kvbound.reports.plain import contract_fix

    print(f"cache contract of {args.cache} on schedule {schedule}, d={args.d}")
    for o in outcomes:
        print(f"  {'ok  ' if o.passed else 'FAIL'}  {o.name}"
              + ("" if o.passed else f": {o.detail}"))
        fix = None if o.passed else contract_fix(o.name)
        if fix is not None:
            print(f"        fix: {fix}")
    leak = _leak_check(args.cache, parse_cache_options(args.option), schedule, args.d,
                       args.seed)
    outcomes.append(leak)
    print(f"  {'ok  ' if leak.passed else 'LEAK' if leak.name == LEAK_CHECK else 'FAIL'}"
          f"  {leak.name}: {leak.detail}")
    failed = [o for o in outcomes if not o.passed]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} checks passed"
          + ("" if not failed else "; the contract is in docs/caches.md, a cache that keeps "
             "it in examples/every_other.py"))
    if not leak.passed and leak.name == LEAK_CHECK:
        return EXIT_BOUND_VIOLATED
    return EXIT_CONTRACT_BROKEN if failed else 0


LEAK_CHECK = "no leak (one seed of the reduction, Lemma CERT)"


def _leak_check(cache: str, options: dict[str, Any], schedule: Any, d: int,
                seed: int) -> Any:
    """One seed of the protocol on ``cache`` (third-party code in worker processes) and
    its certificate; a cache that fails there fails the check (named so)."""
    from caches.contract import ContractOutcome
    from lowerbound.defaults import DEFAULTS
    from reduction.protocol import run_verification
    from reduction.public import is_registered_cache

    try:
        result = run_verification(schedule, d, float(DEFAULTS.eps), float(DEFAULTS.eta),
                                  [seed], cache=cache, options=options,
                                  isolation="inline" if is_registered_cache(cache)
                                  else "process")
    except Exception as exc:  # the cache failed while running the reduction: reported
        return ContractOutcome("the reduction runs (for the leak check)", False,
                               f"{type(exc).__name__}: {exc}")
    return ContractOutcome(LEAK_CHECK, not result.leak, result.certificate.describe())
