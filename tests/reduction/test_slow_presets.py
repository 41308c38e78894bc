"""Heavy end-to-end runs on the real presets (in ``make test``; ``make test-quick`` skips them).

The largest preset, n128 (17,856 cached tokens), is not run here: at d = 128 it takes about
half a minute and exercises nothing the var-1024 rows do not (queries and keys both span
several chunks of the attention pass, reduction/attention.py QUERY_CHUNK and KEY_CHUNK; d =
128 as in var-512 and var-1024 at 128). ``make bench`` (bench/reduction_speed.py) runs n128
at d = 64 and 128 with this cache and prints its bit errors, and the README's tour runs
``kvbound verify --schedule n128 --d 128 --workers 2`` (tests/kvbound/test_docs_commands.py).
"""

from __future__ import annotations

import pytest

from lowerbound.jl import d_min
from reduction.protocol import run_verification
from reduction.schedule import Schedule

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset,d", [("var-512", 128), ("var-512", 64), ("infinity-1024", 64),
                                      ("var-1024", 64), ("var-1024", 128)])
def test_exact_fp16_on_real_presets(preset, d):
    schedule = Schedule.preset(preset)
    assert d >= d_min(schedule.cached_tokens, 0.75)
    result = run_verification(schedule, d, 0.75, 0.25, 2, cache="exact-fp16")
    assert result.bit_errors == 0
    assert result.message_bits >= result.lower_bound_bits
    assert result.bound_respected
