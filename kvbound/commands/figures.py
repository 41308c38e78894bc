"""kvbound figures: the nine slide figures of the course, their data, and a slide deck.

Writes NN-name.FORMAT and NN-name.json (the numbers drawn, from the library or a measured
run) for each figure of docs/course/unit.md: (0) the reduction itself, Alice -> bytes ->
Bob -> threshold, from one run's own numbers; (1) tokens per scale; (2) key inner
products; (3) softmax concentration against C; (4) Bob's outputs against tau; (5) error
rate against message bits / N with Fano's frontier; (6) the bound against the real VAR
caches; (7) the bound against d; (8) d_min against n. With --deck, also deck.html: a
title slide with the headline fact, then one slide per figure with its caption (arrow
keys to move; print it to get a PDF).

"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from kvbound.options import DEFAULT_ETA, add_instance_arguments, describe, parse_cache_options
from lowerbound.validation import InvalidArgument

__all__ = ["register", "run"]

EXAMPLES = (
    'kvbound figures --out out/slides',
    'kvbound figures --out out/slides --deck     # and deck.html',
    'kvbound figures --out out/slides --only 0,3 --format svg',
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "figures",
        help="write the nine slide figures of the course, their data, and a slide deck",
        **describe(__doc__, EXAMPLES),
    )
    p.add_argument("--out", type=Path, required=True, help="directory to write into")
    p.add_argument("--format", default="png", choices=("png", "svg", "pdf"),
                   help="image format (default: png)")
    p.add_argument("--only", metavar="LIST", help="figure numbers to write, e.g. 0,3,8 "
                   "(default: all nine)")
    p.add_argument("--deck", action="store_true",
                   help="also write deck.html: the figures as a slide deck (png or svg)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_instance_arguments(p)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the measured runs (figures 2, 4, 5; default: 0)")
    p.add_argument("--cache", default="noisy",
                   help="cache of figure 4's run (default: noisy, relative error eta)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="option of figure 4's cache, repeatable (e.g. --option noise=0.5)")
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
    if args.deck and args.format == "pdf":
        raise InvalidArgument("--deck shows the figures in a browser: use --format png or svg "
                              "(print the deck to get a PDF)")
    params = SlideParams(schedule=args.schedule, d=args.d, eps=args.eps, eta=eta,
                         seed=args.seed, cache=args.cache, options=options,
                         isolation=args.isolation)
    start = time.monotonic()

    def progress(note: str) -> None:
        if not args.quiet:
            print(f"kvbound figures [{time.monotonic() - start:5.1f}s] {note}",
                  file=sys.stderr, flush=True)

    written = write_slides(args.out, params, args.format, numbers, progress=progress)
    images = [p for p in written if p.suffix != ".json"]
    print(f"kvbound figures: wrote {len(images)} figures in {args.out}/ "
          f"({', '.join(p.name for p in images)}), each with its data as JSON")
    if args.deck:
        from kvbound.course.deck import DeckSlide, write_deck
        from kvbound.course.slides import slide
        from kvbound.reports.headline import headline

        progress("the deck: the headline fact")
        slides = [DeckSlide(f"{n}. {slide(n).heading}", f"{slide(n).stem}.{args.format}",
                            slide(n).caption) for n in numbers]
        deck = write_deck(args.out, "Why a VAR transformer's KV cache needs Ω(n²d) bits",
                          slides, headline=headline()["text"],
                          subtitle="kvbound, the executable companion (arXiv 2503.14881)")
        print(f"kvbound figures: wrote {deck} (the slide deck: open it in a browser; "
              "arrow keys move, printing gives a PDF)")
    return 0
