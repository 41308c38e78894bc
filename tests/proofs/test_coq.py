"""The Coq proofs the registry names exist, are clean, and rest only on the allowed axioms.

The name and source checks always run; compiling needs ``coqc`` (Debian packages coq,
libcoq-coquelicot, libcoq-interval) and is skipped without it (``make coq`` does the same
compile and audit on its own). The mutation tests compile a weakened or admitted copy of
the sources and expect the build or the audit to refuse it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proofs import coq_check, coq_scan
from proofs.catalog import registry
from proofs.registry import CoqProof

HAVE_COQC = shutil.which("coqc") is not None
needs_coqc = pytest.mark.skipif(not HAVE_COQC, reason="coqc not installed")

#: The statements each lemma must name: L1 with Hoeffding proved, L2, L3 under both error
#: models, L4 with Fano for one bit and the counting form, THM as "exists family, for all
#: C >= C_min" with no hypothesis, the cap under CAP, the decoder under PREC, the leak
#: certificate under FEASIBLE (issues 12 and 20).
MUST_PROVE = {
    "L1": {"l1_algebra", "hoeffding_pair", "l1_union_bound", "l1_good_family_at_d_min",
           "cert_d_min_1216"},
    "L2": {"l2_concentration", "l2_hard_instance"},
    "L3": {"l3_tau_separates", "l3_decodes_relative", "l3_additive_iff",
           "l3_decodes_additive", "thm_above_c_min"},
    "L4": {"l4_fano_one_bit", "l4_average_bits", "index_counting", "index_bound"},
    "THM": {"thm_main", "thm_main_pinned"},
    "CAP": {"thm_cap_iff", "thm_c_min_le_cap", "cert_var_cap_256", "cert_var_cap_512"},
    "PREC": {"prec_top_pair_binding", "prec_threshold_decoder"},
    "FEASIBLE": {"kraft", "leak_certificate_sound"},
}

#: Where a Coq file's theorems belong: no lemma names a theorem of another's file.
FILE_OWNERS = {
    "PREC_levels.v": {"PREC"},
    "LEAK_kraft.v": {"FEASIBLE"},
    "INDEX_counting.v": {"L4"},
    "Rademacher.v": {"L1"},
}


def _named() -> list[tuple[str, CoqProof]]:
    return [(lemma.label, c) for lemma in registry() for c in lemma.coq]


def _sources() -> dict[str, coq_scan.SourceFile]:
    return {p.name: coq_scan.scan(p) for p in coq_scan.project_files()}


def test_every_named_theorem_exists_in_its_source() -> None:
    sources = _sources()
    assert _named(), "the registry names no Coq theorem"
    for label, proof in _named():
        assert proof.file in sources, f"{label}: {proof.file} is not in _CoqProject"
        src = sources[proof.file]
        assert proof.theorem in src.theorems, f"{label}: no theorem {proof}"
        assert "[under" not in f"{proof}", f"{label}: {proof} is conditional"


def test_issue_statements_are_registered() -> None:
    named: dict[str, set[str]] = {}
    for label, proof in _named():
        named.setdefault(label, set()).add(proof.theorem)
    for label, wanted in MUST_PROVE.items():
        assert wanted <= named.get(label, set()), f"{label} lacks {wanted - named[label]}"


def test_theorems_sit_under_their_own_lemma() -> None:
    for label, proof in _named():
        if proof.file in FILE_OWNERS:
            assert label in FILE_OWNERS[proof.file], f"{proof} is registered under {label}"
    cap = {p.theorem for label, p in _named() if label == "CAP"}
    assert not {p.theorem for label, p in _named() if label in ("C2", "THM")} & (
        cap | {"thm_cap_iff", "thm_c_min_le_cap"})


def test_every_pinned_statement_is_registered() -> None:
    pinned = {t for t in _sources()[coq_check.STATEMENTS_FILE].theorems if t.endswith("_pinned")}
    named = {p.theorem for _, p in _named() if p.file == coq_check.STATEMENTS_FILE}
    assert pinned and pinned == named


def test_cli_lists_thm_as_proved_in_coq_without_hypotheses() -> None:
    from kvbound.commands.proofs import coq_lines
    thm = next(lemma for lemma in registry() if lemma.label == "THM")
    lines = coq_lines(thm.coq)
    assert lines[0] == ("proved in Coq (THM_assembly.v: thm_main, thm_reduction_decodes, "
                        "decodes_on_family)")
    assert not any("under" in line for line in lines)


def test_every_coq_file_serves_a_lemma() -> None:
    used = {proof.file for _, proof in _named()}
    helpers = {"Sums.v"}  # finite sums shared by every file
    assert {p.name for p in coq_scan.project_files()} - helpers == used


def test_sources_are_clean() -> None:
    problems = [p for src in _sources().values() for p in src.problems]
    assert problems == []


_HEADER = "(** Test file. *)\nFrom Coq Require Import Reals.\n"


@pytest.mark.parametrize(("body", "expected"), [
    ("Lemma a : True. Proof. Admitted.\n", "Admitted"),
    ("Lemma a : True. Proof. admit. Qed.\n", "admit"),
    ("Axiom bad : False.\n", "Axiom"),
    ("Parameter x : nat.\n", "Parameter"),
    ("Local Axiom bad : False.\n", "Axiom"),
    ("Unset Guard Checking.\n", "Unset Guard Checking"),
    ("Hypothesis h : False.\n", "outside a Section"),
    ("Variable v : nat.\n", "outside a Section"),
    ("Section S. Hypothesis h : False. End S.\n", "in a Section"),
    ("Section S. Variable n : nat. End S.\n", "in a Section"),
    ("Section S. Context (n : nat). End S.\n", "in a Section"),
    ("Section S. Lemma t : True. Proof. exact I. Qed.\n", "never closed"),
])
def test_scan_refuses(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "Bad.v"
    path.write_text(_HEADER + body, encoding="utf-8")
    problems = coq_scan.scan(path).problems
    assert any(expected in p for p in problems), problems


def test_scan_accepts_comments_and_plain_sections(tmp_path: Path) -> None:
    path = tmp_path / "Good.v"
    path.write_text(_HEADER + "(* Admitted in a comment, (* nested Axiom *) *)\n"
                    "Section S. Lemma t (n : nat) : n = n. Proof. reflexivity. Qed. End S.\n"
                    "Example e : True. Proof. exact I. Qed.\n", encoding="utf-8")
    src = coq_scan.scan(path)
    assert src.problems == ()
    assert src.theorems == ("t", "e")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("coq")
    coq_check.compile_all(coq_scan.project_files(), build)
    return build


@needs_coqc
@pytest.mark.slow
def test_every_compiled_constant_rests_only_on_real_number_axioms(compiled: Path) -> None:
    sources = list(_sources().values())
    names = coq_check.constants(sources, compiled)
    for s in sources:  # Coq lists at least what the scan found, and the definitions too
        assert set(s.theorems) <= set(names[s.name])
    assert "rsum" in names["Sums.v"] and "Pr" in names["Rademacher.v"]
    found = coq_check.assumptions(sources, compiled, names)
    assert set(found) == {coq_check.ALL}  # nothing outside the allowed set: no breakdown
    assert found[coq_check.ALL] <= coq_check.ALLOWED_AXIOMS


@needs_coqc
@pytest.mark.slow
def test_audit_catches_an_axiom_the_scan_cannot_see(tmp_path: Path) -> None:
    """Mutation: a lemma proved with a library axiom (choice) passes the grep, not the audit."""
    sums = coq_scan.project_files()[0]
    shutil.copyfile(sums, tmp_path / sums.name)
    sneaky = tmp_path / "Sneaky.v"
    sneaky.write_text(
        "(** A file that passes the source scan. *)\n"
        "From Coq Require Import Reals ClassicalEpsilon.\n"
        "From KVBound Require Import Sums.\n"
        "Lemma honest (f : nat -> R) : rsum f 0 = 0.\n"
        "Proof. reflexivity. Qed.\n"
        "Lemma sneaky_choice (A : Type) (P : A -> Prop) : (exists x, P x) -> {x | P x}.\n"
        "Proof. apply constructive_indefinite_description. Qed.\n"
        "Definition sneaky_def := @constructive_indefinite_description nat.\n",
        encoding="utf-8")
    sources = [coq_scan.scan(tmp_path / sums.name), coq_scan.scan(sneaky)]
    assert all(not s.problems for s in sources)
    coq_check.compile_all([tmp_path / sums.name, sneaky], tmp_path)
    found = coq_check.assumptions(sources, tmp_path)
    assert "ClassicalEpsilon.constructive_indefinite_description" in found["Sneaky.v"]
    assert found["Sneaky.v: sneaky_choice"] - coq_check.ALLOWED_AXIOMS
    # a definition is audited too, though the scan lists only theorems
    assert "sneaky_def" not in sources[1].theorems
    assert found["Sneaky.v: sneaky_def"] - coq_check.ALLOWED_AXIOMS
    assert not found["Sneaky.v: honest"] - coq_check.ALLOWED_AXIOMS


@needs_coqc
@pytest.mark.slow
def test_a_weakened_statement_fails_the_build(compiled: Path, tmp_path: Path) -> None:
    """Mutation: an extra premise on a pinned theorem compiles in its own file, and
    STATEMENTS.v then refuses it, so make coq fails."""
    for f in compiled.iterdir():
        if f.suffix in (".v", ".vo"):
            shutil.copyfile(f, tmp_path / f.name)
    leak = tmp_path / "LEAK_kraft.v"
    text = leak.read_text(encoding="utf-8")
    weakened = text.replace("(alpha : R) :\n  (1 <= K)%nat",
                            "(alpha : R) (extra : (1 <= S)%nat) :\n  (1 <= K)%nat")
    assert weakened != text
    leak.write_text(weakened, encoding="utf-8")
    coq_check.compile_all([leak], tmp_path)  # the weakened theorem itself still compiles
    with pytest.raises(RuntimeError, match="STATEMENTS.v"):
        coq_check.compile_all([tmp_path / coq_check.STATEMENTS_FILE], tmp_path)
