"""The lemma registry is complete, acyclic, points at real code and tests, and can fail."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
from pathlib import Path

import pytest

from kvbound.cli import main
from proofs import catalog as reg
from proofs import registry as records
from proofs.blueprint import render
from proofs.catalog import graph_problems, registry
from proofs.registry import Check, CheckResult, Lemma
from tests.shared_runs import registry_outcomes, share_registry_runs

ROOT = Path(__file__).resolve().parents[2]

#: Every lemma of docs/theorem.md must have an entry.
THEOREM_LABELS = {"L1", "L2", "L3", "L4", "THM", "C1", "C2", "EVICT-H", "ALLOC",
                  "TIGHT", "FEASIBLE", "S1", "S2", "S3", "S4",
                  "WITNESS", "UNUSED", "CAP", "PREC", "CERT"}


@pytest.fixture(scope="module")
def outcomes() -> tuple[records.LemmaOutcome, ...]:
    """Every check of the registry, run once per test session (tests/shared_runs.py)."""
    return registry_outcomes()


def test_registry_covers_theorem_md() -> None:
    assert {lemma.label for lemma in registry()} == THEOREM_LABELS


def test_graph_is_acyclic_and_complete() -> None:
    lemmas = registry()
    assert graph_problems(lemmas) == []
    order = reg.topological_order(lemmas)
    assert set(order) == THEOREM_LABELS
    assert {"L1", "L2", "L3", "L4"} <= set(registry_uses_closure("THM"))


def registry_uses_closure(label: str) -> list[str]:
    by = {lemma.label: lemma for lemma in registry()}
    seen: list[str] = []
    stack = list(by[label].uses)
    while stack:
        x = stack.pop()
        if x not in seen:
            seen.append(x)
            stack.extend(by[x].uses)
    return seen


def test_graph_problems_detects_cycles_and_unknown_labels() -> None:
    a = Lemma("A", "a", "r", "s", ("B",), (), (), ())
    b = Lemma("B", "b", "r", "s", ("A",), (), (), ())
    c = Lemma("C", "c", "r", "s", ("Z",), (), (), ())
    problems = graph_problems([a, b, c])
    assert any("cycle" in p for p in problems)
    assert any("Z" in p for p in problems)


def test_every_lemma_has_statement_reference_checks_and_tests() -> None:
    for lemma in registry():
        assert lemma.statement and lemma.reference and lemma.title, lemma.label
        assert lemma.checks and lemma.tests and lemma.code, lemma.label
        for check in lemma.checks:
            assert check.run.__doc__, f"{lemma.label}: {check.name} needs a docstring"
            assert check.run.__doc__.lstrip().startswith(lemma.label), (
                f"{check.name}: the docstring restates its lemma, labelled {lemma.label}")


def test_paper_lemmas_have_proved_and_certified_checks() -> None:
    """Issue 3: paper lemmas are derived (sympy) and their constants certified (intervals)."""
    for lemma in registry():
        kinds = {c.kind for c in lemma.checks}
        if lemma.origin == "paper":
            assert "proved" in kinds, lemma.label
            assert kinds & {"certified", "exhaustive"}, lemma.label
    l4 = next(lemma for lemma in registry() if lemma.label == "L4")
    assert "exhaustive" in {c.kind for c in l4.checks}


def test_paper_references_never_invent_lemma_numbers() -> None:
    for lemma in registry():
        if "2503.14881" in lemma.reference or "2502.15955" in lemma.reference:
            assert "number unknown" in lemma.reference, lemma.label


def test_check_kinds_are_validated() -> None:
    """Only the honest kinds are accepted; the retired ones name their replacement."""
    def ok() -> CheckResult:
        return CheckResult.of(True, "")

    for kind in records.KIND_LEGEND:
        assert Check("c", kind, ok).kind == kind  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retired; use 'proved'"):
        Check("c", "symbolic", ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'sampled', 'consistency' or 'bookkeeping'"):
        Check("c", "example", ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="use one of"):
        Check("c", "certain", ok)  # type: ignore[arg-type]


def test_lemma_section_defaults_to_label_and_is_an_anchor() -> None:
    lemma = Lemma("VAR-HEAD", "t", "r", "s", (), (), (), ())
    assert lemma.section == "var-head" and lemma.link == "docs/theorem.md#var-head"
    with pytest.raises(ValueError, match="section"):
        Lemma("X", "t", "r", "s", (), (), (), (), section="Not An Anchor")


def _resolve(path: str) -> object:
    """The object a dotted path names: the longest importable module prefix, then
    attributes (so ``reduction.public.PublicParams.thresholds`` names a property)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(path)


def test_code_paths_import() -> None:
    """Every dotted path named by the registry resolves to a module, class or attribute."""
    for lemma in registry():
        for path in lemma.code:
            try:
                _resolve(path)
            except (ImportError, AttributeError) as exc:
                pytest.fail(f"{lemma.label}: {path} does not exist ({exc})")


def test_resolve_refuses_a_missing_member() -> None:
    assert _resolve("reduction.public.PublicParams.thresholds") is not None
    with pytest.raises(AttributeError):
        _resolve("reduction.public.PublicParams.no_such_property")
    with pytest.raises(AttributeError):
        _resolve("lowerbound.fano.no_such_function")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(f"{node.name}::{sub.name}")
    return names


def test_named_tests_exist() -> None:
    """Every pytest node id named by the registry is a test function in that file."""
    for lemma in registry():
        for node_id in lemma.tests:
            file_part, _, name = node_id.partition("::")
            path = ROOT / file_part
            assert path.exists(), f"{lemma.label}: {file_part} does not exist"
            assert name.split("::")[-1].startswith("test_"), node_id
            assert name in _test_names(path), f"{lemma.label}: {node_id} does not exist"


def test_every_check_passes(outcomes: tuple[records.LemmaOutcome, ...]) -> None:
    failing = [(o.lemma.label, c.name, c.detail) for o in outcomes for c in o.outcomes
               if c.status != "passed"]
    assert failing == []


def test_blueprint_is_fresh(outcomes: tuple[records.LemmaOutcome, ...]) -> None:
    """docs/blueprint.md equals the blueprint rendered now (regenerate with `make docs`)."""
    committed = (ROOT / "docs" / "blueprint.md").read_text(encoding="utf-8")
    assert committed == render(outcomes), (
        "docs/blueprint.md is stale: run `kvbound proofs --write-blueprint docs/blueprint.md`")


def _with_replaced_check(monkeypatch: pytest.MonkeyPatch, label: str, run: object) -> None:
    module = next(m for m in reg.LEMMA_MODULES if any(x.label == label for x in m.LEMMAS))
    lemmas = []
    for lemma in module.LEMMAS:
        if lemma.label == label:
            broken = Check("planted", "sampled", run)  # type: ignore[arg-type]
            lemma = dataclasses.replace(lemma, checks=(*lemma.checks[:0], broken))
        lemmas.append(lemma)
    monkeypatch.setattr(module, "LEMMAS", tuple(lemmas))


def test_failing_check_makes_cli_exit_nonzero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def planted() -> CheckResult:
        """S3: planted failure."""
        return CheckResult.of(False, "planted failure")

    _with_replaced_check(monkeypatch, "S3", planted)
    assert main(["proofs", "--lemma", "S3"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "planted failure" in out


def test_crashing_check_is_an_error_and_exits_nonzero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def planted() -> CheckResult:
        """S2: planted crash."""
        raise ZeroDivisionError("planted crash")

    _with_replaced_check(monkeypatch, "S2", planted)
    assert main(["proofs", "--lemma", "S2", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["lemmas"][0]["checks"][0]["status"] == "error"


def test_removed_check_makes_blueprint_stale(
    monkeypatch: pytest.MonkeyPatch, outcomes: tuple[records.LemmaOutcome, ...]
) -> None:
    """Removing a check changes the rendered blueprint, so test_blueprint_is_fresh fails."""
    trimmed = [dataclasses.replace(o, outcomes=o.outcomes[:-1]) if o.lemma.label == "L1"
               else o for o in outcomes]
    assert render(trimmed) != render(outcomes)


def test_check_blueprint_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """--write-blueprint writes a file that --check-blueprint accepts; an edit is caught
    (the checks behind it are the session's run, tests/shared_runs.py)."""
    share_registry_runs(monkeypatch)
    path = tmp_path / "docs" / "blueprint.md"
    assert main(["proofs", "--write-blueprint", str(path), "--check-blueprint", str(path)]) == 0
    path.write_text(path.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert main(["proofs", "--check-blueprint", str(path)]) == 1
    assert "stale" in capsys.readouterr().err


def test_unknown_lemma_label_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["proofs", "--lemma", "L9"]) == 2
    assert "L9" in capsys.readouterr().err
