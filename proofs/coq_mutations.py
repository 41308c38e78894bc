"""Two wrong proofs the Coq audit must refuse: ``make coq`` runs them after the real build
(``python3 -m proofs.coq_mutations``, after ``python3 -m proofs.coq_check``).

Purpose: :mod:`proofs.coq_check` accepts the proofs only if every file compiles, the pinned
statements of ``STATEMENTS.v`` type-check and every constant rests on the allowed axioms.
Each half can only be trusted if it can fail, so ``make coq`` also builds two mutants:

* **a hidden axiom** (:func:`hidden_axiom_is_caught`): a file that the source scan passes
  (no ``Axiom``, no ``Admitted``) but whose lemma and definition use the choice axiom of
  ``ClassicalEpsilon`` through a library lemma. The audit must name that axiom for both,
  a definition included, and not for the honest lemma beside them.
* **a weakened statement** (:func:`weakened_statement_fails`): ``leak_certificate_sound``
  with one more premise. Its own file still compiles; ``STATEMENTS.v`` must then fail, at
  the pinned statement ``leak_pinned``, not somewhere else.

Main statement: :func:`run_mutations` returns no problem iff both mutants are refused as
described; :func:`main` exits 0 then, 1 otherwise, 2 without ``coqc``. The mutants reuse
the compiled tree (only the mutated files are compiled again) in a temporary directory, so
the real build is untouched. Standard library only, as :mod:`proofs.coq_check`. (They ran
in pytest before; CI runs ``make coq``, so tests/proofs/test_coq.py keeps what needs no
Coq: the mutants still apply to the current sources, and make coq runs them.)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from proofs import coq_check
from proofs.coq_scan import COQ_DIR, scan

__all__ = ["SNEAKY_SOURCE", "weakened_leak_source", "hidden_axiom_is_caught",
           "weakened_statement_fails", "run_mutations", "main"]

#: A file the source scan passes, with one lemma and one definition resting on choice.
SNEAKY_SOURCE = (
    "(** A file that passes the source scan. *)\n"
    "From Coq Require Import Reals ClassicalEpsilon.\n"
    "From KVBound Require Import Sums.\n"
    "Lemma honest (f : nat -> R) : rsum f 0 = 0.\n"
    "Proof. reflexivity. Qed.\n"
    "Lemma sneaky_choice (A : Type) (P : A -> Prop) : (exists x, P x) -> {x | P x}.\n"
    "Proof. apply constructive_indefinite_description. Qed.\n"
    "Definition sneaky_def := @constructive_indefinite_description nat.\n"
)
_CHOICE = "ClassicalEpsilon.constructive_indefinite_description"

_LEAK_FILE = "LEAK_kraft.v"
_PREMISES = "(alpha : R) :\n  (1 <= K)%nat"
_WEAKER = "(alpha : R) (extra : (1 <= S)%nat) :\n  (1 <= K)%nat"


def weakened_leak_source(text: str) -> str:
    """``LEAK_kraft.v`` with an extra premise on ``leak_certificate_sound``.

    Raises ValueError if the statement no longer reads as this mutation expects (then the
    mutation must be updated with the proof, not skipped).
    """
    if text.count(_PREMISES) != 1:
        raise ValueError(f"{_LEAK_FILE}: the premises of leak_certificate_sound moved; "
                         "update proofs/coq_mutations.py")
    return text.replace(_PREMISES, _WEAKER)


def hidden_axiom_is_caught(build_dir: Path, work: Path) -> list[str]:
    """Problems with the hidden-axiom mutant (empty: the audit caught it)."""
    for suffix in (".v", ".vo"):
        shutil.copyfile(build_dir / f"Sums{suffix}", work / f"Sums{suffix}")
    sneaky = work / "Sneaky.v"
    sneaky.write_text(SNEAKY_SOURCE, encoding="utf-8")
    sources = [scan(work / "Sums.v"), scan(sneaky)]
    problems = [f"the scan already refuses the mutant: {p}" for s in sources for p in s.problems]
    coq_check.compile_all([sneaky], work)
    names = coq_check.constants(sources, work)
    if "sneaky_def" not in names["Sneaky.v"] or "rsum" not in names["Sums.v"]:
        problems.append("Print Module does not list the definitions, so they go unaudited")
    found = coq_check.assumptions(sources, work, names)
    if _CHOICE not in found.get("Sneaky.v", set()):
        problems.append(f"the audit did not find {_CHOICE} in Sneaky.v")
    for name in ("sneaky_choice", "sneaky_def"):
        if not found.get(f"Sneaky.v: {name}", set()) - coq_check.ALLOWED_AXIOMS:
            problems.append(f"the audit accepted {name}, which uses {_CHOICE}")
    if found.get("Sneaky.v: honest", set()) - coq_check.ALLOWED_AXIOMS:
        problems.append("the audit blamed the honest lemma")
    return problems


def weakened_statement_fails(build_dir: Path, work: Path) -> list[str]:
    """Problems with the weakened-statement mutant (empty: STATEMENTS.v refused it)."""
    for f in build_dir.iterdir():
        if f.suffix in (".v", ".vo"):
            shutil.copyfile(f, work / f.name)
    leak = work / _LEAK_FILE
    leak.write_text(weakened_leak_source(leak.read_text(encoding="utf-8")), encoding="utf-8")
    try:
        coq_check.compile_all([leak], work)
    except RuntimeError as exc:
        return [f"the weakened {_LEAK_FILE} does not compile by itself: {exc}"]
    statements = work / coq_check.STATEMENTS_FILE
    lines = statements.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("Theorem leak_pinned"))
    last = next(i for i, line in enumerate(lines, 1) if i > first and "Qed." in line)
    try:
        coq_check.compile_all([statements], work)
    except RuntimeError as exc:
        at = [int(x) for x in re.findall(r"line (\d+)", str(exc))]
        if at and all(first <= x <= last for x in at):
            return []
        return [f"{coq_check.STATEMENTS_FILE} failed, but not at leak_pinned "
                f"(lines {first}-{last}): {exc}"]
    return [f"{coq_check.STATEMENTS_FILE} accepted a weakened leak_certificate_sound"]


def run_mutations(build_dir: Path = COQ_DIR) -> list[str]:
    """Both mutants against the compiled tree in ``build_dir``; their problems, if any."""
    problems = []
    for mutant in (hidden_axiom_is_caught, weakened_statement_fails):
        with tempfile.TemporaryDirectory() as tmp:
            problems += [f"{mutant.__name__}: {p}" for p in mutant(build_dir, Path(tmp))]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Build both mutants against the compiled tree; exit 0 iff both are refused."""
    parser = argparse.ArgumentParser(prog="python3 -m proofs.coq_mutations",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=COQ_DIR,
                        help="the tree compiled by proofs.coq_check (default: proofs/coq/)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        problems = run_mutations(args.build_dir)
    except FileNotFoundError as exc:
        print(f"coq: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as exc:
        problems = [str(exc)]
    if problems:
        print("coq: a mutant was not refused:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"coq: both mutants refused in {time.perf_counter() - start:.1f} s: an axiom the "
          "scan cannot see (named by the audit) and a weakened leak_certificate_sound "
          "(STATEMENTS.v fails at leak_pinned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
