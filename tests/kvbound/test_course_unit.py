"""The course text keeps its shape: a 60-minute core in 90 minutes, a prerequisites box,
goals and a checked command per section, problems apart from their worked solutions (whose
numbers a command checks), the one-page notation sheet, and the refinements taught.

The commands themselves run in tests/kvbound/test_docs_commands.py; this module checks the
structure around them (docs/course/unit.md, problems.md, solutions.md, notation.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.kvbound.test_docs_commands import UNITS

COURSE = Path(__file__).resolve().parents[2] / "docs" / "course"
UNIT = COURSE / "unit.md"
PROBLEMS = COURSE / "problems.md"
SOLUTIONS = COURSE / "solutions.md"
NOTATION = COURSE / "notation.md"

_ROW = re.compile(r"^\| (\d) \| (.+?) \| (\d+) \| (\d+) \| (.+) \|$", re.M)
_SECTION = re.compile(r"^## (\d)\. (.+?) \((\d+) min; core (\d+)\)$", re.M)
_PROBLEM = re.compile(r"^## Problem (\d+): (.+)$", re.M)
_SOLUTION = re.compile(r"^## Solution (\d+): (.+)$", re.M)

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


def test_a_sixty_minute_core_in_ninety_and_the_table_matches_the_sections() -> None:
    text = UNIT.read_text()
    rows = _ROW.findall(text)
    sections = _SECTION.findall(text)
    assert [(n, title, minutes, core) for n, title, minutes, core, _ in rows] == sections
    assert [n for n, _, _, _ in sections] == [str(k) for k in range(1, 10)]
    assert sum(int(minutes) for _, _, minutes, _ in sections) == 90
    assert sum(int(core) for _, _, _, core in sections) == 60
    assert all(0 < int(core) <= int(minutes) for _, _, minutes, core in sections)
    assert "|   | total | 90 | 60 | |" in text


def test_prerequisites_come_first_and_optional_parts_are_marked() -> None:
    text = UNIT.read_text()
    assert text.index("**Prerequisites.**") < text.index("## 1. ")
    for start, end, m in _spans(text, _SECTION):
        body = text[start:end]
        stops = body.count("**Predict, then run")
        # the core path is the first stop of each section; every later one is optional
        assert body.count("*Optional.* **Predict, then run") == stops - 1, m.group(1)


def test_every_section_has_goals_and_ends_with_a_checked_prediction() -> None:
    text = UNIT.read_text()
    checked = _checked_units(UNIT)
    for start, end, m in _spans(text, _SECTION):
        body = text[start:end]
        assert "**Learning goals.**" in body, f"section {m.group(1)} has no learning goals"
        assert "**Predict, then run" in body, f"section {m.group(1)} has no prediction"
        core_stop = body.index("**Predict, then run")
        assert "*Optional.* **Predict" not in body[:core_stop + 20], m.group(1)
        first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
        assert any(first < line < last and n > 0 for line, n in checked), (
            f"section {m.group(1)}: no command whose output the text checks")


def test_the_unit_links_every_part_of_the_argument() -> None:
    linked = set(re.findall(r"\.\./theorem\.md#([\w-]+)", UNIT.read_text()))
    missing = [a for a in TAUGHT if a not in linked]
    assert not missing, f"unit.md never links docs/theorem.md#{missing}"


def test_problems_and_solutions_are_apart_numbered_alike_and_checked() -> None:
    problems, solutions = PROBLEMS.read_text(), SOLUTIONS.read_text()
    p_spans, s_spans = _spans(problems, _PROBLEM), _spans(solutions, _SOLUTION)
    assert [m.groups() for _, _, m in p_spans] == [m.groups() for _, _, m in s_spans]
    assert [int(m.group(1)) for _, _, m in p_spans] == list(range(1, len(p_spans) + 1))
    assert len(p_spans) >= 16
    words = {10: "Ten", 16: "Sixteen"}
    assert problems.split("\n", 3)[2].startswith(words.get(len(p_spans), str(len(p_spans))))
    assert "**Worked answer.**" not in problems and "```" not in problems
    checked = _checked_units(SOLUTIONS)
    for start, end, m in s_spans:
        first, last = solutions.count("\n", 0, start) + 1, solutions.count("\n", 0, end) + 1
        assert "**Worked answer.**" in solutions[start:end], f"solution {m.group(1)}"
        assert any(first < line < last and n > 0 for line, n in checked), (
            f"solution {m.group(1)}: no command checks its answer")
        assert f'<a id="solution-{m.group(1)}"></a>' in solutions
        assert f"(solutions.md#solution-{m.group(1)})" in problems


def test_the_notation_sheet_fits_one_page_and_its_numbers_are_checked() -> None:
    text = NOTATION.read_text()
    assert len(text.splitlines()) <= 70 and len(text.split()) <= 900
    assert any(n > 0 for _, n in _checked_units(NOTATION))
