"""The ``kvbound`` command line: one sub-command per module of :mod:`kvbound.commands`.

Every sub-command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning the exit code). The
exit codes are those of :mod:`kvbound.exit_codes`: an
:class:`~lowerbound.validation.InvalidArgument` raised anywhere below becomes one line on
stderr and exit code 2; a :class:`~reduction.errors.CacheFault` (a cache that raises,
hangs past ``--timeout``, dies or breaks its contract) one line naming the cache and exit
code 4; a leak is exit code 3; a worker that cannot be started in its sandbox is one
line and exit code 1; anything else is a bug in kvbound: exit code 1, the traceback, and
a line saying so.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from kvbound.exit_codes import (
    EXIT_BAD_INPUT,
    EXIT_BOUND_VIOLATED,
    EXIT_BUG,
    EXIT_CACHE_FAILED,
    EXIT_INTERRUPTED,
)
from lowerbound.validation import InvalidArgument
from reduction.errors import CacheFault
from reduction.isolation.sandbox import SandboxError

__all__ = ["main", "build_parser", "package_version", "EXIT_BAD_INPUT",
           "EXIT_BOUND_VIOLATED", "EXIT_CACHE_FAILED", "EXIT_BUG"]

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
        print(f"kvbound: error: {message} (usage: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def package_version() -> str:
    """The installed version of kvbound (pyproject.toml's), or "unknown"."""
    try:
        return version("kvbound")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The full parser, sub-commands included."""
    parser = _Parser(
        prog="kvbound",
        description=(
            "Executable companion to the Omega(n^2 d) KV-cache lower bound for Visual "
            "Autoregressive transformers (arXiv 2503.14881)."
        ),
        epilog=("examples:\n"
                "  kvbound constants --headline      # how far a released VAR cache can shrink\n"
                "  kvbound verify                    # run the proof's reduction, plain verdict\n"
                "  kvbound site --out out/site       # the interactive page\n"
                "  kvbound COMMAND --help            # each command, with its own examples"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kvbound {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (one line, exit 2)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return int(args.func(args))
    except InvalidArgument as exc:
        print(f"kvbound: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CacheFault as exc:
        print(f"kvbound: cache failure: {exc}", file=sys.stderr)
        return EXIT_CACHE_FAILED
    except SandboxError as exc:  # this machine, not the cache and not kvbound's code
        print(f"kvbound: sandbox error: {exc}", file=sys.stderr)
        return EXIT_BUG
    except KeyboardInterrupt:
        print("kvbound: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader left (`kvbound ... | head`): nothing went wrong
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        traceback.print_exc()
        print("kvbound: internal error: this is a bug in kvbound; please report it with the "
              "command and the traceback above", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
