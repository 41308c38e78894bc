"""No false alarms (docs/theorem.md#certificate): honest caches are never certified leaks.

Lemma CERT fires on a cache without a side channel with probability at most 1e-6 per run.
The issue's run: every registered cache over 20 seeds at var-256 (d = 64), Alice and Bob
inline (registered code, so the cheapest honest run: the same functions the workers
call). It takes about a minute, so it is marked slow (``make test`` runs it, ``make
test-quick`` skips it); bench/false_alarms.py prints the same runs with how far each
stayed above its threshold. The exact cache at n128 (d = 128) is the README's tour
command ``kvbound verify --schedule n128 --d 128 --workers 2``, which must exit 0
(tests/kvbound/test_docs_commands.py).
"""

from __future__ import annotations

import pytest

from caches import cache_names
from reduction.protocol import run_verification
from reduction.schedule import Schedule

VAR256 = Schedule.preset("var-256")


@pytest.mark.slow
@pytest.mark.parametrize("name", cache_names())
def test_every_registered_cache_twenty_seeds_at_var256(name: str) -> None:
    result = run_verification(VAR256, 64, 0.75, 0.25, 20, cache=name, isolation="inline")
    assert len(result.runs) == 20 and result.certificate.family == 6 * 21
    assert not result.leak, (name, result.certificate.describe())
    assert all(c.margin_bits < 0 for c in result.certificates), name
    assert result.pooled is not None and result.pooled.scope == "pooled over 20 seeds"
