"""``kvbound structure``: the sparsity priors S1-S4 as runnable reductions with caches.

For each variant (docs/theorem.md#s1 ... #s4): build its instance, state its exact bound,
run its matching cache (Alice -> bytes -> Bob, in this process, registered caches only)
and the attack suite (every registered cache on the variant's instance; each must land on
the feasible side of the variant's Fano bound, or is skipped with the reason the cache
gives), and write structure-<variant>.json and structure-<variant>.png to --out.

  s1  sparse attention: the hard instance keeps a k-sparse promise (--sparse-attention k)
  s2  s-sparse values: sweeps s = 1 .. d/2; attack suite at --s (default d/8)
  s3  attention to the last w scales (--w, the current scale counted); prints
      bound / (n^2 d)
  s4  keys of rank r (--rank, default ceil(d_min(L, eps)/2)); bound against r

Exit codes: 0 every variant as claimed; 3 some cache decoded more than its bytes carry
(a leak); 1 a cache failed on Bob's side or a variant's check did not hold; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from kvbound.exit_codes import EXIT_BOUND_VIOLATED
from kvbound.options import DEFAULT_ETA, add_instance_arguments, describe, parse_schedule
from kvbound.outputs import check_output_dir, say_wrote, strict_json
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.isolation.resources import check_run_fits
from variants import SPARSITY_VARIANTS
from variants.runner import VariantReport

__all__ = ["register", "run", "run_variant", "check_arguments", "report_table",
           "EXIT_CHECK_FAILED"]

EXAMPLES = (
    'kvbound structure --variant s3 --w 2             # attention to the last two scales',
    'kvbound structure --variant s2 --out out/        # s-sparse values, figure in out/',
)

EXIT_CHECK_FAILED = 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "structure",
        help="sparsity priors S1-S4: each variant's bound, matching cache and attack suite",
        **describe(__doc__, EXAMPLES),
    )
    p.add_argument("--variant", choices=SPARSITY_VARIANTS, action="append",
                   help="variant to run (repeatable; default: all four)")
    add_instance_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the instance (default: 0)")
    p.add_argument("--sparse-attention", type=int, default=1, metavar="K", dest="k",
                   help="S1: the promise, at most K non-negligible weights per row (default 1)")
    p.add_argument("--s", type=int, help="S2: non-zeros per value row for the attack suite "
                   "(default d/8; the sweep covers 1 .. d/2)")
    p.add_argument("--signed", action="store_true", help="S2: +-1 non-zeros (s sign bits more)")
    p.add_argument("--w", type=int, default=2,
                   help="S3: scales visible, the current one counted (default 2)")
    p.add_argument("--rank", type=int, help="S4: key rank r (default ceil(d_min(L, eps)/2))")
    p.add_argument("--caches", default="all",
                   help="attack suite: 'all', 'none', or comma-separated registered names")
    p.add_argument("--out", type=Path, default=Path("out"),
                   help="directory for structure-<variant>.json/.png (default: out/)")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    p.add_argument("--no-plot", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def _caches(text: str) -> tuple[list[str] | None, bool]:
    from caches import CACHES

    low = text.strip().lower()
    if low == "all":
        return None, True
    if low == "none":
        return None, False
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise InvalidArgument(f"--caches={text!r} names no cache; give 'all', 'none' or names")
    unknown = [n for n in names if n not in CACHES]
    if unknown:
        raise InvalidArgument(f"unknown cache {unknown[0]!r} in --caches; registered: "
                         f"{', '.join(CACHES)}")
    return names, True


def check_arguments(args: argparse.Namespace, variants: list[str]) -> None:
    """Refuse bad input for every requested variant before any of them runs."""
    from variants import s1, s2, s3, s4

    schedule = parse_schedule(args.schedule)
    _caches(args.caches)
    if args.seed < 0:
        raise InvalidArgument(f"--seed={args.seed} must be >= 0")
    check_int_at_least(args.d, "--d", 1)
    check_run_fits(schedule, args.d)  # each variant runs the protocol once: refuse up front
    for variant in variants:
        if variant == "s1":
            s1.check(schedule, args.d, args.eps, args.eta, args.k)
        elif variant == "s2":
            s2.check(schedule, args.d, args.eps, args.eta, args.s)
        elif variant == "s3":
            s3.check(schedule, args.d, args.eps, args.eta, args.w)
        else:
            s4.check(schedule, args.d, args.eps, args.eta, args.rank)


def run_variant(args: argparse.Namespace, variant: str) -> VariantReport:
    """One variant with the command's arguments."""
    from variants import s1, s2, s3, s4

    schedule = parse_schedule(args.schedule)
    caches, attack = _caches(args.caches)
    common = {"eps": args.eps, "eta": args.eta, "seed": args.seed, "caches": caches,
              "attack": attack}
    if variant == "s1":
        return s1.run(schedule, args.d, k=args.k, **common)
    if variant == "s2":
        return s2.run(schedule, args.d, s=args.s, signed=args.signed, **common)
    if variant == "s3":
        return s3.run(schedule, args.d, w=args.w, **common)
    return s4.run(schedule, args.d, r=args.rank, **common)


def report_table(rep: VariantReport) -> str:
    """The human-readable summary of one variant."""
    p, m = rep.parameters, rep.matching
    bound = float(rep.bound_bits)
    lines = [
        rep.title,
        f"  {p['schedule']} d={p['d']} eps={p['eps']:g} eta={p['eta']:g} seed={p['seed']}; "
        f"C={p['C']:.4g} gamma={p['gamma']:.3g}",
        f"  bound: {rep.bound_formula} = {bound:.0f} bits (delta = 0)",
    ]
    if m.status == "ok":
        ratio = f"{(m.message_bits or 0) / bound:.3f} x bound" if bound else "bound is 0"
        lines.append(f"  matching cache {m.cache} {m.options}: {m.message_bits} bits ({ratio}),"
                     f" {m.bit_errors}/{m.n_bits} bit errors; within 1.3 x bound + "
                     f"n ceil(log2(L+1)) + 256: {m.within_match}")
    else:
        lines.append(f"  matching cache {m.cache}: {m.status.upper()}: {m.reason}")
    if rep.variant == "s3":
        lines.append(f"  bound / (n^2 d) = {rep.measurements['bound_over_n2d']:.4f} "
                     f"(= {rep.measurements['bound_over_n2d_exact']})")
    for name, ok in rep.checks.items():
        lines.append(f"  check {name}: {'yes' if ok else 'NO'}")
    ran = [r for r in rep.attack if r.status == "ok"]
    lines.append(f"  attack suite: {len(ran)} ran, {len(rep.leaks)} infeasible, "
                 f"{len(rep.failures)} failed, {len(rep.attack) - len(ran)} skipped")
    for r in rep.attack:
        if r.status != "ok":
            lines.append(f"    {r.status} {r.cache}: {r.reason}")
    for note in rep.notes:
        lines.append(f"  note: {note}")
    lines.append(f"  what helps in practice: {rep.practice['sentence']} "
                 f"[{rep.practice['name']}: {rep.practice['number']:.4g}]")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    variants = args.variant or list(SPARSITY_VARIANTS)
    if args.eta is None:
        args.eta = DEFAULT_ETA
    check_output_dir(args.out, "--out")
    check_arguments(args, variants)
    reports, records = [], []
    written: list[tuple[Path, str]] = []
    start = time.monotonic()
    for i, variant in enumerate(variants):
        if not args.quiet:
            print(f"kvbound structure [{time.monotonic() - start:5.1f}s] variant {variant} "
                  f"({i + 1} of {len(variants)}): its bound, the matching cache, the attack "
                  "suite", file=sys.stderr, flush=True)
        rep = run_variant(args, variant)
        record = rep.to_json()
        args.out.mkdir(parents=True, exist_ok=True)
        if not args.no_plot:
            from kvbound.plots.structure import structure_figure

            figure = args.out / f"structure-{variant}.png"
            structure_figure(rep, figure)
            record["figure"] = str(figure)
            written.append((figure, f"{variant}: the bound, the matching cache, the attack"))
        path = args.out / f"structure-{variant}.json"
        path.write_text(strict_json(record, indent=2) + "\n")
        written.append((path, f"{variant}: every number as JSON"))
        reports.append(rep)
        records.append(record)
    if args.json:
        out = records[0] if len(records) == 1 else {
            "variants": records, "ok": all(r.ok for r in reports)}
        print(strict_json(out, indent=2))
    else:
        print("\n\n".join(report_table(r) for r in reports))
    say_wrote("structure", written, to_stderr=args.json)
    leaks = [f"{r.variant}:{x.cache}" for r in reports for x in r.leaks]
    if leaks:
        print(f"kvbound: LEAK: {', '.join(leaks)} decoded more information than their message "
              "bytes can carry (message bits < Fano information at the observed error rate)",
              file=sys.stderr)
        return EXIT_BOUND_VIOLATED
    return 0 if all(r.ok for r in reports) else EXIT_CHECK_FAILED
