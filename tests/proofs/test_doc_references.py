"""Every reference in code and docs points into the repository; docs/theorem.md anchors exist.

A clone must stand on its own: a comment that says "see Lemma L3 of SPEC.md" is a dead
end when SPEC.md is not in the repository. These tests scan every git-tracked (and every
new, not ignored) text file -- .py, .md, .toml, .txt, the Makefile and .ci/run -- for
references to markdown or source files and fail on any the repository does not hold, and
on any link to an anchor that docs/theorem.md does not define. They also check
that docs/theorem.md defines every section anchor the code relies on, and that every lemma
of the registry links to one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from proofs.catalog import registry
from proofs.registry import THEOREM_DOC

ROOT = Path(__file__).resolve().parents[2]
THEOREM = ROOT / THEOREM_DOC

#: The section anchors of docs/theorem.md that code and docs link to (stable).
REQUIRED_ANCHORS = (
    "model", "correctness", "index", "reduction", "l1", "l2", "l3", "l4", "thm", "c1",
    "c2", "tight", "feasible", "cap", "unused", "witness", "prec", "mem", "multi", "fano",
    "s1", "s2", "s3", "s4", "var-head", "asymptotics", "notation", "subtleties",
)

_TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt"}
_TEXT_NAMES = {"Makefile", ".ci/run"}
_URL = re.compile(r"[a-z]+://\S+")
_FILE_REF = re.compile(
    r"(?<![\w.\-/])((?:\.\./|/)?[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*\.(?:md|py|toml|txt))(?!\w)"
)
_THEOREM_ANCHOR = re.compile(r"theorem\.md#([A-Za-z0-9_\-]+)")
_LOCAL_LINK = re.compile(r"\]\(#([A-Za-z0-9_\-]+)\)")
_ANCHOR_DEF = re.compile(r'<a id="([^"]+)"></a>')

#: Files a command writes (not sources): allowed as names in docs and help texts.
_OUTPUTS = {"attack.md", "report.md"}
#: This file, whose planted examples name absent files on purpose: not scanned.
_SELF = "tests/proofs/test_doc_references.py"
#: Files of other repositories that the code cites next to the repository's name.
_EXTERNAL = {"models/__init__.py", "models/basic_var.py",  # FoundationVision/VAR
             "utils/arg_util.py"}


def _repo_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return sorted({f for f in out.splitlines() if (ROOT / f).is_file()})


def _text_files(files: list[str]) -> list[str]:
    return [f for f in files
            if (PurePosixPath(f).suffix in _TEXT_SUFFIXES or f in _TEXT_NAMES)
            and f != _SELF]


#: NVIDIA/kvpress's own files (its presses, ``kvpress/utils.py``), which caches/kvpress and
#: docs/compressors.md cite with kvpress's version: none of them is a file of this repository.
_KVPRESS_FILE = re.compile(
    r"(?:kvpress/)?(?:presses/)?[a-z0-9_]+(?:_press|_with_stats)\.py|kvpress/utils\.py")


def _resolves(ref: str, source: str, files: set[str], names: set[str]) -> bool:
    """Whether a referenced path names a file the repository holds."""
    if ref.startswith("/"):
        return False  # an absolute path is outside any clone
    if ref in _EXTERNAL or ref in _OUTPUTS or ref.startswith("out/"):
        return True
    if _KVPRESS_FILE.fullmatch(ref):
        return True
    if "/" not in ref:
        return ref in names
    relative = os.path.normpath(str(PurePosixPath(source).parent / ref))
    return (ref in files or relative in files
            or any(f.endswith("/" + ref) for f in files))


def missing_references(sources: list[str]) -> list[str]:
    """``path:line: ref`` for every reference in ``sources`` to a file the repo does not hold."""
    files = _repo_files()
    held = set(files)
    names = {PurePosixPath(f).name for f in files}
    problems = []
    for source in _text_files(sources):
        text = (ROOT / source).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if "tmp_path" in line or "tmpdir" in line:
                continue  # temporary files a test creates
            for match in _FILE_REF.finditer(_URL.sub("", line)):
                if not _resolves(match.group(1), source, held, names):
                    problems.append(f"{source}:{number}: {match.group(1)}")
    return problems


def theorem_anchors() -> list[str]:
    """Every ``<a id="..."></a>`` of docs/theorem.md, in order."""
    return _ANCHOR_DEF.findall(THEOREM.read_text(encoding="utf-8"))


def test_theorem_doc_defines_every_required_anchor_once() -> None:
    anchors = theorem_anchors()
    assert set(REQUIRED_ANCHORS) <= set(anchors), set(REQUIRED_ANCHORS) - set(anchors)
    duplicated = sorted({a for a in anchors if anchors.count(a) > 1})
    assert duplicated == []


def test_every_anchor_precedes_a_heading() -> None:
    """``<a id>`` sits on its own line right before the heading it names."""
    lines = THEOREM.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if _ANCHOR_DEF.search(line):
            assert line.strip() == _ANCHOR_DEF.search(line).group(0), line  # type: ignore[union-attr]
            assert lines[number + 1].startswith("#"), f"anchor on line {number + 1}"


def test_every_lemma_links_to_a_section() -> None:
    anchors = set(theorem_anchors())
    for lemma in registry():
        assert lemma.section in anchors, f"{lemma.label}: {lemma.link} does not exist"


def test_theorem_anchor_references_resolve() -> None:
    """Every link to an anchor of docs/theorem.md, from any file or from inside it, exists."""
    anchors = set(theorem_anchors())
    files = _repo_files()
    bad = []
    for source in _text_files(files):
        text = (ROOT / source).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            found = _THEOREM_ANCHOR.findall(line)
            if source == THEOREM_DOC:
                found += _LOCAL_LINK.findall(line)
            bad += [f"{source}:{number}: #{a}" for a in found if a not in anchors]
    assert bad == []


def test_docs_reference_only_files_the_repository_holds() -> None:
    """Markdown files (README, docs/) point only into the repository."""
    problems = missing_references([f for f in _repo_files() if f.endswith(".md")])
    assert problems == []


def test_no_reference_to_a_file_outside_the_repository() -> None:
    """Code, tests, configuration and docs point only into the repository."""
    problems = missing_references(_repo_files())
    assert problems == [], f"{len(problems)} dangling references, e.g. {problems[:10]}"


def test_scanner_catches_a_dangling_reference() -> None:
    """The scanner is not vacuous: planted references to absent files are reported."""
    files = _repo_files()
    names = {PurePosixPath(f).name for f in files}
    held = set(files)
    for ref in ("SPEC.md", "docs/notes-lost.md", "../outside/spec/SPEC.md", "/work/x.md",
                "reduction/absent.py"):
        assert not _resolves(ref, "kvbound/cli.py", held, names), ref
    for ref in ("README.md", "docs/theorem.md", "theorem.md", "reduction/protocol.py",
                "../README.md"):
        assert _resolves(ref, "docs/blueprint.md", held, names), ref
