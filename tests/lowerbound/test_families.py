"""The eps floors of the three key-family guarantees (docs/theorem.md#cap, #witness).

Gilbert-Varshamov: the greedy scan (the lexicode) is run by brute force in small
dimensions, and the floor the code reports must be exactly the lemma's: a family of
ceil(2^d / V(d, D-1)) words at distance D is admitted, one word more is not. Every floor
lies in (0, 1) or is open at 0 (Lemma CAP asks for eps in (0, 1)), and no floor
decreases when a key is added (the floor half of Lemma CAP-4).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from lowerbound.families import FAMILIES, eps_floor, gilbert_varshamov_size, hamming_ball
from lowerbound.logit_cap import plan_under_cap


def lexicode_size(d: int, distance: int) -> int:
    """Words kept by the greedy scan of {0,1}^d in lexicographic order, each kept word at
    Hamming distance >= ``distance`` from every word kept before it."""
    words = np.array(list(itertools.product((0, 1), repeat=d)), dtype=np.int8)
    kept = np.zeros((0, d), dtype=np.int8)
    for w in words:
        if kept.shape[0] == 0 or (np.abs(kept - w).sum(axis=1) >= distance).all():
            kept = np.vstack([kept, w])
    return int(kept.shape[0])


@pytest.mark.parametrize("d", [4, 6, 8, 10])
def test_the_greedy_scan_reaches_the_gilbert_varshamov_count(d: int) -> None:
    """The lemma of #witness: the greedy code of distance D has >= ceil(2^d/V(d, D-1))
    words (brute force), and hamming_ball is the sum of binomials it names."""
    for distance in range(1, d + 1):
        assert hamming_ball(d, distance - 1) == sum(
            1 for w in itertools.product((0, 1), repeat=d) if sum(w) <= distance - 1)
        assert lexicode_size(d, distance) >= gilbert_varshamov_size(d, distance)


@pytest.mark.parametrize("d", [8, 12, 16, 24, 40])
def test_the_gilbert_varshamov_floor_is_the_lemmas_and_no_more(d: int) -> None:
    """(L' - 1) V(d, D-1) < 2^d guarantees L' words at distance D, i.e. eps = 1 - 2D/d.
    At L' = ceil(2^d/V(d, D-1)) the floor must admit 1 - 2D/d (a count written L' V
    would not); at L' + 1 it must not (the lemma gives no such family)."""
    checked = 0
    for distance in range(1, d // 2):
        eps = 1 - Fraction(2 * distance, d)
        size = gilbert_varshamov_size(d, distance)
        if size >= 2**d:
            continue
        assert eps_floor(size, d, "gilbert-varshamov").admits(eps), (d, distance, size)
        assert not eps_floor(size + 1, d, "gilbert-varshamov").admits(eps), (d, distance)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("family", FAMILIES)
def test_floors_lie_in_zero_one_and_never_admit_zero(family: str) -> None:
    """Few keys in a large dimension: the lemma's floor is <= 0, reported as an open 0."""
    for keys in (1, 2, 3, 20):
        floor = eps_floor(keys, 64, family)  # type: ignore[arg-type]
        assert 0 <= floor.lo <= floor.hi < 1
        assert not floor.admits(0) and floor.admits((floor.hi + 1) / 2)
        if floor.lo == 0:
            assert not floor.closed and floor.admits(Fraction(1, 10**6))
    assert eps_floor(2, 64, family).lo == 0  # type: ignore[arg-type]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_plan_never_runs_at_eps_zero(family: str) -> None:
    """Two keys in d = 64 under a cap: the plan's eps is the first decimal above 0."""
    plan = plan_under_cap(2, 16, 64, Fraction(1, 4), 100, family=family)  # type: ignore[arg-type]
    assert plan.carrying_tokens == 2
    assert plan.eps is not None and 0 < plan.eps < Fraction(1, 100)


@pytest.mark.parametrize("family", FAMILIES)
def test_no_floor_decreases_when_a_key_is_added(family: str) -> None:
    """The floor half of Lemma CAP-4: eps0(L' - 1) <= eps0(L'), exhaustively here."""
    for d, top in ((5, 2**5 + 1), (8, 2**8 + 1), (16, 600)):
        floors = [eps_floor(k, d, family) for k in range(1, top + 1)]  # type: ignore[arg-type]
        for before, after in zip(floors, floors[1:]):
            assert before.lo <= after.lo and before.hi <= after.hi, (d, before, after)
            if before.lo == after.lo and before.hi == after.hi and before.closed != after.closed:
                assert before.closed  # an open floor admits less than the closed one
