"""Every shell command quoted in README.md, examples/README.md and docs/**/*.md runs, and
says what the text says.

The docs cannot rot: each ``sh`` block (and each line starting with ``kvbound <command>`` or
``make <target>``) runs as a shell script in a temporary directory that holds a copy of
``examples/`` and a link to this repository's ``.venv``, with that venv's ``bin`` first on
PATH. The exit code must be 0 (or the ``expect-exit`` given), and every ``expect`` comment
after a block is checked on the JSON it printed (see tests/doc_commands.py). Commands in
:data:`NOT_RUN` are not run, each for the reason given.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kvbound.cli import build_parser
from tests.doc_commands import DocCommand, check_expectation, extract, literal_in_prose

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "examples" / "README.md",
        *sorted((ROOT / "docs").rglob("*.md"))]
TIMEOUT = 600

#: Commands the docs quote that this test does not run, and why (keep this list short).
NOT_RUN: dict[str, str] = {
    "make test": "the test suite itself",
    "make demo": "creates the venv and installs; its commands (verify, attack) run here",
    "make docs": "rewrites the generated docs in place; their freshness has its own tests",
    "make bench": "benchmarks take minutes and assert nothing",
    "make coq": "needs the Coq toolchain (its own CI step)",
    "make notebook": "installs the optional 'course' extra from PyPI; "
                     "tests/kvbound/test_notebook.py "
                     "runs the notebook itself",
}


def _commands() -> set[str]:
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)
    return set(sub.choices)


def _targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m for m in re.findall(r"^([a-z][\w-]*):", text, flags=re.M)}


UNITS: list[DocCommand] = [u for path in DOCS for u in extract(path, _commands(), _targets())]


def _reason(line: str) -> str | None:
    return next((why for cmd, why in NOT_RUN.items() if line.startswith(cmd)), None)


def _skipped(unit: DocCommand) -> str | None:
    """Why the unit is not run: every one of its lines is on the allow-list."""
    reasons = [_reason(line) for line in unit.script.splitlines()]
    return None if None in reasons else "; ".join(r for r in reasons if r)


def test_the_docs_quote_commands_and_none_hides_behind_the_allow_list() -> None:
    ran = [u for u in UNITS if _skipped(u) is None]
    assert len(ran) >= 30, f"only {len(ran)} runnable commands found in the docs"
    assert sum(len(u.expects) for u in UNITS) >= 40
    mixed = [u.id for u in ran if any(_reason(line) for line in u.script.splitlines())]
    assert not mixed, f"blocks mixing allow-listed and other commands: {mixed}; split them"
    course = {u.path.name for u in UNITS if u.expects}
    assert {"unit.md", "solutions.md", "notation.md"} <= course


@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS, ids=[u.id for u in UNITS])
def test_doc_command_runs_and_says_what_the_text_says(unit: DocCommand, tmp_path: Path) -> None:
    reason = _skipped(unit)
    if reason is not None:
        pytest.skip(f"not run: {reason}")
    for e in unit.expects:
        assert literal_in_prose(e, unit.section), (
            f"{unit.id}: {e.value} is checked but not written in the text of its section")
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", "-e", "-c", unit.script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    where = f"{unit.id}: {unit.script!r}"
    assert proc.returncode == unit.exit_code, (
        f"{where} exited {proc.returncode}, expected {unit.exit_code}\n{proc.stderr[-2000:]}")
    for text in unit.outputs:
        assert text in proc.stdout + proc.stderr, f"{where} did not print {text!r}"
    if unit.expects:
        assert len(unit.script.splitlines()) == 1, f"{where}: expectations need one command"
        record = json.loads(proc.stdout)
        failures = [m for e in unit.expects if (m := check_expectation(e, record))]
        assert not failures, f"{where}: " + "; ".join(failures)
