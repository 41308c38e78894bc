"""CacheParams with heads and layers: JSON round trip, one head unchanged, budgets split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams, budget_rows, budget_tokens, uniform_split
from reduction.schedule import Schedule

VAR256 = Schedule.parse("var-256")


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 128))
def test_json_round_trip(heads: int, layers: int, d: int) -> None:
    p = CacheParams(d, VAR256, {"budget": 0.5}, heads=heads, layers=layers)
    back = CacheParams.from_json(p.to_json())
    assert back == p
    assert back.block_prefix == ((layers, heads) if heads * layers > 1 else ())


def test_one_head_reads_old_json() -> None:
    """A record written before heads existed reads as one head (D = H = 1)."""
    old = {"d": 64, "schedule": VAR256.to_json(), "options": {}}
    p = CacheParams.from_json(old)
    assert (p.heads, p.layers, p.multi_head) == (1, 1, False)


@pytest.mark.parametrize("bad", [{"heads": 0}, {"layers": -1}, {"heads": 1.5}, {"heads": "2"}])
def test_bad_shapes_refused(bad: dict) -> None:
    obj = {"d": 64, "schedule": VAR256.to_json(), "options": {}, **bad}
    with pytest.raises(InvalidArgument):
        CacheParams.from_json(obj)


@given(st.integers(0, 10_000), st.integers(1, 300))
def test_uniform_split(total: int, parts: int) -> None:
    shares = uniform_split(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1 and shares == sorted(shares, reverse=True)


@given(st.floats(0.001, 1.0), st.integers(1, 16), st.integers(1, 16))
def test_budget_rows_counts_every_head(f: float, heads: int, layers: int) -> None:
    p = CacheParams(8, VAR256, heads=heads, layers=layers)
    rows = heads * layers * VAR256.cached_tokens
    assert budget_rows(f, p) == budget_tokens(f, rows)
    assert 1 <= budget_rows(f, p) <= rows
