"""``kvbound verify``: run the reduction end to end and check the bound on every seed.

Alice streams the hard instance into a cache, sends its bytes; Bob (in his own process)
rebuilds the cache from the bytes alone, decodes, and the run is compared with the
theorem: bits recovered against message bits. Below d_min, or when --logit-cap leaves room
for fewer tokens, only L' tokens carry bits (the C1 variant): the JSON's ``low_dimension``
reports L'_guaranteed and L'_witnessed with their bounds, ``logits`` the largest |logit|.
A cache that decodes more information than its message can carry (message bits
< N * (1 - H2(p)) beyond sampling noise) leaks state outside its bytes: exit code 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from kvbound.exit_codes import EXIT_BOUND_VIOLATED
from kvbound.options import (
    add_head_arguments,
    add_instance_arguments,
    add_precision_arguments,
    add_run_arguments,
    check_seeds,
    parse_cache_options,
    parse_schedule,
    resolve_precision,
    run_isolation,
    whole_at_least,
)
from kvbound.outputs import check_output_file, strict_json, write_text_atomically
from kvbound.plots.levels import levels_figure
from kvbound.plots.outputs import outputs_histogram
from kvbound.plots.style import check_format
from kvbound.progress import Progress
from kvbound.reports.verify import verify_markdown, verify_table
from kvbound.verifier import prepare_verifier
from lowerbound.validation import InvalidArgument
from reduction.isolation.resources import check_run_fits
from reduction.protocol import PublicParams, SeedResult, run_verification

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="run Alice -> bytes -> Bob on random instances and check the bound",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance_arguments(p)
    add_head_arguments(p)
    add_run_arguments(p, seeds_default=1)
    add_precision_arguments(p)
    p.add_argument("--seed", type=whole_at_least(0), default=0, help="first seed (default: 0)")
    p.add_argument(
        "--cache", default="exact",
        help="registered cache name (exact, exact-fp32, ...) or module:Class (default: exact)",
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
        "--workers", type=whole_at_least(1), default=1,
        help="threads sharing Bob's passes (results are bit-identical for every value; "
        "default: 1)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    schedule = parse_schedule(args.schedule)
    check_seeds(args.seeds)
    if args.seed < 0:
        raise InvalidArgument(f"--seed={args.seed} must be >= 0")
    for path, flag in ((args.out, "--out"), (args.report, "--report"),
                       (args.figure, "--figure")):
        check_output_file(path, flag)
    check_run_fits(schedule, args.d, args.seeds)
    seeds = range(args.seed, args.seed + args.seeds)
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
        schedule, args.d, args.eps, eta, seeds, bits_per_value=bits_per_value,
        cache=args.cache, options=parse_cache_options(args.option), additive=args.additive,
        **isolation, progress=on_seed,
        num_queries=args.multi_index, observe=observe,
        logit_cap=args.logit_cap, var_head=args.var_head,
        at_c_min=args.at_c_min, delta=args.delta, workers=args.workers,
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
    if args.out:
        write_text_atomically(args.out, strict_json(record, indent=2) + "\n")
    if args.report:
        write_text_atomically(args.report, verify_markdown(result))
    print(strict_json(record, indent=2) if args.json else verify_table(result))
    if not result.logit_cap_respected:
        print(f"kvbound: a logit outside [-B, B] with B={result.public.effective_cap:g} was "
              "computed (see 'logits' in the JSON)", file=sys.stderr)
    if not result.bound_respected:
        print(
            "kvbound: LEAK: the cache decoded more information than its message bytes can "
            "carry (message bits < N(1 - H2(p)) at confidence 1 - 1e-6); it keeps state "
            "outside to_bytes(). bound_respected = false.",
            file=sys.stderr,
        )
        return EXIT_BOUND_VIOLATED
    return 0
