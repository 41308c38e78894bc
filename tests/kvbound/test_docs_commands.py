"""Every shell command quoted in README.md, examples/README.md and docs/**/*.md runs, and
says what the text says.

The docs cannot rot: each ``sh`` block (and each line starting with ``kvbound <command>`` or
``make <target>``) runs as a shell script in a temporary directory that holds a copy of
``examples/`` and a link to this repository's ``.venv``, with that venv's ``bin`` first on
PATH. The exit code must be 0 (or the ``expect-exit`` given), and every ``expect`` comment
after a block is checked on the JSON it printed (see tests/doc_commands.py). Commands in
:data:`NOT_RUN` are not run, each for the reason given.

The ``kvbound`` lines run in this (warm) interpreter, as the console script would run them:
:func:`kvbound.cli.main` with the arguments the shell would pass, in the unit's directory,
every byte written to file descriptors 1 and 2 captured (Bob's worker processes included);
``cd``, ``&&`` and ``( ... )`` are followed, any other line runs in ``bash`` in the same
directory, and a unit that sets shell state runs in one ``bash -e`` as a whole
(:func:`tests.doc_commands.plan`). Importing kvbound and its packages once instead of once a
line is most of the saving. Afterwards the modules a unit imported from its directory (the
example caches) and ``sys.path`` are restored. ``kvbound proofs`` reads the registry's
outcomes of this session (tests/shared_runs.py). The console script itself and ``python -m
kvbound`` are run as processes by tests/kvbound/test_cli_verify.py,
tests/caches/test_student_kit.py and the README's tour.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kvbound.cli import build_parser, main
from tests.doc_commands import (
    DocCommand,
    Step,
    check_expectation,
    extract,
    literal_in_prose,
    plan,
)
from tests.shared_runs import share_registry_runs

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


class _WarmRunner:
    """Runs a unit's steps in this interpreter (see the module docstring)."""

    def __init__(self, root: Path, env: dict[str, str], capfd: pytest.CaptureFixture[str]):
        self.root, self.env, self.capfd = root, env, capfd
        self.cwd = root
        self.stdout: list[str] = []
        self.stderr: list[str] = []

    def run(self, steps: list[Step]) -> int:
        """The exit code of the first step that fails, else 0 (``bash -e``)."""
        for step in steps:
            code = self.step(step)
            if code != 0:
                return code
        return 0

    def step(self, step: Step) -> int:
        if step.kind == "activate":
            return 0 if (self.cwd / ".venv" / "bin" / "activate").is_file() else 1
        if step.kind == "cd":
            target = (self.cwd / step.args[0]).resolve()
            if not target.is_dir():
                self.stderr.append(f"cd: {step.args[0]}: No such file or directory\n")
                return 1
            self.cwd = target
            return 0
        if step.kind == "group":
            cwd = self.cwd
            code = self.run(list(step.body))
            self.cwd = cwd  # a subshell's cd does not outlive it
            return code
        if step.kind == "shell":
            proc = subprocess.run(["bash", "-e", "-c", step.text], cwd=self.cwd, env=self.env,
                                  capture_output=True, text=True, timeout=TIMEOUT)
            self.stdout.append(proc.stdout)
            self.stderr.append(proc.stderr)
            return proc.returncode
        return self.kvbound(list(step.args))

    def kvbound(self, args: list[str]) -> int:
        """``kvbound ARGS`` as the console script runs it, in this process."""
        import matplotlib.pyplot as plt
        import numpy as np

        path, modules, cwd = list(sys.path), set(sys.modules), os.getcwd()
        errors = np.geterr()
        self.capfd.readouterr()
        try:
            os.chdir(self.cwd)
            with warnings.catch_warnings():
                try:
                    code = main(args)
                except SystemExit as exc:  # as the console script would exit
                    code = exc.code if isinstance(exc.code, int) else 1
            return code
        finally:
            out, err = self.capfd.readouterr()
            self.stdout.append(out)
            self.stderr.append(err)
            os.chdir(cwd)
            sys.path[:] = path
            for name in set(sys.modules) - modules:  # a cache module imported from the unit
                if _under(getattr(sys.modules[name], "__file__", None), self.root):
                    del sys.modules[name]
            np.seterr(**errors)
            plt.close("all")


def _under(file: str | None, root: Path) -> bool:
    return file is not None and Path(file).resolve().is_relative_to(root.resolve())


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
def test_doc_command_runs_and_says_what_the_text_says(
    unit: DocCommand, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
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
    steps = plan(unit.script)
    if steps is None:
        proc = subprocess.run(["bash", "-e", "-c", unit.script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        share_registry_runs(monkeypatch)
        monkeypatch.setenv("MPLBACKEND", "Agg")
        runner = _WarmRunner(tmp_path, env, capfd)
        code = runner.run(steps)
        stdout, stderr = "".join(runner.stdout), "".join(runner.stderr)
    where = f"{unit.id}: {unit.script!r}"
    assert code == unit.exit_code, (
        f"{where} exited {code}, expected {unit.exit_code}\n{stderr[-2000:]}")
    for text in unit.outputs:
        assert text in stdout + stderr, f"{where} did not print {text!r}"
    if unit.expects:
        assert len(unit.script.splitlines()) == 1, f"{where}: expectations need one command"
        record = json.loads(stdout)
        failures = [m for e in unit.expects if (m := check_expectation(e, record))]
        assert not failures, f"{where}: " + "; ".join(failures)
