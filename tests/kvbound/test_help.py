"""``--help`` reads as plain text with examples, and every example is a valid command.

No reStructuredText in what a user sees (double backquotes, :mod: roles), an "examples:"
block for the tool and for each command, and every ``kvbound ...`` example line parses
with the real parser (so a renamed flag cannot linger in an example).
"""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from kvbound.cli import build_parser

PARSER = build_parser()
SUB = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
COMMANDS = sorted(SUB.choices)


def _examples(text: str) -> list[str]:
    block = text.split("examples:\n", 1)[1]
    lines = []
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip()
        for part in command.split("&&"):
            part = part.strip()
            if part.startswith("kvbound "):
                lines.append(part.split(">", 1)[0].strip())
    return lines


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_plain_and_shows_examples(command: str | None) -> None:
    text = (PARSER if command is None else SUB.choices[command]).format_help()
    assert "``" not in text and not re.search(r":(mod|func|class|data):`", text), command
    assert "examples:" in text, command
    examples = _examples(text)
    assert examples, command
    for example in examples:
        argv = shlex.split(example)[1:]
        if argv[-1] == "--help":
            continue
        args = PARSER.parse_args([a for a in argv if a != "COMMAND"])
        assert args.command == argv[0], example
