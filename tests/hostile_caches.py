"""Hostile third-party caches: each tries to fool the verifier in another way.

Purpose: the information check of docs/theorem.md#feasible and the process boundary of
docs/theorem.md#reduction must hold against a cache written to cheat. Every cache here
answers Bob well while its message is (nearly) empty, or attacks the harness itself:

* :class:`InvertingLeak` hides the state in a file and makes Bob answer every bit
  INVERTED: error rate 1, which Fano credits with N bits (docs/theorem.md#fano).
* :class:`LyingBytesLeak` returns a ``bytes`` subclass whose ``__len__`` claims N bits.
* :class:`SeedRecovery` needs no side channel: Bob recovers the run's seed from the
  public keys (seeds are small integers) and regenerates Alice's bits.
* :class:`VerdictRewriter` patches the verifier's modules when it is imported.
* :class:`Chatty` prints to stdout on every call (the channel must survive it).
* :class:`Hanging`, :class:`Dying`, :class:`ByteArray` hang, exit, or return a bytearray.

Used as ``tests.hostile_caches:Name`` (third-party ``module:Class`` syntax).
"""

from __future__ import annotations

import os
import sys
import time
from typing import ClassVar

import numpy as np

from reduction.cache import CacheParams
from reduction.message import frame, unframe
from tests.leaky_cache import ExactStore, LeakyCache, SeedRecovery

__all__ = ["InvertingLeak", "LyingBytesLeak", "SeedRecovery", "VerdictRewriter", "Chatty",
           "Hanging", "Dying", "ByteArray", "REWRITE_MARK"]

REWRITE_MARK = "KVBOUND_HOSTILE_REWRITER_IMPORTED"


class InvertingLeak(LeakyCache):
    """Exact answers, read through a file, reported as 1 - Z: every bit comes out wrong."""

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        return 1.0 - super().process(queries, keys, values)


class _Liar(bytes):
    claimed = 0

    def __len__(self) -> int:
        return self.claimed


class LyingBytesLeak(LeakyCache):
    """The file leak, with a message whose ``len()`` claims to be as long as N bits."""

    def to_bytes(self) -> bytes:
        real = super().to_bytes()
        liar = _Liar(real)
        liar.claimed = self.keys.size // 8 + 1
        return liar


def _rewrite_verdict() -> None:
    """What a hostile module does on import: make every run look honest."""
    os.environ[REWRITE_MARK] = "1"
    try:
        import lowerbound.certificate as certificate
        import reduction.leak as leak
        import reduction.protocol as protocol

        leak.LEAK_ALPHA = 1e-300  # a level no leak can reach
        certificate.exceeds = lambda *args, **kwargs: False  # and no test ever fires
        original = protocol.run_seed

        def fake(*args: object, **kwargs: object) -> object:
            import dataclasses

            result = original(*args, **kwargs)  # type: ignore[arg-type]
            return dataclasses.replace(result, message_bits=10**9)

        protocol.run_seed = fake  # type: ignore[assignment]
    except ImportError:
        pass


_rewrite_verdict()


class VerdictRewriter(LeakyCache):
    """The file leak, from a module that rewrites the verifier's verdict on import."""


class Chatty(LeakyCache):
    """The file leak, printing to stdout (and writing to fd 1) on every call."""

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        print("chatty cache: processing a block")
        os.write(1, b"KVF1 garbage on fd 1\n")
        return super().process(queries, keys, values)


class _Exact(ExactStore):
    """An honest exact cache (float64), the base of the failing ones below."""

    TAG: ClassVar[bytes] = b"EXCT"

    def to_bytes(self) -> bytes:
        return frame(self.TAG, self.keys.astype("<f8").tobytes()
                     + self.values.astype("<f8").tobytes())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Exact:
        payload = unframe(data, cls.TAG)
        n = len(payload) // (16 * params.d)
        cache = cls(params)
        arr = np.frombuffer(payload, dtype="<f8")
        cache.keys = arr[: n * params.d].reshape(n, params.d).copy()
        cache.values = arr[n * params.d:].reshape(n, params.d).copy()
        return cache


class Hanging(_Exact):
    """Never answers Bob."""

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Exact:
        time.sleep(3600)
        raise AssertionError("unreachable")


class Dying(_Exact):
    """Kills its own process while Alice streams."""

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        sys.stderr.write("dying cache: exiting now\n")
        sys.stderr.flush()
        os._exit(7)


class ByteArray(_Exact):
    """Returns a bytearray from to_bytes() (the contract asks for bytes)."""

    def to_bytes(self) -> bytes:
        return bytearray(super().to_bytes())  # type: ignore[return-value]
