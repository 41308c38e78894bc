"""The machine-checked core: compile proofs/coq/ and audit what its theorems assume.

Purpose: ``make coq`` (``python3 -m proofs.coq_check``). Compiles every Coq file listed in
``proofs/coq/_CoqProject``, in order, with ``coqc``, after :mod:`proofs.coq_scan` has
refused sources that skip a proof or declare an axiom; then runs ``Print Assumptions`` on
every theorem and accepts only :data:`ALLOWED_AXIOMS`.

Main statement: the exit status is 0 iff every file compiles, the source scan is clean and
every theorem's assumptions lie in :data:`ALLOWED_AXIOMS`. A Section's hypotheses (L1's
Hoeffding step) are discharged at ``End``: they become premises of the theorem's statement,
so ``Print Assumptions`` outside the Section does not list them, and an axiom cannot hide
there. Standard library only, so it runs without the project's virtualenv.

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
    "compile_all",
    "assumptions",
    "argument_names",
    "main",
]

APT_PACKAGES = ("coq", "libcoq-coquelicot", "libcoq-interval")

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


def _print_assumptions(targets: dict[str, list[str]], modules: Sequence[str],
                       build_dir: Path) -> dict[str, set[str]]:
    """Run ``Print Assumptions`` on a tuple of each target's theorems, in one coqc call."""
    coqc = _coqc()
    lines = [f"From {LOGICAL_ROOT} Require {' '.join(modules)}."]
    for i, (label, theorems) in enumerate(targets.items()):
        # One constant holding every proof: Print Assumptions walks the shared library
        # once per target instead of once per theorem.
        lines += [f"Definition target_{i} := ({', '.join('@' + t for t in theorems)}).",
                  f'Goal True. idtac "@@ {label}". Abort.',
                  f"Print Assumptions target_{i}."]
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "Assumptions.v"
        probe.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = subprocess.run([coqc, "-q", "-R", str(build_dir), LOGICAL_ROOT, str(probe)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Print Assumptions failed:\n{proc.stdout}{proc.stderr}")
    found: dict[str, set[str]] = {}
    current: set[str] | None = None
    for raw in proc.stdout.splitlines():
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


def assumptions(sources: Sequence[SourceFile], build_dir: Path) -> dict[str, set[str]]:
    """The axioms each file's theorems rest on: file name -> axiom names.

    For a file whose theorems rest on anything outside :data:`ALLOWED_AXIOMS`, each of its
    theorems is examined on its own and reported as ``file: theorem``. Any line of Coq's
    output that is not an axiom's name (e.g. ``Section Variables:``) counts as an
    assumption too, so nothing unexpected passes.
    """
    modules = [Path(s.name).stem for s in sources]
    per_file = _print_assumptions(
        {s.name: [f"{s.module}.{t}" for t in s.theorems] for s in sources if s.theorems},
        modules, build_dir)
    suspects = {f"{s.name}: {t}": [f"{s.module}.{t}"] for s in sources
                if per_file.get(s.name, set()) - ALLOWED_AXIOMS for t in s.theorems}
    if suspects:
        per_file.update(_print_assumptions(suspects, modules, build_dir))
    return per_file


def argument_names(qualified: Sequence[str], build_dir: Path) -> dict[str, set[str]]:
    """The named arguments of each theorem (``About``'s ``Arguments`` line).

    A Section hypothesis a theorem uses becomes a named argument at ``End``; one it does
    not use is not discharged. So intersecting these names with the file's hypotheses
    gives exactly the hypotheses the theorem is proved under.
    """
    coqc = _coqc()
    modules = sorted({q.split(".")[1] for q in qualified})
    lines = [f"From {LOGICAL_ROOT} Require {' '.join(modules)}."]
    for q in qualified:
        lines += [f'Goal True. idtac "@@ {q}". Abort.', f"About {q}."]
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "Arguments.v"
        probe.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = subprocess.run([coqc, "-q", "-R", str(build_dir), LOGICAL_ROOT, str(probe)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"About failed:\n{proc.stdout}{proc.stderr}")
    found: dict[str, set[str]] = {}
    current, in_arguments = "", False
    for raw in proc.stdout.splitlines():
        if raw.startswith("@@ "):
            current, in_arguments = raw[3:].strip(), False
            found[current] = set()
        elif raw.startswith("Arguments "):
            in_arguments = True
            found[current] |= set(re.findall(r"[A-Za-z][\w']*", raw.split(None, 2)[2]
                                             if len(raw.split(None, 2)) > 2 else ""))
        elif in_arguments and raw[:1].isspace():
            found[current] |= set(re.findall(r"[A-Za-z][\w']*", raw))
        else:
            in_arguments = False
    for names in found.values():
        names -= {n for n in names if n.endswith("_scope")}
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
        build_dir = args.build_dir or COQ_DIR
        build_dir.mkdir(parents=True, exist_ok=True)
        seconds = compile_all(files, build_dir)
        start = time.perf_counter()
        found = assumptions(sources, build_dir)
        audit_seconds = time.perf_counter() - start
    except FileNotFoundError as exc:
        print(f"coq: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as exc:
        print(f"coq: {exc}", file=sys.stderr)
        return 1
    n_theorems = sum(len(s.theorems) for s in sources)
    print(f"coq: compiled {len(files)} files ({n_theorems} theorems) in "
          f"{sum(seconds.values()):.1f} s ("
          + ", ".join(f"{name} {t:.1f} s" for name, t in seconds.items())
          + "); no Admitted, admit or Axiom")
    for s in sources:
        if s.hypotheses:
            print(f"coq: {s.name}: section hypotheses {', '.join(s.hypotheses)}")
    bad = {name: sorted(axioms - ALLOWED_AXIOMS) for name, axioms in found.items()
           if axioms - ALLOWED_AXIOMS}
    used = sorted(set().union(*found.values())) if found else []
    print(f"coq: Print Assumptions of every theorem in {audit_seconds:.1f} s; axioms used: "
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
