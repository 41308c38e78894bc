"""docs/reference.md, generated from the argument parser: every command and option.

``python -m kvbound.reports.reference`` (part of ``make docs``) rewrites docs/reference.md from
:func:`kvbound.cli.build_parser`; a test fails when the committed file differs, so the
reference cannot drift from the CLI (commands added by later work appear once
``make docs`` is run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kvbound.cli import build_parser

__all__ = ["reference_markdown", "REFERENCE"]

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
USAGE_WIDTH = 88


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{names}`"
    if action.choices is not None and action.metavar is None:
        value = "{" + ",".join(str(c) for c in action.choices) + "}"
    else:
        value = str(action.metavar or action.dest.upper())
    repeat = " (repeatable)" if isinstance(action, argparse._AppendAction) else ""
    return f"`{names} {value}`{repeat}"


def _default(action: argparse.Action) -> str:
    if action.nargs == 0:
        return "off"
    if action.default is None or action.default == argparse.SUPPRESS:
        return "required" if action.required else "-"
    return f"`{action.default}`"


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | what it sets |", "|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        rows.append(f"| {_flags(action)} | {_default(action)} | {_cell(action.help or '')} |")
    return rows


def reference_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The reference as markdown: the commands, then each one's usage and arguments."""
    parser = parser or build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in sub._choices_actions}
    lines = [
        "# Command reference",
        "",
        "Generated from the argument parser by `python -m kvbound.reports.reference` "
        "(`make docs`);",
        "a test fails when this file and the parser differ. `kvbound COMMAND --help` prints",
        "the same. Exit codes: 0 success, 2 bad input (one line on stderr), 3 a leak",
        "certified (docs/theorem.md#certificate: Bob's outputs reveal more than the",
        "message can carry; it outranks a later failure), 4 a cache that failed.",
        "",
        "| command | what it does |",
        "|---|---|",
        *[f"| [`{name}`](#kvbound-{name}) | {_cell(helps.get(name, ''))} |"
          for name in sub.choices],
        "",
    ]
    for name, command in sub.choices.items():
        lines += [
            f"## kvbound {name}",
            "",
            _cell(helps.get(name, "")),
            "",
            "```text",
            _usage(command),
            "```",
            "",
            *_options_table(command),
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    REFERENCE.write_text(reference_markdown())
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
