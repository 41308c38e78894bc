"""The course text keeps its shape: 90 minutes, goals and a checked command per section,
exercises with worked answers whose numbers a command checks, and the refinements taught.

The commands themselves run in tests/kvbound/test_docs_commands.py; this module checks the
structure around them (docs/course/unit.md and docs/course/exercises.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.kvbound.test_docs_commands import UNITS

COURSE = Path(__file__).resolve().parents[2] / "docs" / "course"
UNIT = COURSE / "unit.md"
EXERCISES = COURSE / "exercises.md"

_ROW = re.compile(r"^\| (\d) \| (.+?) \| (\d+) \| (.+) \|$", re.M)
_SECTION = re.compile(r"^## (\d)\. (.+?) \((\d+) min\)$", re.M)
_EXERCISE = re.compile(r"^## Exercise (\d+): ", re.M)

#: docs/theorem.md anchors the unit must teach (the refinements included).
TAUGHT = ("model", "mem", "index", "l4", "multi", "fano", "feasible", "reduction", "l1",
          "witness", "l2", "cap", "correctness", "l3", "thm", "notation", "asymptotics",
          "c2", "unused", "var-head", "c1", "prec", "tight", "s1", "s4")


def _checked_units(path: Path) -> list[tuple[int, int]]:
    """(line, number of expectations) of every command of ``path`` that checks something."""
    return [(u.line, len(u.expects) + bool(u.outputs) + (u.exit_code != 0))
            for u in UNITS if u.path == path]


def _spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int, re.Match[str]]]:
    found = list(pattern.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [(m.start(), end, m) for m, end in zip(found, ends)]


def test_the_unit_takes_ninety_minutes_and_the_table_matches_the_sections() -> None:
    text = UNIT.read_text()
    rows = _ROW.findall(text)
    sections = _SECTION.findall(text)
    assert [(n, title, minutes) for n, title, minutes, _ in rows] == sections
    assert [n for n, _, _ in sections] == [str(k) for k in range(1, 10)]
    assert sum(int(minutes) for _, _, minutes in sections) == 90
    assert "|   | total | 90 | |" in text


def test_every_section_has_goals_and_ends_with_a_checked_prediction() -> None:
    text = UNIT.read_text()
    checked = _checked_units(UNIT)
    for start, end, m in _spans(text, _SECTION):
        body = text[start:end]
        assert "**Learning goals.**" in body, f"section {m.group(1)} has no learning goals"
        assert "**Predict, then run" in body, f"section {m.group(1)} has no prediction"
        first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
        assert any(first < line < last and n > 0 for line, n in checked), (
            f"section {m.group(1)}: no command whose output the text checks")


def test_the_unit_links_every_part_of_the_argument() -> None:
    linked = set(re.findall(r"\.\./theorem\.md#([\w-]+)", UNIT.read_text()))
    missing = [a for a in TAUGHT if a not in linked]
    assert not missing, f"unit.md never links docs/theorem.md#{missing}"


def test_exercises_are_numbered_worked_and_checked() -> None:
    text = EXERCISES.read_text()
    spans = _spans(text, _EXERCISE)
    assert [int(m.group(1)) for _, _, m in spans] == list(range(1, len(spans) + 1))
    assert len(spans) >= 16
    words = {10: "Ten", 16: "Sixteen"}
    assert text.split("\n", 3)[2].startswith(words.get(len(spans), str(len(spans))))
    checked = _checked_units(EXERCISES)
    for start, end, m in spans:
        first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
        assert "**Worked answer.**" in text[start:end], f"exercise {m.group(1)}"
        assert any(first < line < last and n > 0 for line, n in checked), (
            f"exercise {m.group(1)}: no command checks its answer")
