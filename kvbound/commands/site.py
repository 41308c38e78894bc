"""``kvbound site``: write the interactive page, static files to open in any browser.

The page has sliders for the schedule, d, eps, eta, b and the logit cap B and shows d_min,
C_min, gamma, tau, the bound and how far a real fp16 cache could shrink; the softmax of
Bob's query as C grows; Bob's measured outputs around tau for a few caches; and a
student's `kvbound verify --json` record in plain words (load it in the page, or build it
in with --result). No server and no network: open DIR/index.html.

"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from kvbound.options import describe

__all__ = ["register", "run"]

EXAMPLES = (
    'kvbound site --out out/site',
    'kvbound verify --json > result.json && kvbound site --out out/site --result result.json',
)


def register(subparsers: Any) -> None:
    """Add the ``site`` sub-command."""
    p = subparsers.add_parser(
        "site",
        help="write the interactive page (static files: sliders, softmax, Bob's outputs)",
        **describe(__doc__, EXAMPLES),
    )
    p.add_argument("--out", type=Path, required=True, help="directory to write the page into")
    p.add_argument("--result", type=Path, default=None, metavar="FILE",
                   help="a `kvbound verify --json` record to show in the page's "
                   "'your cache' panel")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the page and say where it is."""
    from kvbound.site.build import build_site

    start = time.monotonic()

    def progress(note: str) -> None:
        if not args.quiet:
            print(f"kvbound site [{time.monotonic() - start:5.1f}s] {note}", file=sys.stderr,
                  flush=True)

    written = build_site(args.out, result=args.result, progress=progress)
    index = args.out / "index.html"
    print(f"wrote the page: {len(written)} files in {args.out}/ "
          f"({', '.join(p.name for p in written)})")
    print(f"open {index} in a browser (no server needed)")
    return 0
