"""The worst-case-tight instance of Lemma L3 (docs/theorem.md#l3), in interval arithmetic.

L = 2 keys with <sigma_1, sigma_2> = eps d exactly and T_K zero keys: under the adversary
that moves every output by eta towards tau, every bit decodes at C_min and a bit is
misread at the double just below. The check must fail when C_min is off by one ulp
either way, and when Bob thresholds at 1/2 instead of tau.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from caches.adversaries.adversarial import move_towards
from lowerbound.softmax import c_min
from proofs.l3_decoding import check_tight_instance
from proofs.tight_instance import TIGHT_ETAS, certify_tight, decode_tight, tight_instance
from reduction.attention import attend

INST = tight_instance()  # d = 64, eps = 3/4, T_K = 256


def _c_min(eta: Fraction) -> float:
    return c_min(2, INST.last_tokens, INST.eps, eta)


@pytest.mark.parametrize("eta", TIGHT_ETAS, ids=str)
def test_the_tight_instance_decodes_at_c_min_only(eta: Fraction) -> None:
    failures, detail = certify_tight(eta, INST)
    assert failures == [], detail
    c = _c_min(eta)
    at, below = decode_tight(INST, c, eta), decode_tight(INST, math.nextafter(c, 0), eta)
    assert at.decodes and at.worst_margin.lo > 0
    assert below.wrong == INST.d  # every 1 coordinate of both queries sits at/below tau
    assert at.worst_margin.hi < Fraction(1, 10**15)  # tight: the margin is ~1e-16


def test_registry_check_passes() -> None:
    assert check_tight_instance().status == "passed"


@pytest.mark.parametrize("eta", TIGHT_ETAS, ids=str)
def test_a_c_min_one_ulp_off_fails_the_certificate(eta: Fraction) -> None:
    c = _c_min(eta)
    too_big, _ = certify_tight(eta, INST, c=math.nextafter(c, math.inf))
    too_small, _ = certify_tight(eta, INST, c=math.nextafter(c, 0))
    assert any("still decodes" in f for f in too_big)
    assert any("misread at C=" in f for f in too_small)


@pytest.mark.parametrize("eta", [Fraction(1, 2), Fraction(9, 10)], ids=str)
def test_decoding_at_one_half_fails_at_c_min(eta: Fraction) -> None:
    assert not decode_tight(INST, _c_min(eta), eta, Fraction(1, 2)).decodes


def test_float_simulation_agrees_with_the_enclosures() -> None:
    """The code's attention and adversary on the same instance, in float64, agree to 1e-14.

    The float error (~1e-15 here) exceeds the decoding margin (~1e-16), which is why this
    instance is decided in interval arithmetic and why simulations run at a larger C.
    """
    eta = Fraction(1, 4)
    c = _c_min(eta)
    dec = decode_tight(INST, c, eta, "code")
    keys = INST.signs / np.sqrt(INST.d)
    cached = np.vstack([keys, np.zeros((INST.last_tokens, INST.d))])
    values = np.vstack([INST.values, np.zeros((INST.last_tokens, INST.d))]).astype(float)
    z = attend(c * keys, cached, values)
    moved = move_towards(z, float(dec.threshold.lo), float(eta))
    one = moved[INST.values == 1]
    assert np.allclose(one, float(dec.threshold.lo), rtol=0, atol=1e-14)  # on the boundary


def test_instance_needs_eps_d_of_the_parity_of_d() -> None:
    with pytest.raises(ValueError, match="parity"):
        tight_instance(64, Fraction(1, 3))
    with pytest.raises(ValueError, match="parity"):
        tight_instance(10, Fraction(1, 2))  # eps d = 5, d - 5 odd
    inst = tight_instance(10, Fraction(2, 5))
    assert int(inst.signs[0].astype(int) @ inst.signs[1]) == 4
