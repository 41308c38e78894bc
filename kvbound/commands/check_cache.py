"""``kvbound check-cache``: run the cache contract and the corrupt-message fuzz on a cache.

For a third-party ``module:Class`` (looked for in the current directory first) or a
registered name, on a small schedule: outputs of the right shape, a message of bytes that
round-trips, the same seed giving the same bytes, foreign, truncated and bit-flipped
messages refused with a ValueError, and mutated messages parsed without a crash, a hang or
a huge allocation (the checks of caches.contract, which the test suite runs on every
registered cache). The checks run here; the cache runs only in a sandboxed worker process
(reduction.isolation.remote), so its code can neither switch a check off nor print the
summary. Then one seed of the reduction through the real protocol and its leak certificate
(docs/theorem.md#certificate): a cache whose Bob reveals more than its message can carry
keeps state outside its bytes. Exit code 0 when every check passes, 3 on a certified leak
(it outranks any other failure), 4 when a check fails (the cache's fault), 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from caches.contract import run_contract
from kvbound.exit_codes import EXIT_BOUND_VIOLATED, EXIT_CACHE_FAILED
from kvbound.options import describe, parse_cache_options, parse_schedule, positive_seconds
from kvbound.reports.plain import contract_fix
from kvbound.reports.verify import isolation_text
from kvbound.verifier import prepare_verifier
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.cache import CacheParams
from reduction.isolation.party import check_timeout
from reduction.isolation.remote import RemoteCacheClass
from reduction.isolation.resources import check_run_fits

__all__ = ["register", "run", "EXIT_CONTRACT_BROKEN", "MAX_FUZZ"]

EXAMPLES = (
    'cd examples && kvbound check-cache every_other:EveryOtherCache',
    'kvbound check-cache noisy --option noise=0.5',
)

EXIT_CONTRACT_BROKEN = EXIT_CACHE_FAILED  # a broken contract is the cache's fault
MAX_FUZZ = 100_000  # mutated messages: more is a job for several runs with other seeds
CHECK_TIMEOUT = 60.0  # one call on the contract's small schedule takes milliseconds


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
                   help=f"number of mutated messages to parse, at most {MAX_FUZZ} "
                   "(default: 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fuzz (default: 0)")
    p.add_argument("--timeout", type=positive_seconds, default=CHECK_TIMEOUT,
                   metavar="SECONDS",
                   help="longest wait for one call of the cache outside the fuzz (the fuzz "
                   f"allows a few seconds per message; default: {CHECK_TIMEOUT:g})")
    p.add_argument("--no-sandbox", action="store_true", dest="no_sandbox",
                   help="run the cache's worker as a plain process (where bubblewrap is "
                   "missing; the output says so)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_int_at_least(args.d, "--d", 1)
    check_int_at_least(args.fuzz, "--fuzz", 0)
    check_int_at_least(args.seed, "--seed", 0)
    if args.fuzz > MAX_FUZZ:
        raise InvalidArgument(f"--fuzz={args.fuzz} exceeds {MAX_FUZZ} mutated messages; run "
                              "several times with other --seed values")
    timeout = check_timeout(args.timeout, "--timeout")
    schedule = parse_schedule(args.schedule)
    check_run_fits(schedule, args.d)  # the checks stream the schedule, one run at a time
    options = parse_cache_options(args.option)
    prepare_verifier()  # before the cache's worker starts
    with RemoteCacheClass(args.cache, timeout=timeout,
                          sandbox=False if args.no_sandbox else None) as cls:
        merged = cls.merged_options(options)
        params = CacheParams(args.d, schedule, merged)
        try:
            cls(params, None)  # bad options fail here, as bad input (exit 2)
        except ValueError as exc:
            raise InvalidArgument(f"cache {args.cache!r} refused its options "
                                  f"{dict(params.options)}: {exc}") from None
        outcomes = run_contract(cls, params, fuzz_cases=args.fuzz, seed=args.seed)
        record = cls.record()
    # the worker is gone: what follows is the verifier's alone
    print(f"cache contract of {args.cache} on schedule {schedule}, d={args.d}")
    print(f"  the cache ran in: {isolation_text(record)}")
    for o in outcomes:
        print(f"  {'ok  ' if o.passed else 'FAIL'}  {o.name}"
              + ("" if o.passed else f": {o.detail}"))
        fix = None if o.passed else contract_fix(o.name)
        if fix is not None:
            print(f"        fix: {fix}")
    leak = _leak_check(args.cache, parse_cache_options(args.option), schedule, args.d,
                       args.seed, sandbox=False if args.no_sandbox else None)
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
                seed: int, sandbox: bool | None = None) -> Any:
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
                                  else "process", sandbox=sandbox)
    except Exception as exc:  # the cache failed while running the reduction: reported
        return ContractOutcome("the reduction runs (for the leak check)", False,
                               f"{type(exc).__name__}: {exc}")
    return ContractOutcome(LEAK_CHECK, not result.leak, result.certificate.describe())
