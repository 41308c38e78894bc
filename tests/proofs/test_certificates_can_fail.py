"""A certificate can fail: every certified or exhaustive check fails on a perturbed value.

A check labelled ``certified`` or ``exhaustive`` in the registry claims that its decisions
are rigorous and would catch a wrong value. Each carries ``perturbed``: the same
certificate run on a wrong constant (one ulp above C_min, d_min - 1, L' + 1, a cap below
C_min, a bound 1.6 times too strong, ...). Here every one of them must pass as registered
and fail when perturbed; the targeted tests below perturb the certificates directly.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from lowerbound.jl import d_min, d_min_exact, max_keys
from lowerbound.softmax import c_min
from proofs.catalog import registry
from proofs.certificates import certify_c_min, certify_d_min, certify_max_keys
from proofs.exhaustive import cached_exhaustive_table
from proofs.registry import FALSIFIABLE_KINDS, Check

FALSIFIABLE = [(lemma.label, check) for lemma in registry() for check in lemma.checks
               if check.kind in FALSIFIABLE_KINDS]


def test_there_are_falsifiable_checks_for_every_paper_lemma() -> None:
    labels = {label for label, _ in FALSIFIABLE}
    paper = {lemma.label for lemma in registry() if lemma.origin == "paper"}
    assert paper <= labels, paper - labels


@pytest.mark.parametrize("label,check", FALSIFIABLE,
                         ids=[f"{label}:{c.name}" for label, c in FALSIFIABLE])
def test_certificate_passes_and_fails_when_perturbed(label: str, check: Check) -> None:
    assert check.perturbed is not None, (
        f"{label}: the {check.kind} check {check.name!r} needs a perturbed run that fails")
    assert check.run().status == "passed"
    perturbed = check.perturbed()
    assert perturbed.status == "failed", f"{label}: {check.name} survived a wrong value"
    doc = (check.perturbed.__doc__ or "").lstrip()
    assert doc.startswith(label) and "must fail" in doc


@pytest.mark.parametrize("cached_tokens,eps", [(424, Fraction(3, 4)), (1216, Fraction(3, 4)),
                                               (2240, Fraction(1, 2))])
def test_d_min_certificate_rejects_neighbours(cached_tokens: int, eps: Fraction) -> None:
    """L1: the d_min certificate holds for d_min and fails for d_min - 1 and d_min + 1."""
    dm, dx = d_min(cached_tokens, eps), d_min_exact(cached_tokens, eps)
    assert certify_d_min(cached_tokens, eps).holds
    for wrong in (dm - 1, dm + 1):
        assert not certify_d_min(cached_tokens, eps, claimed=wrong).holds
    for wrong in (dx - 1, dx + 1):
        assert not certify_d_min(cached_tokens, eps, claimed_exact=wrong).holds


@pytest.mark.parametrize("eta", [Fraction(0), Fraction(1, 4), Fraction(9, 10)])
def test_c_min_certificate_rejects_one_ulp(eta: Fraction) -> None:
    """L3: the C_min certificate fails one ulp above and one ulp below C_min."""
    c = c_min(424, 256, Fraction(3, 4), eta)
    assert certify_c_min(424, 256, Fraction(3, 4), eta, claimed_c=c).holds
    for wrong in (math.nextafter(c, math.inf), math.nextafter(c, 0.0)):
        assert not certify_c_min(424, 256, Fraction(3, 4), eta, claimed_c=wrong).holds


def test_max_keys_certificate_rejects_neighbours() -> None:
    """C1: L' is certified; L' - 1 and L' + 1 are not."""
    for d in (16, 40):
        lp = max_keys(d, Fraction(3, 4))
        assert certify_max_keys(d, Fraction(3, 4), claimed=lp)[1] == []
        assert certify_max_keys(d, Fraction(3, 4), claimed=lp - 1)[1] != []
        assert certify_max_keys(d, Fraction(3, 4), claimed=lp + 1)[1] != []


def test_exhaustive_l4_is_sharp() -> None:
    """L4: the enumeration passes Fano's bound and fails any bound stronger by a factor > 1.

    The rows m = N attain the bound (identity protocol, error 0), so even a factor
    1 + 10^-9 fails there; for 0 < m < N Fano's slack is at least 1.64 at N <= 4, which is
    why those rows alone could not tell a bound 1.6 times too strong.
    """
    rows = cached_exhaustive_table()
    assert all(r.holds_at(Fraction(1)) for r in rows)
    too_strong = 1 + Fraction(1, 10**9)
    failing = {(r.n, r.m) for r in rows if not r.holds_at(too_strong)}
    assert failing == {(n, n) for n in range(1, 5)}
    lossy = [r for r in rows if 0 < r.m < r.n]
    assert all(r.holds_at(Fraction(8, 5)) for r in lossy)  # the slack the issue noticed
