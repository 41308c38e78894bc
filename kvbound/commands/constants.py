"""``kvbound constants``: every constant of the explicit theorem, with its enclosure.

Purpose: issue 2's constants command and issue 3's real-model mode. For a schedule (or a
model of :mod:`lowerbound.models`) and eps, eta, delta it prints d_min in both forms (L1),
C_min (L3), gamma at C_min (L2), tau (L3), N = L_{K-1} d, the bound in bits (theorem) and
the exact cache's bits; with ``--model``, per head and for the whole model (C2), the real
fp16 cache and the ratio -- the most any compressor can save on the worst case.

Every number comes from ``lowerbound`` (values) and ``proofs.certificates`` (rigorous
enclosures); nothing numeric is typed here.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from typing import Any

from kvbound.options import describe
from kvbound.reports.constants_table import (
    check_params,
    model_constants,
    print_model,
    print_schedule,
    schedule_constants,
)
from lowerbound.defaults import DEFAULTS
from lowerbound.validation import InvalidArgument
from reduction.schedule import PRESETS

__all__ = ["register", "run", "parse_fraction"]

EXAMPLES = (
    'kvbound constants                                # var-256, d = 64, eps = 3/4, eta = 1/4',
    'kvbound constants --headline                     # how far a released VAR cache can shrink',
    'kvbound constants --model var-d16                # per head and per model, vs the fp16 cache',
    'kvbound constants --logit-cap 100 --d 16         # L* tokens, eps and C under a cap',
    'kvbound constants --precision-table              # the bound per head as eta falls',
)



def parse_fraction(text: str) -> Fraction:
    """Read '3/4' or '0.75' as an exact fraction (argparse type).

    >>> parse_fraction("0.75"), parse_fraction("3/4")
    (Fraction(3, 4), Fraction(3, 4))
    """
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; write e.g. 0.75 or 3/4") from None


def register(subparsers: Any) -> None:
    """Add the ``constants`` sub-command."""
    p = subparsers.add_parser(
        "constants",
        help="print every constant of the theorem (d_min, C_min, gamma, tau, bound)",
        **describe("Print the constants of the explicit theorem for a schedule, or per head and "
            "per model for a real VAR/Infinity model, each with a rigorous enclosure.", EXAMPLES),
    )
    p.add_argument("--schedule", action="append", metavar="NAME|LIST",
                   help=f"preset ({', '.join(PRESETS)}), geometric(n,ratio) or "
                   "sides like 1,2,4 (repeatable; default var-256)")
    p.add_argument("--d", type=int, default=None,
                   help=f"key/value dimension (default {DEFAULTS.d})")
    p.add_argument("--eps", type=parse_fraction, default=None,
                   help=f"near-orthogonality eps in (0, 1) (default {DEFAULTS.eps}; "
                   "with --logit-cap "
                   "the default is to choose the best eps)")
    p.add_argument("--eta", type=parse_fraction, default=DEFAULTS.eta,
                   help=f"entrywise relative error eta in [0, 1) (default {DEFAULTS.eta})")
    p.add_argument("--delta", type=parse_fraction, default=Fraction(0),
                   help="per-bit error delta in [0, 1/2) (default 0)")
    p.add_argument("--model", metavar="NAME", action="append",
                   help="var-d16, var-d20, var-d24, var-d30, var-d36 or infinity-2b: per "
                   "head and whole-model constants against the real fp16 cache; with a "
                   "logit cap (the model's own, or --logit-cap) also the eps at which the "
                   "reduction fits under it (repeatable)")
    p.add_argument("--resolution", type=int, default=None,
                   help="with --model: 256 or 512 (VAR), 1024 (Infinity); default = the "
                   "released checkpoint's")
    p.add_argument("--logit-cap", type=parse_fraction, default=None, metavar="B",
                   help="cap B on |logit| (Lemma CAP): report the eps used, the tokens L* "
                   "that can carry bits, C <= B and the bound (released VAR heads: 100)")
    p.add_argument("--family", choices=("hoeffding", "binomial", "gilbert-varshamov"),
                   default="hoeffding", help="with --logit-cap: the key-family guarantee "
                   "(default hoeffding, Lemma L1's union bound)")
    p.add_argument("--bits-per-value", metavar="b|auto", default=None,
                   help="values on 2^b levels (Lemma PREC); 'auto' = the largest b that eta, "
                   "the cap and --value-dtype allow")
    p.add_argument("--value-dtype", default="float16",
                   choices=("bfloat16", "float16", "float32", "float64"),
                   help="format carrying the values: b <= 8, 11, 24, 53 (default float16)")
    p.add_argument("--precision-table", action="store_true",
                   help="bound per head against eta = 1/4 ... 2^-12 for the VAR presets "
                   "(cap 100 unless --logit-cap), next to the real fp16 cache")
    p.add_argument("--headline", action="store_true",
                   help="the headline fact: the most any compressor can shrink a released "
                   "VAR cache at eta = 1/4 and 2^-12 (the real models, their own cap)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _emit(results: list[Any], as_json: bool, printer: Any) -> None:
    if as_json:
        from kvbound.outputs import strict_json

        print(strict_json(results[0] if len(results) == 1 else results, indent=2))
        return
    for i, r in enumerate(results):
        if i:
            print()
        printer(r)


def run(args: argparse.Namespace) -> int:
    """Compute and print the constants (schedule, capped, precision-table or model mode)."""
    from kvbound.reports.constants import print_capped, print_precision_table
    from reduction.schedule import Schedule

    eps = DEFAULTS.eps if args.eps is None else args.eps
    cap_mode = args.logit_cap is not None or args.bits_per_value is not None
    if args.headline:
        import textwrap

        from kvbound.reports.headline import headline

        fact = headline()
        def wrapped(r: dict[str, Any]) -> None:  # no line break inside "η = 1/4"
            text = r["text"].replace("η = ", "η\u00a0=\u00a0")
            print(textwrap.fill(text, width=92).replace("\u00a0", " "))

        _emit([fact], args.json, wrapped)
        return 0
    if args.precision_table:
        from kvbound.reports.constants_cap import precision_table

        if args.model is not None:
            raise InvalidArgument("--precision-table uses the VAR presets; drop --model")
        cap = Fraction(100) if args.logit_cap is None else args.logit_cap
        schedules = [Schedule.parse(t) for t in (args.schedule or ["var-256", "var-512"])]
        if not args.json:
            print(f"kvbound constants: the precision table, {len(schedules)} schedule(s) x "
                  "11 values of eta (a few seconds)", file=sys.stderr, flush=True)
        rows = precision_table(schedules, DEFAULTS.d if args.d is None else args.d, cap,
                               args.value_dtype)
        _emit([rows], args.json, print_precision_table)
        return 0
    if args.model is not None:
        if args.schedule or args.d is not None:
            raise InvalidArgument("--model fixes the schedule and d (the head dimension); "
                             "drop --schedule/--d")
        if args.bits_per_value is not None:
            raise InvalidArgument("--model reports the one-bit bound; for the bound per head as a "
                             "function of eta with 2^b levels use --precision-table")
        from kvbound.reports.constants import capped_model_block

        results: list[Any] = []
        for name in args.model:
            r = model_constants(name, args.resolution, eps, args.eta, args.delta)
            r["under_cap"] = capped_model_block(name, args.resolution, args.eta,
                                                args.delta, args.logit_cap, args.family)
            results.append(r)
        _emit(results, args.json, print_model)
        return 0
    if args.resolution is not None:
        raise InvalidArgument("--resolution needs --model")
    d = DEFAULTS.d if args.d is None else args.d
    schedules = [Schedule.parse(text) for text in (args.schedule or ["var-256"])]
    if cap_mode:
        from kvbound.reports.constants_cap import capped_schedule_constants

        check_params(eps, args.eta, args.delta)
        # Under a cap eps is chosen unless given; without one it stays the usual 3/4.
        plan_eps = args.eps if args.eps is not None or args.logit_cap is not None else eps
        results = [capped_schedule_constants(
            s, d, args.eta, args.delta, args.logit_cap, eps=plan_eps, family=args.family,
            bits=args.bits_per_value, dtype=args.value_dtype) for s in schedules]
        _emit(results, args.json, print_capped)
        return 0
    results = [schedule_constants(s, d, eps, args.eta, args.delta) for s in schedules]
    _emit(results, args.json, print_schedule)
    return 0
