"""The Coq sources of proofs/coq/: what they declare, and what they must not.

Purpose: the source half of ``make coq``, standard library only. Lists the files of
``proofs/coq/_CoqProject`` in order, blanks out comments, and finds each file's theorem
names and the uses it must not make: vernacular that skips a proof or adds an axiom
(:data:`FORBIDDEN`), and any ``Hypothesis``, ``Variable`` or ``Context``, in a Section or
not. Without Section assumptions every theorem's statement, as written, is its whole type:
a hypothesis can only enter as a premise one reads in the statement itself.

Main statement: ``scan(path).problems`` is empty iff none of those uses occurs outside a
comment. A grep is a first line only; :mod:`proofs.coq_check` audits every compiled
constant with ``Print Assumptions``, which no source trick escapes, and
``proofs/coq/STATEMENTS.v`` pins the headline statements against weakening.

References: the Coq reference manual, "Sections" and "Vernacular commands".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lowerbound.validation import InvalidArgument

__all__ = [
    "COQ_DIR",
    "LOGICAL_ROOT",
    "FORBIDDEN",
    "SourceFile",
    "strip_comments",
    "scan",
    "project_files",
]

COQ_DIR = Path(__file__).resolve().parent / "coq"
LOGICAL_ROOT = "KVBound"

#: Vernacular that skips a proof, adds an axiom or switches a kernel check off.
FORBIDDEN = re.compile(
    r"\b(Admitted|admit|give_up|Axioms?|Parameters?|Conjectures?|Admit\s+Obligations"
    r"|Unset\s+(?:Guard|Positivity|Universe)\s+Checking|bypass_check"
    r"|Declare\s+ML\s+Module)\b"
)

_THEOREM = re.compile(
    r"(Theorem|Lemma|Corollary|Proposition|Fact|Remark|Property|Example)\s+([\w']+)")
_ASSUME = re.compile(r"(Hypothesis|Hypotheses|Variables?|Context)\b(.*)", re.S)
_BLOCK = re.compile(r"(Section|Module|End)\s+([\w']+)\s*$")


def strip_comments(text: str) -> str:
    """``text`` with every (nested) Coq comment blanked out, newlines kept.

    >>> strip_comments("a (* b (* c *) d *) e") == "a" + " " * 19 + "e"
    True
    """
    out: list[str] = []
    depth, i, in_string = 0, 0, False
    while i < len(text):
        two = text[i:i + 2]
        if in_string:
            in_string = text[i] != '"'
            out.append(" " if depth else text[i])
            i += 1
        elif two == "(*":
            depth += 1
            out.append("  ")
            i += 2
        elif two == "*)" and depth:
            depth -= 1
            out.append("  ")
            i += 2
        else:
            in_string = text[i] == '"'
            ch = text[i]
            out.append(ch if not depth or ch == "\n" else " ")
            i += 1
    return "".join(out)


def _sentences(code: str) -> list[tuple[int, str]]:
    """(line number, sentence) pairs; a sentence ends with a period before whitespace."""
    result, start = [], 0
    for m in re.finditer(r"\.(?=\s|$)", code):
        sentence = code[start:m.start()]
        stripped = sentence.strip()
        if stripped:
            line = code.count("\n", 0, start + len(sentence) - len(sentence.lstrip())) + 1
            result.append((line, stripped))
        start = m.end()
    return result


def _binder_names(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("("):
        return [n for group in re.findall(r"\(([^:()]+):", rest) for n in group.split()]
    return rest.split(":", 1)[0].split()


@dataclass(frozen=True)
class SourceFile:
    """What the scan found in one .v file."""

    name: str
    theorems: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def module(self) -> str:
        """The logical path of the compiled file, e.g. ``KVBound.L2_softmax``."""
        return f"{LOGICAL_ROOT}.{Path(self.name).stem}"


def scan(path: Path) -> SourceFile:
    """Theorem names and forbidden uses in one Coq source file."""
    text = path.read_text(encoding="utf-8")
    code = strip_comments(text)
    problems: list[str] = []
    for hit in FORBIDDEN.finditer(code):
        line = code.count("\n", 0, hit.start()) + 1
        problems.append(f"{path.name}:{line}: forbidden `{hit.group(0)}`")
    theorems: list[str] = []
    stack: list[tuple[str, str]] = []
    for line, sentence in _sentences(code):
        head = re.sub(r"^#\[[^\]]*\]\s*|^(Local|Global|Polymorphic)\s+", "", sentence)
        if (block := _BLOCK.match(head)) is not None:
            kind, name = block.groups()
            if kind == "End":
                if not stack or stack[-1][1] != name:
                    problems.append(f"{path.name}:{line}: `End {name}` closes nothing open")
                else:
                    stack.pop()
            else:
                stack.append((kind, name))
        elif (thm := _THEOREM.match(head)) is not None:
            theorems.append(thm.group(2))
        elif (assume := _ASSUME.match(head)) is not None:
            kind, rest = assume.groups()
            names = " ".join(_binder_names(rest))
            where = ("outside a Section is an axiom" if not stack or stack[-1][0] != "Section"
                     else "in a Section makes every theorem after it conditional")
            problems.append(f"{path.name}:{line}: `{kind} {names}` {where}; state it as a "
                            "premise of the theorem")
    for kind, name in stack:
        problems.append(f"{path.name}: {kind} {name} is never closed")
    return SourceFile(path.name, tuple(theorems), tuple(problems))


def project_files(coq_dir: Path = COQ_DIR) -> list[Path]:
    """The .v files of ``_CoqProject``, in its (dependency) order; every .v must be listed."""
    project = coq_dir / "_CoqProject"
    listed = [line.strip() for line in project.read_text(encoding="utf-8").splitlines()
              if line.strip().endswith(".v")]
    present = sorted(p.name for p in coq_dir.glob("*.v"))
    missing = sorted(set(present) - set(listed))
    if missing:
        raise InvalidArgument(f"{', '.join(missing)} in {coq_dir} are not listed in {project}; "
                         "add them (in dependency order)")
    return [coq_dir / name for name in listed]
