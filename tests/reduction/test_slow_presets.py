"""Heavy end-to-end runs on the real presets (in ``make test``; ``make test-quick`` skips them)."""

from __future__ import annotations

import pytest

from lowerbound.jl import d_min
from reduction.protocol import run_verification
from reduction.schedule import Schedule

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset,d", [("var-512", 128), ("var-512", 64), ("infinity-1024", 64),
                                      ("var-1024", 64), ("n128", 128)])
def test_exact_fp16_on_real_presets(preset, d):
    schedule = Schedule.preset(preset)
    assert d >= d_min(schedule.cached_tokens, 0.75)
    result = run_verification(schedule, d, 0.75, 0.25, 2, cache="exact-fp16")
    assert result.bit_errors == 0
    assert result.message_bits >= result.lower_bound_bits
    assert result.bound_respected
