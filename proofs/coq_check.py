"""The machine-checked core: compile proofs/coq/ and audit what its theorems assume.

Purpose: ``make coq`` (``python3 -m proofs.coq_check``). Compiles every Coq file listed in
``proofs/coq/_CoqProject``, in order, with ``coqc``, after :mod:`proofs.coq_scan` has
refused sources that skip a proof, declare an axiom or make a Section assumption; asks Coq
(``Print Module``) for every constant each file defines -- theorems, lemmas and
definitions, whatever keyword declared them -- and runs ``Print Assumptions`` on all of
them, accepting only :data:`ALLOWED_AXIOMS`.

Main statement: the exit status is 0 iff every file compiles (``STATEMENTS.v`` included,
which pins the headline statements, so weakening one fails the build), the source scan is
clean, and every constant of every file rests only on :data:`ALLOWED_AXIOMS`. Standard
library only, so it runs without the project's virtualenv.

References: the Coq reference manual, "Print Assumptions" and "Sections"; Coq 8.16 with
Coquelicot and Interval (Debian packages coq, libcoq-coquelicot, libcoq-interval).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from proofs.coq_scan import COQ_DIR, LOGICAL_ROOT, SourceFile, project_files, scan

__all__ = [
    "ALLOWED_AXIOMS",
    "APT_PACKAGES",
    "STATEMENTS_FILE",
    "ALL",
    "compile_all",
    "constants",
    "assumptions",
    "main",
]

APT_PACKAGES = ("coq", "libcoq-coquelicot", "libcoq-interval")

#: The file of pinned statements; it must be compiled, after every file it pins.
STATEMENTS_FILE = "STATEMENTS.v"

#: The axioms Coq 8.16's real numbers rest on, and nothing else. Coq.Reals builds R as
#: classical Dedekind cuts on the two ``ClassicalDedekindReals`` axioms; its library
#: (exp, ln, the order lemmas) also uses functional extensionality and excluded middle,
#: which L1's existence step uses too. Every one of our theorems that uses a real-number
#: lemma inherits some of these four; no other axiom is accepted.
ALLOWED_AXIOMS = frozenset({
    "ClassicalDedekindReals.sig_forall_dec",
    "ClassicalDedekindReals.sig_not_dec",
    "FunctionalExtensionality.functional_extensionality_dep",
    "Classical_Prop.classic",
})


def _coqc() -> str:
    exe = shutil.which("coqc")
    if exe is None:
        raise FileNotFoundError(
            "coqc is not installed; on Debian/Ubuntu: apt-get install -y "
            + " ".join(APT_PACKAGES))
    return exe


def compile_all(files: Sequence[Path], build_dir: Path) -> dict[str, float]:
    """Compile ``files`` in order inside ``build_dir`` (copying them there if needed).

    Returns the seconds each file took; raises RuntimeError with coqc's output on a failure.
    """
    coqc = _coqc()
    seconds: dict[str, float] = {}
    for src in files:
        start = time.perf_counter()
        target = build_dir / src.name
        if target.resolve() != src.resolve():
            shutil.copyfile(src, target)
        proc = subprocess.run([coqc, "-q", "-R", ".", LOGICAL_ROOT, src.name], cwd=build_dir,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"coqc failed on {src.name}:\n{proc.stdout}{proc.stderr}")
        seconds[src.name] = time.perf_counter() - start
    return seconds


def _run_probe(lines: Sequence[str], build_dir: Path, what: str) -> str:
    """Compile a throw-away file of ``lines`` against ``build_dir``; return its output."""
    coqc = _coqc()
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "Probe.v"
        probe.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = subprocess.run([coqc, "-q", "-R", str(build_dir), LOGICAL_ROOT, str(probe)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


#: A field of ``Print Module``'s top-level structure: a constant (``Definition`` for a
#: transparent one, ``Parameter`` for an opaque proof -- or an axiom, which the audit then
#: catches) or something else (``Inductive``, ``Module``...), which holds no proof term.
_FIELD = re.compile(r"^ {5}(\w+) ([\w']+)")


def constants(sources: Sequence[SourceFile], build_dir: Path) -> dict[str, list[str]]:
    """Every constant each compiled file defines, as Coq reports it: file name -> names.

    Nested modules (the Interval tactic's instances in CERT_instances.v) are library
    functor applications; any axiom they use shows in the theorems that use them.
    """
    lines = [f"From {LOGICAL_ROOT} Require {' '.join(Path(s.name).stem for s in sources)}."]
    for s in sources:
        lines += [f'Goal True. idtac "@@ {s.name}". Abort.', f"Print Module {s.module}."]
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in _run_probe(lines, build_dir, "Print Module").splitlines():
        if raw.startswith("@@ "):
            current = found.setdefault(raw[3:].strip(), [])
        elif current is not None and (m := _FIELD.match(raw)) is not None:
            if m.group(1) in ("Definition", "Parameter"):
                current.append(m.group(2))
    missing = {s.name for s in sources} - set(found)
    if missing:
        raise RuntimeError(f"no Print Module output for {', '.join(sorted(missing))}")
    for s in sources:
        unseen = set(s.theorems) - set(found[s.name])
        if unseen:
            raise RuntimeError(f"{s.name}: Coq does not list {', '.join(sorted(unseen))}")
    return found


def _print_assumptions(targets: dict[str, list[str]], modules: Sequence[str],
                       build_dir: Path) -> dict[str, set[str]]:
    """Run ``Print Assumptions`` on a tuple of each target's constants, in one coqc call."""
    lines = [f"From {LOGICAL_ROOT} Require {' '.join(modules)}."]
    for i, (label, names) in enumerate(targets.items()):
        # One constant holding every proof: Print Assumptions walks the shared library
        # once per target instead of once per theorem.
        lines += [f"Definition target_{i} := ({', '.join('@' + t for t in names)}).",
                  f'Goal True. idtac "@@ {label}". Abort.',
                  f"Print Assumptions target_{i}."]
    found: dict[str, set[str]] = {}
    current: set[str] | None = None
    for raw in _run_probe(lines, build_dir, "Print Assumptions").splitlines():
        if raw.startswith("@@ "):
            current = found.setdefault(raw[3:].strip(), set())
        elif current is None or not raw.strip() or raw[0].isspace():
            continue
        elif raw.startswith("Closed under the global context") or raw == "Axioms:":
            continue
        else:
            current.add(raw.split(" : ", 1)[0].strip())
    missing = set(targets) - set(found)
    if missing:
        raise RuntimeError(f"no Print Assumptions output for {', '.join(sorted(missing))}")
    return found


#: The key of :func:`assumptions`' result holding the axioms of all constants together.
ALL = "*"


def assumptions(sources: Sequence[SourceFile], build_dir: Path,
                names: dict[str, list[str]] | None = None) -> dict[str, set[str]]:
    """The axioms the files' constants rest on: ``{ALL: axioms of every constant}``.

    ``names`` (default: :func:`constants`) lists the constants per file. One
    ``Print Assumptions`` walks the library once for all of them (each walk costs about a
    second). If the union holds anything outside :data:`ALLOWED_AXIOMS`, each file is
    examined (key ``file``) and, in a file at fault, each constant (key ``file: name``).
    Any line of Coq's output that is not an axiom's name (e.g. ``Section Variables:``)
    counts as an assumption too, so nothing unexpected passes.
    """
    names = constants(sources, build_dir) if names is None else names
    modules = [Path(s.name).stem for s in sources]
    qualified = {s.name: [f"{s.module}.{t}" for t in names[s.name]] for s in sources
                 if names[s.name]}
    found = _print_assumptions({ALL: [q for qs in qualified.values() for q in qs]},
                               modules, build_dir)
    if found[ALL] - ALLOWED_AXIOMS:
        per_file = _print_assumptions(qualified, modules, build_dir)
        found.update(per_file)
        suspects = {f"{name}: {q.rsplit('.', 1)[1]}": [q] for name, qs in qualified.items()
                    if per_file[name] - ALLOWED_AXIOMS for q in qs}
        found.update(_print_assumptions(suspects, modules, build_dir))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Scan, compile and audit; print a summary. Exit 0 clean, 1 on a problem, 2 no coqc."""
    parser = argparse.ArgumentParser(prog="python3 -m proofs.coq_check", description=__doc__
                                     .splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="compile into this directory (default: in place, proofs/coq/)")
    args = parser.parse_args(argv)
    try:
        files = project_files()
        sources = [scan(p) for p in files]
        problems = [p for s in sources for p in s.problems]
        if problems:
            print("coq: source scan failed:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        if STATEMENTS_FILE not in [p.name for p in files]:
            print(f"coq: {STATEMENTS_FILE} (the pinned statements) is not in _CoqProject",
                  file=sys.stderr)
            return 1
        build_dir = args.build_dir or COQ_DIR
        build_dir.mkdir(parents=True, exist_ok=True)
        seconds = compile_all(files, build_dir)
        start = time.perf_counter()
        names = constants(sources, build_dir)
        found = assumptions(sources, build_dir, names)
        audit_seconds = time.perf_counter() - start
    except FileNotFoundError as exc:
        print(f"coq: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as exc:
        print(f"coq: {exc}", file=sys.stderr)
        return 1
    n_theorems = sum(len(s.theorems) for s in sources)
    n_constants = sum(len(v) for v in names.values())
    print(f"coq: compiled {len(files)} files ({n_theorems} theorems) in "
          f"{sum(seconds.values()):.1f} s ("
          + ", ".join(f"{name} {t:.1f} s" for name, t in seconds.items())
          + "); no Admitted, admit, Axiom, Hypothesis or Variable")
    pinned = sum(1 for t in next(s for s in sources if s.name == STATEMENTS_FILE).theorems
                 if t.endswith("_pinned"))
    print(f"coq: {STATEMENTS_FILE} pins {pinned} headline statements against weakening")
    bad = {name: sorted(axioms - ALLOWED_AXIOMS) for name, axioms in found.items()
           if axioms - ALLOWED_AXIOMS and ":" in name}
    used = sorted(found[ALL])
    print(f"coq: Print Assumptions of all {n_constants} constants (every theorem and "
          f"definition) in {audit_seconds:.1f} s; axioms used: "
          + (", ".join(used) if used else "none"))
    if bad:
        for name, axioms in sorted(bad.items()):
            print(f"coq: {name} rests on {', '.join(axioms)}, beyond the real-number "
                  "library's axioms", file=sys.stderr)
        return 1
    print("coq: every theorem rests only on Coq's real-number axioms (ALLOWED_AXIOMS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
