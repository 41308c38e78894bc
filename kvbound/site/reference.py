"""The page's numbers computed by kvbound itself: what the page's script must reproduce.

Purpose: ``assets/kvbound.js`` re-implements a handful of closed forms in JavaScript so the
sliders answer at once. :func:`page_numbers` computes the same quantities from
:mod:`lowerbound` and :mod:`reduction.public`; the test runs the script under Node on a
grid of parameters and compares every number (relative 1e-9, integers exactly).

The quantities (for a schedule with L = L_{K-1} cached tokens, T = T_K last-scale tokens,
L_K tokens in all; head dimension d; relative error eta; b bits per value; a logit cap B
or none):

- ``dMin``: d_min(L, eps) (Lemma L1, docs/theorem.md#l1);
- ``target``: the gamma decoding needs to stay below (Lemma L3, or PREC for b > 1);
- ``carrying``: the tokens that carry bits. Without a cap, min(L, max_keys(d, eps)): all L
  when d >= d_min (the theorem), Corollary C1's L' below it. Under a cap B, L*(d, B) with
  the eps chosen by :func:`lowerbound.logit_cap.plan_under_cap` (Lemma CAP);
- ``cMin``: the least C with gamma(C) < target (Lemma L3), the other L - L' tokens as zero
  keys (Lemma UNUSED); ``scale``: the C the verifier's Bob uses
  (:attr:`reduction.public.PublicParams.scale`); ``gamma`` at that C, and ``tau`` with the
  ranges of L3 (b = 1) or the first and last of PREC's thresholds (b > 1);
- ``boundBits``: b d L' (delta = 0; Lemma L4, PREC); ``fp16Ratio``: a real fp16 cache of the
  same head, 2 * 16 * d * L_K bits, over the bound (Corollary C2): the most any compressor
  can shrink that head's cache while answering to relative error eta.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lowerbound.bound import fp16_cache_bits
from lowerbound.decoding import one_range, tau, zero_range
from lowerbound.jl import d_min, max_keys
from lowerbound.logit_cap import plan_under_cap
from lowerbound.precision import level_thresholds, multilevel_bound_bits
from lowerbound.softmax import gamma, scale_for_gamma
from reduction.public import (
    SIMULATION_CAP_FRACTION,
    SIMULATION_GAMMA_FRACTION,
    decoding_gamma_target,
)

__all__ = ["page_numbers"]


def _scale(n: int, t: int, eps: float, target: Fraction, zero: int) -> float | None:
    """Least C with gamma < target, or None where the script has none (Lemma L2)."""
    if target <= 0 or (n - 1) + t + zero <= target:
        return None
    return scale_for_gamma(n, t, eps, target, extra_zero_keys=zero)


def _simulation_scale(c_min: float, c_sim: float, cap: float | None) -> float:
    """:attr:`reduction.public.PublicParams.scale` from its two least scales."""
    if cap is None:
        return c_sim
    room = cap * float(SIMULATION_CAP_FRACTION)
    return min(c_sim, room) if c_min <= room else (c_min + cap) / 2


def page_numbers(*, L: int, T: int, LK: int, d: int, eps: float, eta: float, b: int,
                 cap: float | None) -> dict[str, Any]:
    """Every number the page shows for one position of its sliders (module docstring).

    >>> p = page_numbers(L=424, T=256, LK=680, d=64, eps=0.75, eta=0.25, b=1, cap=None)
    >>> p["dMin"], p["carrying"], round(p["cMin"], 4), p["boundBits"], round(p["fp16Ratio"], 2)
    (41, 424, 26.2328, 27136, 51.32)
    """
    target = decoding_gamma_target(eta, bits_per_value=b)
    out: dict[str, Any] = {"target": float(target), "dMin": d_min(L, eps),
                           "fp16Bits": fp16_cache_bits(1, 1, d, LK), "feasible": target > 0}
    carrying = 0
    if target > 0:
        if cap is None:
            used: float | None = eps
            carrying = min(L, max_keys(d, eps, cap=L))
            c_min = _scale(carrying, T, eps, target, L - carrying)
        else:
            plan = plan_under_cap(L, T, d, eta, Fraction(cap), target=target)
            carrying = plan.carrying_tokens
            used = None if plan.eps is None else float(plan.eps)
            c_min = plan.scale
            out["dMinAtEps"] = plan.d_min
        out["carrying"], out["eps"] = carrying, used
        if carrying and used is not None:
            out["cMin"] = c_min
            zero = L - carrying
            c_sim = _scale(carrying, T, used, target * SIMULATION_GAMMA_FRACTION, zero)
            c = None if c_min is None or c_sim is None else _simulation_scale(c_min, c_sim, cap)
            out["scale"] = c
            if c is not None:
                g = gamma(carrying, T, c, used, extra_zero_keys=zero)
                out["gamma"] = g
                if b == 1:
                    out.update(tau=tau(g, eta), zeroRangeTop=zero_range(g, eta),
                               oneRangeBottom=one_range(g, eta))
                else:
                    th = level_thresholds(b, Fraction(g), eta,
                                          value_bound=Fraction(2**b - 1, 2**b))
                    out.update(thresholdFirst=float(th[0]), thresholdLast=float(th[-1]))
    else:
        out["carrying"] = 0
    bound = multilevel_bound_bits(carrying * d, b) if carrying else 0.0
    out["boundBits"] = int(bound) if bound == int(bound) else bound
    out["fp16Ratio"] = out["fp16Bits"] / bound if bound > 0 else None
    return out
