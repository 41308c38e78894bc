"""``kvbound asymptotics``: the bound for geometric schedules as n grows, and under a cap.

For geometric(n, rho), n = 16, 32, ..., n_max, and the VAR presets: L_{K-1}, d_min and
d_min/ln n (-> 8/eps^2), bound/(n^2 d) (-> 1/(rho^2 - 1)), C_min; a second panel with the
low-dimensional regime d = c ln n. With --logit-cap B, the largest n whose reduction fits
under B (at the fixed eps, and at head dimension --head-dim with eps chosen).
``--out DIR`` writes asymptotics.json, asymptotics.png and asymptotics-figure.json (the
plotted data read back from the figure).
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from kvbound.commands.constants import parse_fraction
from kvbound.options import describe
from kvbound.outputs import say_wrote, strict_json
from lowerbound.defaults import DEFAULTS

__all__ = ["register", "run"]

EXAMPLES = (
    'kvbound asymptotics --json',
    'kvbound asymptotics --logit-cap 100 --out out/   # figure and JSON in out/',
)


def register(subparsers: Any) -> None:
    """Add the ``asymptotics`` sub-command."""
    p = subparsers.add_parser(
        "asymptotics",
        help="the bound for geometric schedules as n grows (table, figure, JSON)",
        **describe(__doc__, EXAMPLES),
    )
    p.add_argument("--ratio", type=parse_fraction, default=Fraction(2),
                   help="geometric ratio rho > 1 of the side lengths (default 2)")
    p.add_argument("--n-min", type=int, default=16, help="smallest n (default 16)")
    p.add_argument("--n-max", type=int, default=4096, help="largest n (default 4096)")
    p.add_argument("--eps", type=parse_fraction, default=DEFAULTS.eps,
                   help=f"near-orthogonality eps in (0, 1) (default {DEFAULTS.eps})")
    p.add_argument("--eta", type=parse_fraction, default=Fraction(1, 4),
                   help="entrywise relative error eta in [0, 1) (default 1/4)")
    p.add_argument("--logit-cap", type=parse_fraction, default=None, metavar="B",
                   help="cap on |logit| (released VAR heads: 100); default none")
    p.add_argument("--head-dim", type=int, default=DEFAULTS.d,
                   help="with --logit-cap: the head dimension for the second search "
                   "(default 64)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write asymptotics.json, asymptotics.png, asymptotics-figure.json")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval

    check_interval(float(args.ratio), "ratio", 1, float("inf"))
    check_interval(float(args.eps), "eps", 0, 1)
    check_interval(float(args.eta), "eta", 0, 1, closed_lower=True)
    check_int_at_least(args.n_min, "n_min", 2)
    if args.n_max < args.n_min or args.n_max > 2**20:
        raise InvalidArgument(f"n_max={args.n_max} must lie in [n_min={args.n_min}, 2^20]")
    if args.logit_cap is not None:
        check_interval(float(args.logit_cap), "logit_cap", 0, float("inf"))
    check_int_at_least(args.head_dim, "head_dim", 1)


def _print(table: dict[str, Any]) -> None:
    lim = table["limits"]
    print(f"geometric(n, {table['ratio']})  eps={table['eps']}  eta={table['eta']}  "
          f"logit cap={table['logit_cap'] or 'none'}")
    print(f"  limits: bound/(n^2 d) -> 1/(rho^2-1) = {lim['bound_over_n2d']}; "
          f"d_min/ln n -> 8/eps^2 = {lim['d_min_over_ln_n']} = "
          f"{lim['d_min_over_ln_n_float']:.4g}")
    print(f"  {'n':>7} {'L_(K-1)':>12} {'d_min':>6} {'d_min/ln n':>11} "
          f"{'bound/(n^2 d)':>14} {'C_min':>9}")
    for r in [*table["presets"], *table["geometric"]]:
        name = r.get("schedule", "")
        print(f"  {r['n']:>7} {r['cached_tokens']:>12} {r['d_min']:>6} "
              f"{r['d_min_over_ln_n']:>11.4f} {r['bound_over_n2d_float']:>14.6f} "
              f"{r['c_min']:>9.4f}  {name}".rstrip())
    print("  low dimension, bound/(n^2 d) at d = ceil(c ln n):")
    for c, points in table["low_dimension"].items():
        cells = "  ".join(f"{p['bound_over_n2d_float']:.3g}" for p in points)
        print(f"    c={c:>3}: {cells}")
    if "cap" in table:
        cap = table["cap"]
        print(f"  under the cap {table['logit_cap']}: the largest n that fits is "
              f"{cap['largest_n_at_eps']} at eps={table['eps']} (d = d_min), and "
              f"{cap['largest_n_at_head_dim']} at head dimension {cap['head_dim']} "
              "(eps chosen)")


def run(args: argparse.Namespace) -> int:
    """Build the table; print it (or JSON); write the files under --out."""
    from kvbound.reports.asymptotics import asymptotic_table, asymptotics_figure

    _check(args)
    start = time.monotonic()

    def progress(note: str) -> None:
        if not args.quiet:
            print(f"kvbound asymptotics [{time.monotonic() - start:5.1f}s] {note}",
                  file=sys.stderr, flush=True)

    progress("the table: d_min, C_min and the bound for every n"
             + ("" if args.logit_cap is None else ", then the largest n under the cap"))
    table = asymptotic_table(ratio=args.ratio, n_min=args.n_min, n_max=args.n_max,
                             eps=args.eps, eta=args.eta, logit_cap=args.logit_cap,
                             head_dim=args.head_dim)
    written: list[tuple[Path, str]] = []
    if args.out is not None:
        progress("the figure")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "asymptotics.json").write_text(strict_json(table, indent=2) + "\n")
        plotted = asymptotics_figure(table, args.out / "asymptotics.png")
        (args.out / "asymptotics-figure.json").write_text(strict_json(plotted, indent=2) + "\n")
        written = [(args.out / "asymptotics.json", "the table as JSON"),
                   (args.out / "asymptotics.png", "both panels"),
                   (args.out / "asymptotics-figure.json", "the data the figure draws")]
    if args.json:
        print(strict_json(table, indent=2))
    else:
        _print(table)
    say_wrote("asymptotics", written, to_stderr=args.json)
    return 0
