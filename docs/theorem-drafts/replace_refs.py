"""One-off: point every reference to the old spec files into the repository.

Run from the repository root after merging the helpers' branches, then delete this file
(and docs/theorem-drafts/ if empty):

    python docs/theorem-drafts/replace_refs.py          # rewrite files, print a summary
    python docs/theorem-drafts/replace_refs.py --check  # only report what would change

It rewrites every git-tracked .py/.md/.toml/.txt file (and the Makefile) except
docs/theorem.md, this directory and tests/test_doc_references.py (whose planted examples
name absent files on purpose), applying the ordered rules below; then it lists what
still names THEOREM.md, COMPRESSORS.md, STYLE.md or a shared/ path. After running it:
`make docs` (docs/compressors.md and docs/blueprint.md are generated from the code), then
`python -m pytest -q tests/test_doc_references.py tests/test_docs_generated.py` and
`ruff check` (a rewritten line can exceed 100 characters; re-wrap it).

Rules (first match wins for each occurrence, in this order):

1. "Lemmas L2 and L3 of THEOREM.md"           -> "Lemmas L2 and L3 (docs/theorem.md#l2, #l3)"
2. "Lemma L4 and the explicit theorem of THEOREM.md"
                                              -> "Lemma L4 and the explicit theorem
                                                  (docs/theorem.md#l4, #thm)"
3. "Lemma L1 (exact form) of THEOREM.md"      -> "Lemma L1 (exact form; docs/theorem.md#l1)"
4. "Lemma L3 of THEOREM.md", "Corollary C2 of THEOREM.md"
                                              -> "Lemma L3 (docs/theorem.md#l3)", ...
5. "Lemma L3 (THEOREM.md)", "Lemma L4 (THEOREM.md)"
                                              -> "Lemma L3 (docs/theorem.md#l3)"
6. "(C2 of THEOREM.md)"                       -> "(C2, docs/theorem.md#c2)"
7. "THEOREM.md L4" / "THEOREM.md C1" / "THEOREM.md S4"
                                              -> "docs/theorem.md#l4" / "#c1" / "#s4"
8. "the explicit theorem of THEOREM.md", "the theorem (bound) of THEOREM.md",
   "theorem of THEOREM.md"                    -> "... (docs/theorem.md#thm)"
9. "section N of THEOREM.md", "THEOREM.md section N", "THEOREM.md N" (N = 1..5) ->
   1, 2: docs/theorem.md#model; 3: #reduction; 4: docs/theorem.md (the lemmas);
   5: by the words on the line: tight/packer/hash -> #tight, feasible/leak/compressor
   -> #feasible,
   noise/confidence -> #fano, S4 -> #s4, sparsity -> #s1, else docs/theorem.md.
   "THEOREM.md sections 2-3" -> "docs/theorem.md#model, #reduction".
10. any other "../shared/spec/THEOREM.md", "/work/shared/spec/THEOREM.md", "THEOREM.md"
                                              -> "docs/theorem.md"
11. COMPRESSORS.md: the models.py sentence about the collected facts is rewritten; "policy
    of COMPRESSORS.md" -> "policy listed in docs/compressors.md"; "(COMPRESSORS.md, "prediction
    worth testing")" -> "(a prediction worth testing)"; "logit scale at 100
    (COMPRESSORS.md)" -> "... (docs/theorem.md#var-head)"; "COMPRESSORS.md's MiB" /
    "COMPRESSORS.md gives 42.5 MiB" -> "the published MiB" / "the published figure is
    42.5 MiB"; "# COMPRESSORS.md: fp16" -> "# Published fp16"; any other -> docs/compressors.md.
12. STYLE.md: "(STYLE.md, ...)" parentheticals are dropped (the house style is not part of
    the repository); any other "STYLE.md" -> "the house style".
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = ("docs/theorem.md", "docs/theorem-drafts/", "tests/test_doc_references.py")
SUFFIXES = (".py", ".md", ".toml", ".txt")
DOC = "docs/theorem.md"

Rule = tuple[str, "re.Pattern[str]", Callable[[re.Match[str], str], str]]


def _anchor(label: str) -> str:
    return label.lower()


def _section(number: str, line: str) -> str:
    low = line.lower()
    if number in ("1", "2"):
        return f"{DOC}#model"
    if number == "3":
        return f"{DOC}#reduction"
    if number == "5":
        for words, anchor in ((("tight", "packer", "hash"), "tight"),
                              (("feasible", "leak", "compressor"), "feasible"),
                              (("noise", "confidence"), "fano"),
                              (("s4",), "s4"), (("sparsity",), "s1")):
            if any(w in low for w in words):
                return f"{DOC}#{anchor}"
    return DOC


def _fixed(text: str) -> Callable[[re.Match[str], str], str]:
    return lambda m, line: text


RULES: list[Rule] = [
    ("packer-signs", re.compile(r"the key signs \(THEOREM\.md 5\)"),
     _fixed(f"the key signs ({DOC}#tight)")),
    ("lemmas-pair", re.compile(r"Lemmas (L\d) and (L\d) of THEOREM\.md"),
     lambda m, _: f"Lemmas {m[1]} and {m[2]} ({DOC}#{_anchor(m[1])}, #{_anchor(m[2])})"),
    ("l4-and-theorem", re.compile(r"Lemma L4 and the explicit theorem of THEOREM\.md"),
     _fixed(f"Lemma L4 and the explicit theorem ({DOC}#l4, #thm)")),
    ("lemma-qualified", re.compile(r"(Lemma|Corollary) ([LC]\d) \(([^()]*)\) of THEOREM\.md"),
     lambda m, _: f"{m[1]} {m[2]} ({m[3]}; {DOC}#{_anchor(m[2])})"),
    ("lemma-of", re.compile(r"(Lemma|Corollary) ([LC]\d) of THEOREM\.md"),
     lambda m, _: f"{m[1]} {m[2]} ({DOC}#{_anchor(m[2])})"),
    ("lemma-paren", re.compile(r"(Lemma|Corollary) ([LC]\d) \(THEOREM\.md\)"),
     lambda m, _: f"{m[1]} {m[2]} ({DOC}#{_anchor(m[2])})"),
    ("label-of", re.compile(r"\(([LC]\d) of THEOREM\.md\)"),
     lambda m, _: f"({m[1]}, {DOC}#{_anchor(m[1])})"),
    ("md-label", re.compile(r"THEOREM\.md ([LCS]\d)\b"),
     lambda m, _: f"{DOC}#{_anchor(m[1])}"),
    ("theorem-of", re.compile(r"(the explicit theorem|the theorem \(bound\)|theorem) of "
                              r"THEOREM\.md"),
     lambda m, _: f"{m[1]} ({DOC}#thm)"),
    ("sections-2-3", re.compile(r"THEOREM\.md sections 2-3"),
     _fixed(f"{DOC}#model, #reduction")),
    ("section-of", re.compile(r"section (\d) of THEOREM\.md"),
     lambda m, line: _section(m[1], line)),
    ("md-section", re.compile(r"THEOREM\.md sections? (\d)\b"),
     lambda m, line: _section(m[1], line)),
    ("md-number", re.compile(r"THEOREM\.md (\d)\b"),
     lambda m, line: _section(m[1], line)),
    ("theorem-any", re.compile(r"(?:(?:\.\./)+|/work/)?(?:shared/spec/)?THEOREM\.md"),
     _fixed(DOC)),
    ("models-facts", re.compile(r"- The facts above are collected in "
                                r"``/work/shared/spec/COMPRESSORS\.md``, which also gives\n"
                                r"  the fp16 cache sizes the tests compare with"),
     _fixed("- The fp16 cache sizes the tests compare with are the published ones\n"
            "  (docs/theorem.md#c2)")),
    ("policy-of", re.compile(r"policy of COMPRESSORS\.md"),
     _fixed("policy listed in docs/compressors.md")),
    ("prediction", re.compile(r"\(COMPRESSORS\.md, \"prediction worth testing\"\)"),
     _fixed("(a prediction worth testing)")),
    ("cap", re.compile(r"at 100 \(COMPRESSORS\.md\)"), _fixed(f"at 100 ({DOC}#var-head)")),
    ("mib", re.compile(r"COMPRESSORS\.md's MiB"), _fixed("the published MiB")),
    ("mib-gives", re.compile(r"COMPRESSORS\.md gives(\s+)42\.5 MiB"),
     lambda m, _: f"the published figure is{m[1]}42.5 MiB"),
    ("mib-comment", re.compile(r"# COMPRESSORS\.md: fp16"), _fixed("# Published fp16")),
    ("compressors-any", re.compile(r"(?:/work/shared/spec/|(?:\.\./)+shared/spec/)?"
                                   r"COMPRESSORS\.md"), _fixed("docs/compressors.md")),
    ("style-paren", re.compile(r" ?\(STYLE\.md[^)]*\)"), _fixed("")),
    ("style-any", re.compile(r"STYLE\.md"), _fixed("the house style")),
]

LEFTOVER = re.compile(r"THEOREM\.md|COMPRESSORS\.md|STYLE\.md|ARCHITECTURE\.md|shared/spec")


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)]


def rewrite(text: str, counts: Counter[str]) -> str:
    """Apply every rule in order to ``text``."""
    for name, pattern, replace in RULES:
        def sub(m: re.Match[str], name: str = name,
                replace: Callable[[re.Match[str], str], str] = replace) -> str:
            counts[name] += 1
            return replace(m, _line_of(m.string, m.start()))
        text = pattern.sub(sub, text)
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    counts: Counter[str] = Counter()
    changed = []
    for name in files:
        if name.startswith(SKIP) or not (name.endswith(SUFFIXES) or name == "Makefile"):
            continue
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, counts)
        if new != text:
            changed.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    for rule, n in counts.most_common():
        print(f"{n:4d}  {rule}")
    print(f"{len(changed)} files {'would change' if check else 'changed'}")
    left = []
    for name in files:
        if name.startswith(SKIP) or not name.endswith(SUFFIXES):
            continue
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            if LEFTOVER.search(line):
                left.append(f"{name}:{number}: {line.strip()}")
    print(f"{len(left)} lines still name a file outside the repository"
          + (" (before rewriting)" if check else ""))
    for item in left[:40]:
        print("  " + item)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
