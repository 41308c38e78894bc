"""WITNESS -- a checked key family is itself the certificate (ours).

Purpose: the registry entry and checks of Lemma WITNESS (docs/theorem.md#witness),
implemented in :mod:`lowerbound.families` (the Gilbert-Varshamov guarantee) and used by
:mod:`lowerbound.logit_cap` (``family="gilbert-varshamov"``).

Main statement (WITNESS): the reduction needs one fixed family of L unit keys with every
off-diagonal inner product <= eps, known to Alice and Bob; how it was found does not
matter. So (i) a sampled family whose measured max inner product is <= eps certifies
(L, d, eps) (public coins may be fixed to it), and (ii) since <sigma, sigma'> =
d - 2 dist(sigma, sigma'), the greedy code of minimum distance D = ceil(d(1-eps)/2) (the
lexicode, deterministic) has >= 2^d / V(d, D-1) words. At L = 424, d = 16 it guarantees
every token at eps = 5/8, where the union bound guarantees 13 tokens at eps = 3/4.

References: E. N. Gilbert (1952); R. R. Varshamov (1957); V. Levenshtein and J. Conway &
N. Sloane (lexicodes, 1986); docs/theorem.md#witness.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from lowerbound.families import eps_floor, gilbert_varshamov_size, hamming_ball
from lowerbound.jl import max_keys
from lowerbound.softmax import gamma_is_below, gamma_target
from proofs._perturb import all_caught
from proofs.registry import Check, CheckResult, Lemma

__all__ = ["LEMMAS", "lexicode"]


def lexicode(d: int, distance: int) -> np.ndarray:
    """The greedy code: scan {0,1}^d in lexicographic order, keep a word at distance >= D.

    >>> lexicode(3, 3).tolist()
    [[0, 0, 0], [1, 1, 1]]
    """
    words = np.array(list(itertools.product((0, 1), repeat=d)), dtype=np.int8)
    chosen: list[int] = []
    for i in range(len(words)):
        if not chosen or int((words[chosen] != words[i]).sum(axis=1).min()) >= distance:
            chosen.append(i)
    return words[chosen]


def check_sampled_witness() -> CheckResult:
    """WITNESS: a sampled family (L=424, d=16, seed 0) has max <sigma_i, sigma_j> <= 12."""
    from reduction.keys import sample_keys

    fam = sample_keys(424, 16, 0.75, np.random.default_rng(0), require_d_min=False)
    signs = fam.signs.astype(np.int64)
    gram = signs @ signs.T
    np.fill_diagonal(gram, -16)
    worst = int(gram.max())
    fits = gamma_is_below(424, 256, 100, Fraction(3, 4), gamma_target(Fraction(1, 4)))
    ok = worst <= 12 and fits and max_keys(16, Fraction(3, 4)) == 13
    return CheckResult.of(ok, f"exact max inner product {worst} <= 3/4 * 16 after "
                          f"{fam.rounds} rounds; C_min <= 100: {fits}; the union bound "
                          f"guarantees {max_keys(16, Fraction(3, 4))} keys")


def _lexicodes(size_radius: int, distance_extra: int) -> CheckResult:
    """Every lexicode for d in 4..11, D = 2, 3 has >= ceil(2^d / V(d, D - 1 + size_radius))
    words and minimum distance >= D + distance_extra (GV: size_radius = distance_extra = 0)."""
    lines = []
    for d in range(4, 12):
        for distance in (2, 3):
            code = lexicode(d, distance).astype(np.int64)
            signs = 2 * code - 1
            gram = signs @ signs.T
            dist = (d - gram) // 2  # <sigma, sigma'> = d - 2 dist
            np.fill_diagonal(dist, d + 1)
            need = -(-(2**d) // hamming_ball(d, distance - 1 + size_radius))
            ok = len(code) >= need and int(dist.min()) >= distance + distance_extra
            ok &= bool(((d - gram) % 2 == 0).all())
            if size_radius == 0:
                ok &= need == gilbert_varshamov_size(d, distance)
            if not ok:
                return CheckResult.of(False, f"d={d} D={distance}: {len(code)} words (need "
                                      f"{need}), minimum distance {int(dist.min())}")
            if d in (8, 11):
                lines.append(f"d={d} D={distance}: {len(code)} >= {need}")
    return CheckResult.of(True, "; ".join(lines))


def check_lexicodes_exhaustive() -> CheckResult:
    """WITNESS: greedy codes for d <= 11, D = 2, 3 reach 2^d/V(d, D-1) with distance >= D."""
    return _lexicodes(0, 0)


def perturbed_lexicodes_exhaustive() -> CheckResult:
    """WITNESS (must fail): the same enumeration claiming the size 2^d/V(d, D-2) (above the
    sphere-packing bound for D = 2), and claiming minimum distance D + 1."""
    return all_caught(("size 2^d/V(d, D-2)", _lexicodes(-1, 0)),
                      ("distance D + 1", _lexicodes(0, 1)))


def _gv(carrying: int, distance: int) -> CheckResult:
    """(L-1) V(16, D-1) < 2^16 <= (L-1) V(16, D): D is the largest GV distance for L keys,
    and eps_floor reports eps = 1 - 2D/16, attained."""
    below = (carrying - 1) * hamming_ball(16, distance - 1)
    above = (carrying - 1) * hamming_ball(16, distance)
    floor = eps_floor(carrying, 16, "gilbert-varshamov")
    ok = below < 2**16 <= above and floor.lo == 1 - Fraction(2 * distance, 16) and floor.closed
    return CheckResult.of(ok, f"L={carrying}, D={distance}: {carrying - 1}*"
                          f"{hamming_ball(16, distance - 1)}={below} < 65536 <= "
                          f"{carrying - 1}*{hamming_ball(16, distance)}={above}: {ok}; "
                          f"floor {floor.lo}")


def check_gv_at_var256() -> CheckResult:
    """WITNESS: 423 V(16, 2) < 2^16 <= 423 V(16, 3), so all 424 tokens fit at eps = 5/8."""
    return _gv(424, 3)


def perturbed_gv_at_var256() -> CheckResult:
    """WITNESS (must fail): the same certificate for D = 4 (eps = 1/2) at L = 424, and for
    L = 480 at D = 3, one more than the GV guarantee's largest (479)."""
    return all_caught(("L=424, D=4", _gv(424, 4)), ("L=480, D=3", _gv(480, 3)))


LEMMAS = (
    Lemma(
        label="WITNESS",
        title="A checked key family is its own certificate (ours)",
        reference="docs/theorem.md#witness (beyond the papers)",
        statement=(
            "Any fixed family of L keys with max off-diagonal inner product <= eps, found by "
            "sampling and checking or by the greedy (Gilbert-Varshamov) code with "
            "(L-1) V(d, D-1) < 2^d, D = ceil(d(1-eps)/2), serves the reduction as L1's does."
        ),
        uses=("L1",),
        code=("lowerbound.families.eps_floor", "lowerbound.families.gilbert_varshamov_size",
              "reduction.keys.sample_keys", "reduction.witnessed.witnessed_family",
              "reduction.witnessed.certify_family"),
        tests=("tests/lowerbound/test_logit_cap.py::test_gilbert_varshamov_family_beats_union_bound",
               "tests/reduction/test_witnessed.py::test_search_result_is_a_certificate",
               "tests/reduction/test_witnessed.py::test_certify_rejects_a_bad_family",
               "tests/reduction/test_witnessed.py::test_beats_the_union_bound_below_d_min",
               "tests/reduction/test_low_dimension.py::test_must_show_var256_at_d16"),
        checks=(
            Check("sampled family at d = 16", "sampled", check_sampled_witness),
            Check("greedy codes reach the GV size", "exhaustive", check_lexicodes_exhaustive,
                  perturbed_lexicodes_exhaustive),
            Check("GV at var-256, d = 16", "certified", check_gv_at_var256,
                  perturbed_gv_at_var256),
        ),
        origin="ours",
    ),
)
