"""Deliberately leaky KV caches: the harness must catch them.

Purpose: the check of docs/theorem.md#feasible ("every compressor is on the feasible side")
must be able to fail. Both caches here answer Bob's queries exactly while their
``to_bytes()`` is a bare 8-byte frame (64 bits, far below N):

* :class:`LeakyCache` hides Alice's keys and values in a file (path from the environment
  variable ``KVBOUND_LEAK_PATH``, else a fixed name in the temp directory) and its
  ``from_bytes`` reads it back. Between unsandboxed workers (``--no-sandbox``) the file
  system crosses the process boundary, so Bob decodes every bit from 64 bits of message:
  ``message_bits < N(1 - H2(p))``, a leak. In the sandbox (docs/theorem.md#sandbox)
  each worker has its own /tmp and a read-only file system: the channel is cut and the
  cache fails (exit code 4).
* :class:`GlobalLeakyCache` hides them in a module-level global. In Bob's separate
  process that global is empty, so Bob decodes garbage (no leak to report); run inline
  (same process) it leaks. This shows the process boundary is real.

* :class:`SeedRecovery` needs no side channel at all: Bob finds the run's seed from the
  public keys (seeds are small integers) and regenerates Alice's bits, so it leaks in the
  sandbox too; the hostile caches of tests/reduction/escaping_caches.py build on it.

Used as ``tests.leaky_cache:LeakyCache`` (third-party ``module:Class`` syntax).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import Reader, frame, unframe

__all__ = ["LeakyCache", "GlobalLeakyCache", "ExactStore", "SeedRecovery", "leak_path",
           "LEAK_ENV"]

LEAK_ENV = "KVBOUND_LEAK_PATH"


def leak_path() -> Path:
    """Where :class:`LeakyCache` hides its state."""
    default = Path(tempfile.gettempdir()) / f"kvbound-leaky-cache-{os.getuid()}.npz"
    return Path(os.environ.get(LEAK_ENV, str(default)))


class ExactStore:
    """Every key and value at float64, exact attention: what the test caches build on."""

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.keys = np.zeros((0, params.d))
        self.values = np.zeros((0, params.d))

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        self.keys = np.concatenate([self.keys, np.asarray(keys, dtype=np.float64)])
        self.values = np.concatenate([self.values, np.asarray(values, dtype=np.float64)])
        return attend(queries, self.keys, self.values)


class _Base(ExactStore):
    TAG: ClassVar[bytes] = b"LEAK"

    def _stash(self) -> None:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        self._stash()
        return frame(self.TAG, b"")  # 8 bytes: 64 message bits

    @classmethod
    def _unstash(cls, cache: _Base) -> None:
        raise NotImplementedError

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Base:
        Reader(unframe(data, cls.TAG), "leaky cache message").finish()
        cache = cls(params)
        cls._unstash(cache)
        return cache


class LeakyCache(_Base):
    """Hides its whole state in a file; the message is 64 bits."""

    TAG: ClassVar[bytes] = b"LEAK"

    def _stash(self) -> None:
        with open(leak_path(), "wb") as fh:
            np.savez(fh, keys=self.keys, values=self.values)

    @classmethod
    def _unstash(cls, cache: _Base) -> None:
        try:
            with np.load(leak_path(), allow_pickle=False) as z:
                cache.keys, cache.values = z["keys"], z["values"]
        except OSError as exc:
            raise ValueError(f"leaky cache: no hidden state at {leak_path()} ({exc})") from None


_STASH: dict[str, np.ndarray] = {}


class GlobalLeakyCache(_Base):
    """Hides its whole state in a module-level global; the message is 64 bits.

    In another process the global is empty and the rebuilt cache holds no tokens, so
    Bob's outputs are all zero (every 1 bit is decoded wrong).
    """

    TAG: ClassVar[bytes] = b"GLEK"

    def _stash(self) -> None:
        _STASH["keys"], _STASH["values"] = self.keys.copy(), self.values.copy()

    @classmethod
    def _unstash(cls, cache: _Base) -> None:
        if _STASH:
            cache.keys, cache.values = _STASH["keys"].copy(), _STASH["values"].copy()


class SeedRecovery:
    """Bob finds the seed whose public keys match his queries and re-derives X.

    It mirrors how ``reduction.protocol.run_seed`` derives everything from one seed:
    knowledge an attacker has, since the code is public. The message is 8 bytes.
    """

    TAG: ClassVar[bytes] = b"SEED"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        from reduction.instance import make_instance
        from reduction.keys import sample_keys

        q = np.asarray(queries, dtype=np.float64)
        out = np.zeros_like(q)
        rows = np.flatnonzero(np.abs(q).sum(axis=1) > 0)
        if rows.size == 0:
            return out
        signs = np.sign(q[rows])
        n_keys, d = self.params.schedule.cached_tokens, self.params.d
        for seed in range(64):
            instance_rng, public_rng, _ = np.random.default_rng(seed).spawn(3)
            key_seed = int(public_rng.integers(0, 2**63 - 1))
            family = sample_keys(n_keys, d, 0.75, np.random.default_rng(key_seed))
            match = (family.signs[:, None, :] == signs[None, :, :]).all(axis=2)
            if match.any(axis=0).all():
                bits = make_instance(n_keys, d, instance_rng).bits
                token = match.argmax(axis=0)
                out[rows] = bits[token]
                return out
        return out

    def to_bytes(self) -> bytes:
        return frame(self.TAG, b"")

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> SeedRecovery:
        Reader(unframe(data, cls.TAG), "seed-recovery message").finish()
        return cls(params)
