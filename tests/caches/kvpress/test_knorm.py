"""Must-show: kvpress's KnormPress, unported, and kvbound's ``knorm`` keep the same tokens
and lose the same bits on the same instance, modulo the tie rule.

Both keep the tokens whose keys have the smallest L2 norm (kvpress
``presses/knorm_press.py`` lines 32-46; caches/knorm.py). On the reduction's instance every
key is a sign vector / sqrt(d): every norm is exactly 1, so every score ties and the kept
set is decided by tie-breaking alone - kvbound breaks ties towards the more recent token
(caches/_eviction.py), kvpress by whatever ``torch.topk`` returns (``scorer_press.py``
line 96; not specified by torch). So:

* with keys of distinct norms the two keep the same set, at compress_after=last and, with
  ``DecodingPress(base_press=KnormPress(), target_size=B)``, at every boundary;
* on the hard instance at compression 0.5 torch's choice happens to be the most recent half
  too: the same tokens, the same bit errors; at 0.25 the kept sets differ, only among
  tokens whose scores tie, and the error rates agree within 0.01.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caches.kvpress.adapter import cache_class
from caches.registry import resolve_cache
from kvbound.experiments.kvpress_table import RecordingParties
from reduction.cache import CacheParams
from reduction.protocol import run_seed
from reduction.schedule import Schedule
from tests.caches.kvpress.test_presses import SCHEDULE, D, L, instance, kept, stream


def _port(budget: float | int, keys: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
    cls = resolve_cache("knorm").cls
    params = CacheParams(D, SCHEDULE, {"budget": budget})
    states = stream(cls(params, None), keys, values)
    return [cls.from_bytes(s, params).positions for s in states]


def _press(spec: str, keys: np.ndarray, values: np.ndarray, **options: Any) -> list[np.ndarray]:
    params = CacheParams(D, SCHEDULE, options)
    states = stream(cache_class(spec)(params, np.random.default_rng(0)), keys, values)
    return [kept(s) for s in states]


def test_same_token_sets_when_norms_do_not_tie() -> None:
    keys, values = instance(1, gaussian=True)
    for ratio in (0.25, 0.5):
        press = _press(f"kvpress:KnormPress(compression_ratio={ratio})", keys, values,
                       compress_after="last")[-1]
        port = _port(1 - ratio, keys, values)[-1]
        assert press.size == port.size == int(L * (1 - ratio))
        assert set(press.tolist()) == set(port.tolist())
    budget = 212
    press_all = _press(f"kvpress:DecodingPress(base_press=KnormPress(), target_size={budget})",
                       keys, values)
    port_all = _port(budget, keys, values)
    for k, (a, b) in enumerate(zip(press_all, port_all, strict=True), start=1):
        assert set(a.tolist()) == set(b.tolist()), f"after scale {k}"


def test_same_bits_lost_on_the_hard_instance(parties: Any) -> None:
    schedule = Schedule.parse("var-256")
    recording = RecordingParties(parties)
    runs, sets = {}, {}
    for ratio in (0.5, 0.25):
        press = run_seed(schedule, D, 0.75, 0.25, 0, recording,
                         cache=f"kvpress:KnormPress(compression_ratio={ratio})",
                         options={"compress_after": "last"})
        press_rows = kept(recording.states[-1])
        port = run_seed(schedule, D, 0.75, 0.25, 0, recording, cache="knorm",
                        options={"budget": 1 - ratio})
        params = CacheParams(D, schedule, {"budget": 1 - ratio})
        port_rows = resolve_cache("knorm").cls.from_bytes(recording.states[-1], params).positions
        runs[ratio], sets[ratio] = (press, port), (set(press_rows.tolist()),
                                                   set(port_rows.tolist()))
    press, port = runs[0.5]
    assert sets[0.5][0] == sets[0.5][1] == set(range(L - 212, L))
    assert press.bit_errors == port.bit_errors and press.error_rate == port.error_rate
    press, port = runs[0.25]
    assert len(sets[0.25][0]) == len(sets[0.25][1]) == 318
    assert sets[0.25][0] != sets[0.25][1]  # torch.topk broke the ties its own way
    assert abs(press.error_rate - port.error_rate) <= 0.01
    assert not press.leak and not port.leak


def test_every_key_of_the_instance_ties() -> None:
    """Why the tie rule decides: the float16 norms of the cached keys are all equal."""
    keys, _ = instance(0)
    norms = np.linalg.norm(keys[:L].astype(np.float16).astype(np.float64), axis=1)
    assert np.unique(norms).size == 1
