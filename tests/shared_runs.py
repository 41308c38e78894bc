"""Expensive runs that several tests read, done once per test session.

The lemma registry's checks take about half a minute on a quiet machine. The registry's
tests, the blueprint's freshness, the certificates' tests, ``kvbound proofs`` called from
the tests and the ``kvbound proofs`` lines of the docs all read them: here each lemma is run
once per session, by :func:`proofs.catalog.run_lemma` itself, and its outcome is kept.

This is sound because a check is deterministic (``docs/blueprint.md`` is rendered from the
outcomes and compared with the committed file), so an outcome read twice is the outcome
run twice. The memo is keyed by the lemma, compared field by field: a lemma whose checks a
test replaced (a planted failure) is a different key and runs for real.
"""

from __future__ import annotations

import pytest

from proofs import catalog
from proofs.registry import Check, CheckOutcome, Lemma, LemmaOutcome

__all__ = ["run_lemma", "registry_outcomes", "check_outcome", "share_registry_runs"]

#: The function that really runs a lemma's checks, taken before any test patches it.
_RUN_LEMMA = catalog.run_lemma
_OUTCOMES: dict[Lemma, LemmaOutcome] = {}


def run_lemma(lemma: Lemma) -> LemmaOutcome:
    """:func:`proofs.catalog.run_lemma`, run once per session for each distinct lemma."""
    if lemma not in _OUTCOMES:
        _OUTCOMES[lemma] = _RUN_LEMMA(lemma)
    return _OUTCOMES[lemma]


def registry_outcomes() -> tuple[LemmaOutcome, ...]:
    """``proofs.catalog.run_all()`` of the whole registry, each lemma run once per session."""
    return tuple(run_lemma(lemma) for lemma in catalog.registry())


def check_outcome(label: str, check: Check) -> CheckOutcome:
    """The session's outcome of ``check``, one of the checks of the registered lemma ``label``."""
    lemma = next(x for x in catalog.registry() if x.label == label)
    index = lemma.checks.index(check)
    return run_lemma(lemma).outcomes[index]


def share_registry_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every caller of :func:`proofs.catalog.run_lemma` in this test (``run_all``,
    ``kvbound proofs``) read the session's outcomes."""
    monkeypatch.setattr(catalog, "run_lemma", run_lemma)
