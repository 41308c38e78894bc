"""``kvbound figures``: the eight slide figures of the course unit, with their data.

Writes ``NN-name.FORMAT`` and ``NN-name.json`` (the numbers drawn, from lowerbound/ or a
measured run) for each figure of docs/course/unit.md: (1) tokens per scale, (2) key inner
products, (3) softmax concentration against C, (4) Bob's outputs against tau, (5) error
rate against message bits / N with Fano's frontier, (6) the bound against the real VAR
caches, (7) the bound against d, (8) d_min against n.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kvbound.options import DEFAULT_ETA, add_instance_arguments, parse_cache_options
from lowerbound.validation import InvalidArgument

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "figures",
        help="write the eight slide figures of the course (and the data behind each)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="directory to write into")
    p.add_argument("--format", default="png", choices=("png", "svg", "pdf"),
                   help="image format (default: png)")
    p.add_argument("--only", metavar="LIST", help="figure numbers to write, e.g. 1,3,8 "
                   "(default: all eight)")
    add_instance_arguments(p)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the measured runs (figures 2, 4, 5; default: 0)")
    p.add_argument("--cache", default="noisy",
                   help="cache of figure 4's run (default: noisy, relative error eta)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="option of figure 4's cache, repeatable (e.g. --option eta=0.5)")
    p.add_argument("--isolation", choices=("process", "inline"), default="process",
                   help="run Bob in a separate process (default) or in this one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kvbound.course.data import SlideParams
    from kvbound.course.slides import parse_only, write_slides
    from kvbound.options import parse_schedule
    from reduction.protocol import PublicParams

    numbers = parse_only(args.only)
    schedule = parse_schedule(args.schedule)
    if args.seed < 0:
        raise InvalidArgument(f"--seed={args.seed} must be >= 0")
    options = parse_cache_options(args.option)
    eta = DEFAULT_ETA if args.eta is None else args.eta
    _ = PublicParams(schedule, args.d, args.eps, eta, 0, args.cache, options).cache_params
    if args.out.exists() and not args.out.is_dir():
        raise InvalidArgument(f"--out={args.out} exists and is not a directory")
    params = SlideParams(schedule=args.schedule, d=args.d, eps=args.eps, eta=eta,
                         seed=args.seed, cache=args.cache, options=options,
                         isolation=args.isolation)
    for path in write_slides(args.out, params, args.format, numbers):
        print(path)
    return 0
