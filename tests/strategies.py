"""hypothesis strategies that draw parameters valid by construction."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from lowerbound.jl import d_min
from reduction.schedule import Schedule


@st.composite
def small_schedules(draw: Any, max_scales: int = 4, max_side: int = 7) -> Schedule:
    """Square or rectangular schedules with strictly increasing areas, K >= 2."""
    k = draw(st.integers(2, max_scales))
    shapes: list[tuple[int, int]] = []
    area = 0
    for _ in range(k):
        options = [
            (h, w)
            for h in range(1, max_side + 1)
            for w in range(1, max_side + 1)
            if h * w > area
        ]
        if not options:
            break
        h, w = draw(st.sampled_from(options[:12]))
        shapes.append((h, w))
        area = h * w
    if len(shapes) < 2:
        shapes = [(1, 1), (2, 2)]
    return Schedule(tuple(shapes))


@st.composite
def valid_regimes(draw: Any) -> tuple[Schedule, int, float, float]:
    """(schedule, d, eps, eta) with d >= d_min(L_{K-1}, eps) and eta in [0, 1/2]."""
    schedule = draw(small_schedules())
    eps = float(draw(st.sampled_from([Fraction(1, 2), Fraction(5, 8), Fraction(3, 4)])))
    need = d_min(schedule.cached_tokens, eps)
    d = draw(st.integers(need, need + 24))
    eta = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5]))
    return schedule, d, eps, eta
