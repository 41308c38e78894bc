"""``kvbound verify``: run the reduction end to end and check the bound on every seed.

Alice streams the hard instance into a cache, sends its bytes; Bob (in his own process)
rebuilds the cache from the bytes alone, decodes, and the run is compared with the
theorem: bits recovered against message bits. Below d_min, or when --logit-cap leaves room
for fewer tokens, only L' tokens carry bits (the C1 variant): the JSON's ``low_dimension``
reports L'_guaranteed and L'_witnessed with their bounds, ``logits`` the largest |logit|.
A cache whose Bob reveals more than its message can carry leaks state outside its bytes:
exit code 3. The verdict is the compression certificate of docs/theorem.md#certificate (a
code fixed in advance describes Alice's values given Bob's in fewer than N - S - allowance
bits, per seed or pooled); it names the code and the margin in bits, and outranks a cache
failure on a later seed.

--heads H --layers D (or --model var-d16 ...) run every one of the D*H heads with its own
instance and keys at once (docs/theorem.md#c2-run): N = D*H*L*d, one message for all
heads; --unused-heads U zeroes a public, seeded set of U heads (docs/theorem.md#alloc).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from caches import CACHES
from caches.exact import STORAGE_DTYPES, ExactCache
from kvbound.exit_codes import EXIT_BOUND_VIOLATED
from kvbound.options import (
    add_head_arguments,
    add_instance_arguments,
    add_precision_arguments,
    add_renamed_flag,
    add_run_arguments,
    add_shape_arguments,
    check_seeds,
    describe,
    parse_cache_options,
    resolve_precision,
    resolve_shape,
    run_isolation,
    whole_at_least,
    workers_option,
)
from kvbound.outputs import check_output_file, say_wrote, strict_json, write_text_atomically
from kvbound.plots.levels import levels_figure
from kvbound.plots.outputs import outputs_histogram
from kvbound.plots.style import check_format
from kvbound.progress import Progress
from kvbound.reports.verify import verify_markdown, verify_table
from kvbound.verifier import prepare_verifier
from lowerbound.validation import InvalidArgument
from reduction.isolation.resources import check_run_fits, describe_bytes, describe_seconds
from reduction.isolation.threads import auto_workers, check_workers
from reduction.protocol import PublicParams, SeedResult, run_verification

__all__ = ["register", "run", "state_bytes_per_token", "LONG_RUN_SECONDS"]

#: Runs estimated longer than this are announced on stderr before they start.
LONG_RUN_SECONDS = 30.0


def state_bytes_per_token(cache: str, options: list[str] | None, d: int) -> float | None:
    """Bytes of the cache's state per cached token, where the cache says: the exact caches
    keep keys and values at their dtype (2 d numbers); None (the float64 upper bound of
    the estimate) for any other cache, third-party code included (never imported here)."""
    entry = CACHES.get(cache.strip())
    if entry is None or not issubclass(entry.cls, ExactCache):
        return None
    dtype = {**entry.options, **parse_cache_options(options)}.get("dtype", "float16")
    if dtype not in STORAGE_DTYPES:
        return None  # the cache itself refuses it, with its own message
    return 2.0 * d * np.dtype(STORAGE_DTYPES[dtype]).itemsize

EXAMPLES = (
    'kvbound verify                                   # var-256, d = 64, the exact cache',
    'kvbound verify --cache h2o --option budget=0.5   # a compressor that loses bits',
    'kvbound verify --seeds 5 --first-seed 10         # seeds 10, 11, ..., 14',
    'kvbound verify --explain                         # where each row of the report is proved',
    'kvbound verify --json --out out/verify.json      # the run as JSON',
    'cd examples && kvbound verify --cache every_other:EveryOtherCache   # your own cache',
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="run Alice -> bytes -> Bob on random instances and check the bound",
        **describe(__doc__, EXAMPLES),
    )
    add_instance_arguments(p)
    add_head_arguments(p)
    add_shape_arguments(p)
    add_run_arguments(p, seeds_default=1)
    add_precision_arguments(p)
    p.add_argument("--first-seed", type=whole_at_least(0), default=0, dest="first_seed",
                   help="the first seed; --seeds K runs seeds first .. first + K - 1 "
                   "(default: 0)")
    add_renamed_flag(p, "--seed", "--first-seed", "the first of the --seeds seeds")
    p.add_argument(
        "--cache", default="exact",
        help="registered cache name (exact, exact-fp32, ...), module:Class, or a press of "
             "NVIDIA kvpress as 'kvpress:SnapKVPress(compression_ratio=0.5)' (the extra "
             "kvbound[kvpress]; options compress_after, dtype) (default: exact)",
    )
    p.add_argument(
        "--option", action="append", metavar="KEY=VALUE",
        help="cache option, repeatable (e.g. --option budget=0.5: the fraction KEPT)",
    )
    p.add_argument("--additive", action="store_true", help="additive error model for eta")
    p.add_argument(
        "--at-c-min", action="store_true", dest="at_c_min",
        help="run Bob's queries at C = C_min itself (the theorem's C) instead of the "
        "simulation's larger C (gamma at half of Lemma L3's bound)",
    )
    p.add_argument(
        "--delta", type=float, default=0.0,
        help="fraction of output entries an (eta, delta)-correct cache may get wrong, in "
        "[0, 1/2); the bound reported is (1 - H2(delta)) N (default: 0)",
    )
    p.add_argument(
        "--multi-index", type=whole_at_least(1), metavar="T", dest="multi_index",
        help="Multi-Index: Bob asks for T random bits instead of all N",
    )
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (strict: NaN and infinities are null)")
    p.add_argument("--out", type=Path, help="also write the JSON object to this file")
    p.add_argument("--report", type=Path, help="also write a markdown report to this file")
    p.add_argument(
        "--figure", type=Path,
        help="also draw Bob's outputs for 0 and 1 bits against tau (.png, .svg or .pdf)",
    )
    p.add_argument(
        "--workers", type=workers_option, default="auto",
        help="threads sharing Bob's passes, or 'auto': every core when Bob's work is "
        "large (4 L^2 d >= 2e9 flops), else 1 (results are bit-identical for every value; "
        "default: auto)",
    )
    p.add_argument("--explain", action="store_true",
                   help="name, beside every row of the report, the section of "
                   "docs/theorem.md that proves it")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    shape = resolve_shape(args)
    schedule, d = shape.schedule, shape.d
    check_seeds(args.seeds)
    if args.first_seed < 0:
        raise InvalidArgument(f"--first-seed={args.first_seed} must be >= 0")
    for path, flag in ((args.out, "--out"), (args.report, "--report"),
                       (args.figure, "--figure")):
        check_output_file(path, flag)
    workers = (auto_workers(schedule.cached_tokens, d) if args.workers == "auto"
               else check_workers(args.workers, "--workers"))
    estimate = check_run_fits(schedule, d, args.seeds, workers=workers,
                              state_bytes_per_token=state_bytes_per_token(args.cache,
                                                                          args.option, d),
                              heads=shape.n_heads)
    if estimate.seconds > LONG_RUN_SECONDS:  # said before the run, whatever --quiet says
        print(f"kvbound: this run needs about {describe_bytes(estimate.total)} and "
              f"{describe_seconds(estimate.seconds)} (estimate; {workers} worker thread"
              f"{'s' if workers > 1 else ''} for Bob)", file=sys.stderr, flush=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    bar = Progress(args.seeds, "verify", enabled=not args.quiet)

    def on_seed(done: int, total: int, r: SeedResult) -> None:
        bar.step(f"seed {r.seed}: {r.bit_errors} bit errors, {r.message_bits} message bits")

    if args.figure:
        check_format(args.figure.suffix.lstrip(".") or "png")  # before the run, not after
    if args.multi_index is not None and args.multi_index < 1:
        raise InvalidArgument(f"--multi-index={args.multi_index} must be >= 1 (bits Bob asks for)")
    observed: list[tuple[np.ndarray, np.ndarray]] = []

    def observe(public: PublicParams, outputs: np.ndarray, truth: np.ndarray) -> None:
        if args.figure:
            observed.append((outputs, truth))

    eta, bits_per_value = resolve_precision(args)
    isolation = run_isolation(args)
    prepare_verifier(figures=args.figure is not None)  # before the first worker starts
    result = run_verification(
        schedule, d, args.eps, eta, seeds, bits_per_value=bits_per_value,
        cache=args.cache, options=parse_cache_options(args.option), additive=args.additive,
        **isolation, progress=on_seed,
        num_queries=args.multi_index, observe=observe,
        logit_cap=args.logit_cap, var_head=args.var_head,
        at_c_min=args.at_c_min, delta=args.delta, workers=workers,
        heads=shape.heads, layers=shape.layers, unused_heads=shape.unused_heads,
    )
    if args.figure:
        pub = result.public
        outputs = np.concatenate([o.ravel() for o, _ in observed])
        truth = np.concatenate([t.ravel() for _, t in observed])
        if pub.bits_per_value is None:
            outputs_histogram(
                outputs, truth,
                tau=pub.tau, gamma=pub.gamma, eta=float(pub.eta), additive=pub.additive,
                path=args.figure, schedule=pub.schedule.name, d=pub.d, cache=pub.cache,
                options=result.to_json()["cache_options"], bit_errors=result.bit_errors,
                margin=min(r.decoding_margin for r in result.runs),
            )
        else:
            title = (f"{pub.schedule.name}, d={pub.d}, cache {pub.cache}: Bob's outputs "
                     f"({len(observed)} seed(s)), {result.to_json()['symbol_errors']} "
                     "symbol errors")
            levels_figure(outputs, truth, bits=pub.bits_per_value, gamma=pub.gamma,
                          eta=float(pub.eta), additive=pub.additive,
                          thresholds=pub.thresholds, title=title, path=args.figure)
    # every worker is gone (run_verification returns once they are): the files are ours
    record = result.to_json()
    written: list[tuple[Path, str]] = []
    if args.figure:
        written.append((args.figure, "Bob's outputs against the threshold"))
    if args.out:
        write_text_atomically(args.out, strict_json(record, indent=2) + "\n")
        written.append((args.out, "the run as JSON"))
    if args.report:
        write_text_atomically(args.report, verify_markdown(result))
        written.append((args.report, "the report in plain words, then the details"))
    print(strict_json(record, indent=2) if args.json
          else verify_table(result, explain=args.explain))
    say_wrote("verify", written, to_stderr=args.json)
    if not result.logit_cap_respected:
        print(f"kvbound: a logit outside [-B, B] with B={result.public.effective_cap:g} was "
              "computed (see 'logits' in the JSON)", file=sys.stderr)
    if not result.bound_respected:
        print(f"kvbound: LEAK: Bob's outputs reveal more than the message can carry, so "
              f"the cache keeps state outside to_bytes(): {result.certificate.describe()}. "
              "bound_respected = false.", file=sys.stderr)
        if result.failure:
            print(f"kvbound: after the leak, {result.failure} (the leak outranks it)",
                  file=sys.stderr)
        return EXIT_BOUND_VIOLATED
    return 0
