"""``kvbound walkthrough``: the reduction step by step on a hand-sized instance.

Prints markdown computed live by the project's functions: Index and Multi-Index, a
hand-sized instance whose five tokens take Bob two passes, then the same steps on the
chosen schedule (--schedule, --d, --eps, --eta). ``--write PATH`` writes it (``make docs``
writes docs/walkthrough.md with the defaults, which a test keeps fresh).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kvbound.options import DEFAULT_ETA, add_instance_arguments, describe
from kvbound.reports.walkthrough import walkthrough_markdown

__all__ = ["register", "run"]

EXAMPLES = (
    'kvbound walkthrough                              # the hand-sized instance, then var-256',
    'kvbound walkthrough --schedule var-512 --d 64',
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "walkthrough",
        help="the reduction step by step on a tiny instance (markdown, for teaching)",
        **describe(__doc__, EXAMPLES),
    )
    add_instance_arguments(p)
    p.add_argument("--write", type=Path, help="write the markdown to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = walkthrough_markdown(args.schedule, args.d, args.eps,
                                DEFAULT_ETA if args.eta is None else args.eta)
    if args.write:
        args.write.write_text(text)
        print(f"kvbound walkthrough: wrote {args.write} (the walk-through as markdown)")
    else:
        print(text, end="")
    return 0
