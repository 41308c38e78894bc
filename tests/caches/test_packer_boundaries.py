"""The packer's state at EVERY scale boundary (memory = the largest one, docs/theorem.md#mem).

Alice's state passes through its bytes after every scale: ``to_bytes()``, then
``from_bytes`` and the next scale on the restored cache, so nothing outside the bytes can
carry over. Asserted on the hard instance (eps 0.7, eta 0.1, seed 0):

* memory, max_k 8 len(to_bytes() after scale k), is <= (1 + 12/d) N, N = L_{K-1} d;
* at every boundary k with L_k >= L_{K-1}/2 also 8 len(...) <= (1 + 12/d) L_k d. Early
  boundaries exceed that relative bound by an additive O(1) (the 64 framing bits alone
  are more than 12 bits for the one token of scale 1), never the memory bound;
* Bob decodes every bit from the final bytes, and the bytes do not depend on whether the
  state was restored in between.
"""

from __future__ import annotations

import numpy as np
import pytest

from caches.matching.packer import PackerCache
from reduction.instance import make_instance
from reduction.parties import bob_outputs
from reduction.protocol import PublicParams
from reduction.schedule import Schedule

EPS, ETA = 0.7, 0.1


def _stream(public: PublicParams, bits: np.ndarray, restore: bool) -> list[bytes]:
    """The bytes after each of Alice's scales 1..K-1."""
    keys = public.key_family().keys
    params = public.cache_params
    cache = PackerCache(params)
    states = []
    for start, stop in public.schedule.block_bounds[:-1]:
        cache.process(np.zeros((stop - start, public.d)), keys[start:stop],
                      bits[start:stop].astype(np.float64))
        states.append(cache.to_bytes())
        if restore:
            cache = PackerCache.from_bytes(states[-1], params)
    return states


@pytest.mark.parametrize("schedule", ["var-256", "var-512"])
@pytest.mark.parametrize("d", [64, 128])
def test_every_boundary_meets_one_plus_twelve_over_d(schedule: str, d: int) -> None:
    s = Schedule.preset(schedule)
    public = PublicParams(s, d, EPS, ETA, key_seed=11, cache="packer")
    bits = make_instance(s.cached_tokens, d, np.random.default_rng(0)).bits
    states = _stream(public, bits, restore=True)
    assert states == _stream(public, bits, restore=False)
    sizes = [8 * len(m) for m in states]
    cached = [stop for _, stop in s.block_bounds[:-1]]  # L_k
    n_bits = s.cached_tokens * d
    slack = 1 + 12 / d
    table = ", ".join(f"L_{k}={lk}: {b} bits = {b / (lk * d):.3f} L_k d"
                      for k, (lk, b) in enumerate(zip(cached, sizes), start=1))
    print(f"{schedule} d={d}: memory {max(sizes)} = {max(sizes) / n_bits:.4f} N; {table}")
    assert max(sizes) <= slack * n_bits
    for lk, b in zip(cached, sizes):
        if 2 * lk >= s.cached_tokens:
            assert b <= slack * lk * d, (lk, b)
    z = bob_outputs(states[-1], public)
    assert np.array_equal(z, bits)

