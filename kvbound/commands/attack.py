"""``kvbound attack``: every compressor at every budget against the bound.

Runs the reduction (Alice -> bytes -> Bob, each in a worker process of their own) for
each registered cache at each budget and checks every point with the leak certificate of
docs/theorem.md#certificate (per seed and pooled over the seeds, alpha = 1e-6 per point):
no code fixed in advance may describe Alice's bits given Bob's output in fewer than
N - message - allowance bits. Each run writes a new folder OUT/attack-NNN (earlier runs
are kept) with attack.json (strict JSON: NaN and infinities are null), attack.md,
attack.png and attack.svg, prints the table (or the JSON) and, when the packer ran, its
message bits / N.
--out is checked before the sweep starts. Points are independent:
--workers N runs them in N processes here, --dask ADDRESS on the workers of an existing
Dask cluster; both give the sequential run's points (all but their seconds).

Budgets are fractions of the cached tokens KEPT (kvpress's compression_ratio is
1 - budget); a whole number > 1 is a token count. Caches without a budget sweep their own
knob (bit width, rank, ...; see kvbound.experiments.SWEEP_AXES) or run once.

--heads H --layers D (or --model var-d16 ...) run every point on the D*H heads at once
(docs/theorem.md#c2-run): 'all' is then every registered cache that handles many heads
itself, budgets are kept fractions of all D*H*L rows, and the table and attack.png show
the error rate against the eviction law (1 - f)/2 and the certificate's floor
(kvbound.reports.attack_heads); a one-head cache named in --caches runs on every head
with an equal share (the uniform baseline). --unused-heads U: docs/theorem.md#alloc.

Exit codes: 0 all points feasible; 3 some point is a certified leak (docs/theorem.md
#certificate: the cache keeps state outside its bytes; a leak outranks a later seed's
failure); 4 some cache failed while running (and none leaked); 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kvbound.exit_codes import EXIT_BOUND_VIOLATED, EXIT_CACHE_FAILED
from kvbound.experiments import DEFAULT_BUDGETS, SweepPoint, plan_sweep, run_sweep
from kvbound.options import (
    add_head_arguments,
    add_instance_arguments,
    add_precision_arguments,
    add_run_arguments,
    add_shape_arguments,
    check_seeds,
    describe,
    resolve_precision,
    resolve_shape,
    run_isolation,
)
from kvbound.outputs import (
    check_output_dir,
    new_run_dir,
    say_wrote,
    strict_json,
    write_text_atomically,
)
from kvbound.progress import Progress
from kvbound.verifier import prepare_verifier
from lowerbound.validation import InvalidArgument
from reduction.isolation.resources import check_run_fits
from reduction.isolation.threads import check_workers

__all__ = ["register", "run", "parse_budgets", "parse_caches", "EXIT_CACHE_FAILED"]

EXAMPLES = (
    'kvbound attack --seeds 1 --workers 2                        # every cache, 2 processes',
    'kvbound attack --caches exact,h2o,packer --budgets 0.25,0.5  # a few caches',
)



def parse_budgets(text: str) -> tuple[float, ...]:
    """Comma-separated budgets: kept fractions in (0, 1] or whole token counts > 1.

    >>> parse_budgets("0.25, 0.5,100")
    (0.25, 0.5, 100.0)
    """
    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(float(part))
        except ValueError:
            raise InvalidArgument(
                f"--budgets: cannot read {part!r} in {text!r}; give kept fractions in (0, 1] "
                "such as 0.25,0.5,0.75 (or whole token counts > 1)"
            ) from None
    return tuple(out)


def parse_caches(text: str) -> list[str] | None:
    """``all`` (None: every registered cache) or comma-separated names / module:Class.

    >>> parse_caches("all") is None, parse_caches("exact, exact-fp32")
    (True, ['exact', 'exact-fp32'])
    """
    if text.strip().lower() == "all":
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise InvalidArgument(f"--caches={text!r} names no cache; give 'all' or names like exact")
    return names


def _plot_caches(text: str | None, planned: list[str]) -> list[str] | None:
    """``--plot-caches``: None (the default subset), every planned cache, or a checked list."""
    if text is None:
        return None
    names = parse_caches(text)
    if names is None:
        return list(dict.fromkeys(planned))
    unknown = [n for n in names if n not in planned]
    if unknown:
        raise InvalidArgument(f"--plot-caches names {', '.join(unknown)}, which --caches does not "
                         "run; give caches of the sweep or 'all'")
    return names


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "attack",
        help="sweep every compressor and budget through the reduction; check the bound",
        **describe(__doc__, EXAMPLES),
    )
    add_instance_arguments(p)
    add_head_arguments(p)
    add_shape_arguments(p)
    add_precision_arguments(p)
    p.add_argument(
        "--caches", default="all",
        help="'all' (every registered cache) or comma-separated names or module:Class",
    )
    p.add_argument(
        "--budgets", default=",".join(f"{b:g}" for b in DEFAULT_BUDGETS),
        help="kept fractions for budgeted caches (default: "
        + ",".join(f"{b:g}" for b in DEFAULT_BUDGETS) + ")",
    )
    add_run_arguments(p, seeds_default=2)
    p.add_argument("--additive", action="store_true", help="additive error model for eta")
    p.add_argument("--out", type=Path, default=Path("out"),
                   help="each run writes a new folder OUT/attack-NNN with attack.json, "
                   "attack.md, attack.png and attack.svg (default: out/)")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    p.add_argument("--no-plot", action="store_true", help="skip attack.png and attack.svg")
    p.add_argument("--plot-caches", default=None, metavar="LIST|all",
                   help="caches the figure draws (default: one per family; all: every one)")
    p.add_argument(
        "--workers", type=int, default=1,
        help="run points in parallel in this many processes on this machine (results are "
        "bit-identical to --workers 1 except the seconds; default: 1)",
    )
    p.add_argument(
        "--dask", metavar="ADDRESS",
        help="run points on an existing Dask cluster, e.g. tcp://127.0.0.1:8786 "
        "(needs pip install 'kvbound[dask]')",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reduction.regime import plan_regime

    shape = resolve_shape(args)
    schedule, d = shape.schedule, shape.d
    check_seeds(args.seeds)
    caches = parse_caches(args.caches)
    budgets = parse_budgets(args.budgets)
    args_eta, bits_per_value = resolve_precision(args)
    plan_regime(schedule, d, args.eps, args_eta, additive=args.additive,
                logit_cap=args.logit_cap, var_head=args.var_head,
                bits_per_value=bits_per_value)  # C1 below d_min; b levels separate
    tasks = plan_sweep(schedule, d, caches, budgets, bits_per_value,
                       shape.heads, shape.layers)  # validated
    check_workers(args.workers, "--workers")
    if args.dask is not None and args.workers != 1:
        raise InvalidArgument(
            f"give either --workers {args.workers} or --dask {args.dask}, not both")
    plot_caches = _plot_caches(args.plot_caches, [t.cache for t in tasks])
    check_output_dir(args.out, "--out")
    check_run_fits(schedule, d, args.seeds * max(1, len(tasks)),
                   concurrent=args.workers, heads=shape.n_heads)
    bar = Progress(len(tasks), "attack", enabled=not args.quiet)

    def on_point(done: int, total: int, point: SweepPoint) -> None:
        if point.error is not None:
            note = f"{point.label}: FAILED"
        elif point.skipped is not None:
            note = f"{point.label}: skipped"
        else:
            note = (f"{point.label}: p={point.error_rate:.3f} {point.message_bits} bits"
                    + ("" if point.feasible else " LEAK"))
        bar.step(note)

    isolation = run_isolation(args)
    prepare_verifier(figures=not args.no_plot)  # before the first worker starts
    result = run_sweep(
        schedule, d, args.eps, args_eta, caches=caches, budgets=budgets,
        seeds=args.seeds, additive=args.additive, **isolation, progress=on_point,
        logit_cap=args.logit_cap, var_head=args.var_head, bits_per_value=bits_per_value,
        workers=args.workers, dask=args.dask,
        heads=shape.heads, layers=shape.layers, unused_heads=shape.unused_heads,
    )
    from kvbound.reports.attack import attack_figure, attack_markdown, attack_table

    record = result.to_json()  # every worker is gone: the files are ours to write
    run_dir = new_run_dir(args.out, "attack")  # never over an earlier run's files
    write_text_atomically(run_dir / "attack.json", strict_json(record, indent=2) + "\n")
    write_text_atomically(run_dir / "attack.md", attack_markdown(result))
    written = [(run_dir / "attack.json", "every point as JSON"),
               (run_dir / "attack.md", "the table and what it means")]
    if not args.no_plot:
        if plot_caches is not None:
            measured = {p.cache for p in result.measured}
            plot_caches = [c for c in plot_caches if c in measured]
        for suffix in ("png", "svg"):
            if result.multi_head:
                from kvbound.reports.attack_heads import heads_figure

                heads_figure(result, run_dir / f"attack.{suffix}")
            else:
                attack_figure(result, run_dir / f"attack.{suffix}", plot_caches)
            written.append((run_dir / f"attack.{suffix}", "every cache against the bound"))
    print(strict_json(record, indent=2) if args.json else attack_table(result))
    packer = result.packer()
    if packer is not None and not args.json:
        print(f"packer message_bits/N = {packer.ratio:.4f}")
    say_wrote("attack", written, to_stderr=args.json)
    for p in result.skipped:
        print(f"kvbound: attack: skipped {p.label}: {p.skipped}", file=sys.stderr)
    for p in result.failures:
        print(f"kvbound: attack: cache {p.label} FAILED: {p.error}", file=sys.stderr)
    if result.leaks:
        from kvbound.reports.attack import certificate_cell

        print("kvbound: LEAK: " + "; ".join(f"{p.label} (certified by {certificate_cell(p)})"
                                            for p in result.leaks)
              + ": Bob's outputs reveal more than the message can carry, so the cache keeps "
              "state outside to_bytes().", file=sys.stderr)
        return EXIT_BOUND_VIOLATED
    return EXIT_CACHE_FAILED if result.failures else 0
