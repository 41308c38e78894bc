"""docs/reference.md is generated from the parser and lists every command and option."""

from __future__ import annotations

import argparse

from kvbound.cli import build_parser
from kvbound.reports.reference import REFERENCE, reference_markdown


def test_reference_is_fresh() -> None:
    assert REFERENCE.read_text() == reference_markdown(), (
        "docs/reference.md is stale: run make docs (python -m kvbound.reports.reference)")


def test_reference_lists_every_command_and_option() -> None:
    text = reference_markdown()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) >= 7
    for name, command in sub.choices.items():
        assert f"## kvbound {name}\n" in text
        section = text.split(f"## kvbound {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in section or f", {flag}" in section, (name, flag)


def test_reference_shows_defaults_and_repeatable_options() -> None:
    text = reference_markdown()
    assert "| `--schedule SCHEDULE` | `var-256` |" in text
    assert "| `--option KEY=VALUE` (repeatable) | - |" in text
    assert "| `--format {png,svg,pdf}` | `png` |" in text
    assert "| `cache` | required |" in text
