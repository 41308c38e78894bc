"""The ``kvbound`` command line: one sub-command per module of :mod:`kvbound.commands`.

Every sub-command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning the exit code). A
``ValueError`` raised anywhere below becomes one line on stderr and exit code 2; a cache
whose worker process fails, hangs past ``--timeout`` or dies becomes one line naming the
cache and exit code 4; a leak found by the information check is exit code 3.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from reduction.isolation import PartyFailure

__all__ = ["main", "build_parser", "EXIT_BAD_INPUT", "EXIT_BOUND_VIOLATED",
           "EXIT_CACHE_FAILED"]

EXIT_BAD_INPUT = 2
EXIT_BOUND_VIOLATED = 3
EXIT_CACHE_FAILED = 4

# Order = order in `kvbound --help`.
COMMAND_MODULES = (
    "kvbound.commands.verify",
    "kvbound.commands.constants",
    "kvbound.commands.asymptotics",
    "kvbound.commands.attack",
    "kvbound.commands.proofs",
    "kvbound.commands.walkthrough",
    "kvbound.commands.check_cache",
    "kvbound.commands.figures",
    "kvbound.commands.structure",
    "kvbound.commands.site",
)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors use the same exit code and one-line style as ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"kvbound: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, sub-commands included."""
    parser = _Parser(
        prog="kvbound",
        description=(
            "Executable companion to the Omega(n^2 d) KV-cache lower bound for Visual "
            "Autoregressive transformers (arXiv 2503.14881)."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:
        print(f"kvbound: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PartyFailure as exc:
        print(f"kvbound: cache failure: {exc}", file=sys.stderr)
        return EXIT_CACHE_FAILED
    except KeyboardInterrupt:
        print("kvbound: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
