"""The Coq proofs the registry names exist and are clean; ``make coq`` audits them.

The name and source checks run here. Compiling needs ``coqc`` (Debian packages coq,
libcoq-coquelicot, libcoq-interval) and about a minute: it is ``make coq``'s job, which CI
runs after ``make test`` (.ci/run), so it is not repeated here. ``make coq`` compiles every
file, audits every constant's axioms, and builds the two mutants of
:mod:`proofs.coq_mutations` (an axiom the scan cannot see, a weakened pinned statement),
which must be refused; those compile runs were tests of this module before. What needs no
Coq stays here: the mutants still apply to the current sources, and ``make coq`` fails when
a mutant is not refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proofs import coq_check, coq_mutations, coq_scan
from proofs.catalog import registry
from proofs.registry import CoqProof

ROOT = Path(__file__).resolve().parents[2]

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


def test_the_mutants_still_apply_to_the_sources(tmp_path: Path) -> None:
    """The weakening hits leak_certificate_sound's premises once; the hidden-axiom file
    passes the source scan (so only the audit can catch it)."""
    leak = coq_scan.COQ_DIR / "LEAK_kraft.v"
    text = leak.read_text(encoding="utf-8")
    weakened = coq_mutations.weakened_leak_source(text)
    assert weakened != text and "(extra : (1 <= S)%nat)" in weakened
    with pytest.raises(ValueError, match="update proofs/coq_mutations.py"):
        coq_mutations.weakened_leak_source(weakened.replace("(1 <= K)%nat", "(2 <= K)%nat"))
    sneaky = tmp_path / "Sneaky.v"
    sneaky.write_text(coq_mutations.SNEAKY_SOURCE, encoding="utf-8")
    src = coq_scan.scan(sneaky)
    assert src.problems == () and src.theorems == ("honest", "sneaky_choice")


@pytest.mark.parametrize("problems", [[], ["weakened_statement_fails: planted"]])
def test_make_coq_fails_when_a_mutant_is_not_refused(
    problems: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """make coq runs the mutants after the audit; a mutant let through is exit 1 (the
    mutants replaced by a stand-in here: this checks the wiring, ``make coq`` the proofs)."""
    recipe = re.search(r"^coq:\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert recipe.group(1).split() == ["$(PYTHON)", "-m", "proofs.coq_check",
                                       "$(PYTHON)", "-m", "proofs.coq_mutations"]
    seen: list[Path] = []
    monkeypatch.setattr(coq_mutations, "run_mutations",
                        lambda build: seen.append(build) or problems)
    assert coq_mutations.main(["--build-dir", str(tmp_path)]) == (1 if problems else 0)
    assert seen == [tmp_path]
    out, err = capsys.readouterr()
    if problems:
        assert "a mutant was not refused" in err and "planted" in err
    else:
        assert "both mutants refused" in out
