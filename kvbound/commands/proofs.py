"""``kvbound proofs``: run every check of the lemma registry and print the lemma table.

Purpose: issue 3's command. Runs every check (proved, certified, exhaustive, sampled,
consistency, bookkeeping) of every lemma of docs/theorem.md registered in
:mod:`proofs.registry`, prints one row per lemma (or JSON), and writes or verifies
``docs/blueprint.md``.

Exit status: 0 when every check passes and the graph is a complete DAG; 1 when a check
fails or errors, the graph is broken, or ``--check-blueprint`` finds the file stale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kvbound.options import describe
from kvbound.outputs import check_output_file, write_text_atomically
from lowerbound.validation import InvalidArgument

__all__ = ["register", "run", "coq_lines", "EXIT_CHECK_FAILED"]

EXAMPLES = (
    'kvbound proofs                                   # every lemma and the status of its checks',
    'kvbound proofs --lemma L3 -v                     # one lemma, every check shown',
)

EXIT_CHECK_FAILED = 1


def register(subparsers: Any) -> None:
    """Add the ``proofs`` sub-command."""
    p = subparsers.add_parser(
        "proofs",
        help="run every check of the lemma registry (L1-L4, theorem, C1, C2, section 5)",
        **describe("Run every check of every lemma of docs/theorem.md (kinds: proved, certified, "
            "exhaustive, sampled, consistency, bookkeeping) and print the lemma table with "
            "statuses. Exits 1 if a check fails.", EXAMPLES),
    )
    p.add_argument("--json", action="store_true", help="print the full results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--lemma", action="append", metavar="LABEL",
                   help="run only this lemma (repeatable), e.g. --lemma L4")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every check's detail, not only failing ones")
    p.add_argument("--write-blueprint", metavar="PATH",
                   help="write the blueprint (docs/blueprint.md) rendered from the registry")
    p.add_argument("--check-blueprint", metavar="PATH",
                   help="exit 1 if PATH differs from the freshly rendered blueprint")
    p.set_defaults(func=run)


def coq_lines(proofs: Any) -> list[str]:
    """One ``proved in Coq (file: theorem, ...)`` line per Coq file (``make coq`` checks them).

    >>> from proofs.registry import CoqProof
    >>> coq_lines((CoqProof("L2_softmax.v", "a"), CoqProof("L2_softmax.v", "b")))
    ['proved in Coq (L2_softmax.v: a, b)']
    """
    by_file: dict[str, list[str]] = {}
    for c in proofs:
        by_file.setdefault(c.file, []).append(c.theorem)
    return [f"proved in Coq ({file}: {', '.join(names)})" for file, names in by_file.items()]


def _to_json(outcomes: Any, problems: list[str], seconds: float) -> dict[str, Any]:
    lemmas = []
    for o in outcomes:
        lem = o.lemma
        lemmas.append({
            "label": lem.label,
            "title": lem.title,
            "section": lem.link,
            "reference": lem.reference,
            "statement": lem.statement,
            "origin": lem.origin,
            "claim": lem.claim,
            "uses": list(lem.uses),
            "code": list(lem.code),
            "tests": list(lem.tests),
            "coq": [{"file": c.file, "theorem": c.theorem} for c in lem.coq],
            "status": o.status,
            "checks": [
                {"name": c.name, "kind": c.kind, "status": c.status, "detail": c.detail,
                 "seconds": round(c.seconds, 4)}
                for c in o.outcomes
            ],
        })
    failed = [x["label"] for x in lemmas if x["status"] != "checked"]
    return {
        "ok": not failed and not problems,
        "summary": {
            "lemmas": len(lemmas),
            "checked": len(lemmas) - len(failed),
            "failed": failed,
            "checks": sum(len(x["checks"]) for x in lemmas),  # type: ignore[arg-type]
            "seconds": round(seconds, 2),
        },
        "graph_problems": problems,
        "lemmas": lemmas,
    }


MAX_BLUEPRINT_BYTES = 16 << 20  # the rendered blueprint is some 100 KB


def _check_blueprint_path(path: Path) -> None:
    """A file to compare with, or nothing there yet (InvalidArgument otherwise)."""
    if not path.exists():
        return
    if not path.is_file():
        raise InvalidArgument(f"--check-blueprint={path} is not a regular file (a directory "
                              "or a device); give the blueprint's markdown file")
    if path.stat().st_size > MAX_BLUEPRINT_BYTES:
        raise InvalidArgument(f"--check-blueprint={path} has {path.stat().st_size} bytes, more "
                              f"than a blueprint ({MAX_BLUEPRINT_BYTES} at most)")


def _read_blueprint(path: Path) -> str:
    """The file's text ("" if absent), read within MAX_BLUEPRINT_BYTES."""
    _check_blueprint_path(path)
    if not path.exists():
        return ""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BLUEPRINT_BYTES + 1)
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"--check-blueprint={path}: cannot read it as UTF-8 text "
                              f"({exc})") from None


def run(args: argparse.Namespace) -> int:
    """Run the checks; print the table or JSON; handle the blueprint options."""
    from kvbound.progress import Progress
    from proofs.blueprint import render
    from proofs.catalog import graph_problems, registry, run_lemma

    if args.check_blueprint:
        _check_blueprint_path(Path(args.check_blueprint))  # before minutes of checks
    if args.write_blueprint:
        check_output_file(Path(args.write_blueprint), "--write-blueprint")
    lemmas = registry()
    problems = graph_problems(lemmas)
    if args.lemma:
        known = {lemma.label for lemma in lemmas}
        unknown = [x for x in args.lemma if x not in known]
        if unknown:
            raise InvalidArgument(f"unknown lemma label(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
        lemmas = tuple(lemma for lemma in lemmas if lemma.label in args.lemma)
    start = time.perf_counter()
    bar = Progress(len(lemmas), "proofs", enabled=not args.quiet)
    outcomes = []
    for lemma in lemmas:
        outcomes.append(run_lemma(lemma))
        bar.step(f"{lemma.label}: {outcomes[-1].status}")
    seconds = time.perf_counter() - start
    report = _to_json(outcomes, problems, seconds)
    ok = bool(report["ok"])

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{'label':<9}{'status':<10}{'checks':<8}{'origin':<7}title")
        for o in outcomes:
            passed = sum(c.status == "passed" for c in o.outcomes)
            print(f"{o.lemma.label:<9}{o.status:<10}{f'{passed}/{len(o.outcomes)}':<8}"
                  f"{o.lemma.origin:<7}{o.lemma.title}")
            for line in coq_lines(o.lemma.coq):
                print(f"    {line}")
            for c in o.outcomes:
                if args.verbose or c.status != "passed":
                    print(f"    [{c.status}] {c.name} ({c.kind}): {c.detail}")
        for problem in problems:
            print(f"graph problem: {problem}")
        s = report["summary"]
        print(f"{s['lemmas']} lemmas: {s['checked']} checked, {len(s['failed'])} failed "
              f"({s['checks']} checks, {s['seconds']} s)")
        n_coq = sum(len(o.lemma.coq) for o in outcomes)
        if n_coq:
            print(f"Coq: {n_coq} theorems named above, none proved under a hypothesis "
                  "(`make coq` refuses Section hypotheses and checks with Print Assumptions "
                  "that each rests only on Coq's real-number axioms)")

    if args.write_blueprint or args.check_blueprint:
        if args.lemma:
            raise InvalidArgument("the blueprint covers every lemma; drop --lemma")
        text = render(outcomes)
        if args.write_blueprint:
            path = Path(args.write_blueprint)
            write_text_atomically(path, text)
            print(f"kvbound proofs: wrote {path} (the blueprint: every lemma, its checks and "
                  "their status)", file=sys.stderr)
        if args.check_blueprint:
            path = Path(args.check_blueprint)
            current = _read_blueprint(path)
            if current != text:
                print(f"{path} is stale; regenerate it with `kvbound proofs "
                      f"--write-blueprint {path}` (or `make docs`)", file=sys.stderr)
                ok = False
    return 0 if ok else EXIT_CHECK_FAILED
