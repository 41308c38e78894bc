"""The lemma registry: the proof of the theorem as a checked data structure.

Purpose: one entry per lemma of docs/theorem.md (L1-L4, the explicit theorem, C1, C2,
TIGHT, FEASIBLE and the sparsity variants), each with a stable label, its section of
docs/theorem.md, the paper's reference, a one-sentence statement, the labels it uses, the
code that implements it, the tests that exercise it and its checks. Every check carries
an honest *kind* (:data:`KIND_LEGEND`); a ``certified`` or ``exhaustive`` check also
carries ``perturbed``, the same certificate run on a wrong value, which must fail.
``kvbound proofs`` runs every check; ``docs/blueprint.md`` is rendered from here
(:mod:`proofs.blueprint`).

Main statement: the graph of ``uses`` is acyclic and complete (every used label is
registered), and the explicit theorem depends, through it, on L1-L4.

References: docs/theorem.md; arXiv 2503.14881; arXiv 2502.15955; the PFR blueprint
(teorth/pfr) for the label/uses/status layout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from lowerbound.validation import InvalidArgument

__all__ = [
    "CheckKind",
    "KIND_LEGEND",
    "FALSIFIABLE_KINDS",
    "THEOREM_DOC",
    "CheckResult",
    "Check",
    "CoqProof",
    "Lemma",
    "CheckOutcome",
    "LemmaOutcome",
    ]

CheckKind = Literal["proved", "certified", "exhaustive", "sampled", "consistency",
                    "bookkeeping"]

#: What each kind of check establishes, strongest first (rendered as the blueprint legend).
KIND_LEGEND: dict[str, str] = {
    "proved": "symbolic derivation (sympy) valid for all parameters",
    "certified": "interval or exact arithmetic on given parameters, every decision rigorous; "
                 "fails when the value it certifies is perturbed",
    "exhaustive": "complete enumeration of a finite family that would fail on a wrong bound",
    "sampled": "random instances (seeded) or a grid of a continuum: evidence, not proof",
    "consistency": "two independent computations (e.g. a float and an enclosure) agree",
    "bookkeeping": "a definition, a table lookup or a formula compared with itself",
}
_KINDS = tuple(KIND_LEGEND)
#: Kinds whose check must be able to fail: they carry a ``perturbed`` run that fails.
FALSIFIABLE_KINDS = ("certified", "exhaustive")
_LEGACY_KINDS = {
    "symbolic": "'proved' (or 'bookkeeping' if it compares a formula with itself)",
    "example": "'sampled', 'consistency' or 'bookkeeping'",
}

#: The document every lemma's ``section`` points into (an anchor of it).
THEOREM_DOC = "docs/theorem.md"
_ANCHOR = re.compile(r"^[a-z0-9][a-z0-9-]*$")



@dataclass(frozen=True)
class CheckResult:
    """What one check returns: passed or not, and a deterministic one-line detail.

    >>> CheckResult.of(1 < 2, "one is below two").status
    'passed'
    """

    status: Literal["passed", "failed"]
    detail: str

    @classmethod
    def of(cls, ok: bool, detail: str) -> CheckResult:
        """``passed`` if ``ok`` else ``failed``, with ``detail``."""
        return cls("passed" if ok else "failed", detail)


@dataclass(frozen=True)
class Check:
    """A named, typed check: ``run()`` returns a :class:`CheckResult`.

    ``perturbed``, for ``certified`` and ``exhaustive`` checks, runs the same certificate
    on a wrong value (a constant one ulp off, a bound 1.6 times too strong, ...); it must
    return ``failed`` (tests/proofs/test_certificates_can_fail.py).

    >>> Check("x", "symbolic", lambda: CheckResult.of(True, ""))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: check 'x' has kind='symbolic', which is retired; ...
    """

    name: str
    kind: CheckKind
    run: Callable[[], CheckResult]
    perturbed: Callable[[], CheckResult] | None = None

    def __post_init__(self) -> None:
        if self.kind in _LEGACY_KINDS:
            raise InvalidArgument(f"check {self.name!r} has kind={self.kind!r}, which is retired; "
                             f"use {_LEGACY_KINDS[self.kind]}")
        if self.kind not in _KINDS:
            raise InvalidArgument(
                f"check {self.name!r} has kind={self.kind!r}; use one of {_KINDS}")

    @property
    def summary(self) -> str:
        """First line of the check's docstring (its lemma restated with symbols)."""
        doc = (self.run.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.name


@dataclass(frozen=True)
class CoqProof:
    """A theorem compiled by ``make coq``: its file in ``proofs/coq/`` and its name there.

    Its statement is its whole Coq type: the Coq sources declare no Section hypothesis
    (:mod:`proofs.coq_scan` refuses one) and ``make coq`` checks with
    ``Print Assumptions`` that it rests only on Coq's real-number axioms.
    tests/proofs/test_coq.py checks that the theorem exists.

    >>> str(CoqProof("L2_softmax.v", "l2_concentration"))
    'L2_softmax.v: l2_concentration'
    """

    file: str
    theorem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.theorem}"


@dataclass(frozen=True)
class Lemma:
    """One node of the proof graph.

    ``origin`` is ``"paper"`` for the steps of the papers' proof (made explicit in
    docs/theorem.md) and ``"ours"`` for the claims the papers do not make (TIGHT,
    FEASIBLE, the refinements and the sparsity variants). ``section`` is the anchor of
    the lemma's statement and proof in docs/theorem.md (default: the label in lower case).
    ``coq`` lists the theorems of ``proofs/coq/`` that prove the statement (or a step of
    it) for all parameters.
    """

    label: str
    title: str
    reference: str
    statement: str
    uses: tuple[str, ...]
    code: tuple[str, ...]
    tests: tuple[str, ...]
    checks: tuple[Check, ...]
    origin: Literal["paper", "ours"] = "paper"
    coq: tuple[CoqProof, ...] = ()
    section: str = ""

    def __post_init__(self) -> None:
        if not self.section:
            object.__setattr__(self, "section", self.label.lower())
        if not _ANCHOR.match(self.section):
            raise InvalidArgument(f"lemma {self.label} has section={self.section!r}; use an anchor "
                             f"of {THEOREM_DOC} such as 'l1' or 'var-head'")

    @property
    def link(self) -> str:
        """Where the statement and proof are: ``docs/theorem.md#<section>``."""
        return f"{THEOREM_DOC}#{self.section}"

    @property
    def claim(self) -> str:
        """``derived`` (the papers' steps) or ``stated`` (ours: proved in docs/theorem.md)."""
        return "derived" if self.origin == "paper" else "stated"


@dataclass(frozen=True)
class CheckOutcome:
    """The result of running one check (``error`` when it raised)."""

    lemma: str
    name: str
    kind: str
    status: Literal["passed", "failed", "error"]
    detail: str
    seconds: float = field(compare=False)


@dataclass(frozen=True)
class LemmaOutcome:
    """Every check of one lemma, run."""

    lemma: Lemma
    outcomes: tuple[CheckOutcome, ...]

    @property
    def status(self) -> Literal["checked", "failed", "unchecked"]:
        """``checked`` if every check passed, ``failed`` if one did not, else ``unchecked``."""
        if not self.outcomes:
            return "unchecked"
        if all(o.status == "passed" for o in self.outcomes):
            return "checked"
        return "failed"
