"""How the verifier reaches the two parties: worker processes, or inline for tests.

Purpose: docs/theorem.md#reduction and #feasible. :class:`ProcessParties` (the default)
runs Alice and Bob in two worker processes (reduction.isolation.worker); the verifier sends them
the public parameters and, to Alice, her private bits, over the frames of
reduction.isolation.frames, and counts itself the bytes it receives. It never imports a
third-party cache module, so the cache's code cannot touch the verdict. Every exchange
has a deadline: a hung or dying cache becomes a :class:`PartyFailure` naming the cache,
never a hang, and the worker is started afresh for the next request.

:class:`InlineParties` calls the same functions in this process; it is for fast tests of
registered caches only and refuses ``module:Class``. Both take ``workers``, the threads
Bob may use for his passes (reduction.parties; his outputs do not depend on it); the
worker processes may be started with a fixed number of BLAS threads (the attack sweep
uses one, reduction.isolation.threads).
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction import cachespec
from reduction.errors import CacheFault
from reduction.isolation.cache_path import child_environment
from reduction.isolation.frames import (
    REQ_ALICE,
    REQ_BOB,
    REQ_CHECK,
    RES_BAD_INPUT,
    RES_OK,
    Frame,
    FrameError,
    FrameTimeout,
    encode_frame,
    read_frame,
    write_all,
)
from reduction.isolation.threads import check_workers
from reduction.public import PublicParams, is_registered_cache

if TYPE_CHECKING:
    from reduction.parties import BobAnswer

__all__ = ["PartyFailure", "PartyProcess", "ProcessParties", "InlineParties",
           "DEFAULT_TIMEOUT", "MAX_STATE_BYTES"]

#: The construction's own worker, started when no zoo named one (``module:Class`` only).
_OWN_WORKER = "reduction.isolation.worker"
DEFAULT_TIMEOUT = 900.0  # seconds per exchange with a worker
MAX_STATE_BYTES = 8 << 30  # all of Alice's boundary states together


class PartyFailure(CacheFault):
    """A party's worker failed, hung, died or answered with a malformed frame."""


class PartyProcess:
    """One party's worker process, restarted after a failure."""

    def __init__(self, role: str, timeout: float = DEFAULT_TIMEOUT,
                 blas_threads: int | None = None) -> None:
        if role not in ("alice", "bob"):
            raise InvalidArgument(f"role={role!r}; choose 'alice' or 'bob'")
        if not (isinstance(timeout, (int, float)) and timeout > 0 and math.isfinite(timeout)):
            raise InvalidArgument(f"timeout={timeout!r} must be a positive number of seconds")
        self.role, self.timeout = role, float(timeout)
        self.blas_threads = None if blas_threads is None else check_workers(
            blas_threads, "blas_threads")
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            self._stderr = tempfile.TemporaryFile()
            env = child_environment()  # finds module:Class where the verifier would
            if self.blas_threads is not None:  # read by OpenBLAS / MKL / OpenMP at load
                for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
                    env[name] = str(self.blas_threads)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", cachespec.worker_module() or _OWN_WORKER, self.role],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            )
        return self._proc

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 600))
        tail = self._stderr.read().decode(errors="replace").strip()
        return f"; its stderr ends: {tail[-600:]}" if tail else ""

    def close(self) -> None:
        """Stop the worker (closing its channel, then killing it if it lingers)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def exchange(self, kind: int, header: dict[str, Any], segments: list[bytes],
                 *, cache: str, max_bytes: int) -> Frame:
        """Send one request, return the worker's OK answer (errors raised as such)."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        who = f"cache {cache!r}: {self.role.capitalize()}'s process"
        try:
            write_all(proc.stdin.fileno(), encode_frame(kind, header, segments), deadline)
            answer = read_frame(proc.stdout.fileno(), max_bytes=max_bytes, deadline=deadline)
        except FrameTimeout:
            self._kill()
            raise PartyFailure(f"{who} did not answer within {self.timeout:g} s; "
                               "it was stopped") from None
        except FrameError as exc:
            tail = self._stderr_tail()
            self._kill()
            raise PartyFailure(f"{who} sent a malformed answer ({exc}){tail}") from None
        except (EOFError, BrokenPipeError, ConnectionResetError):
            answer = None
        if answer is None:
            tail = self._stderr_tail()
            code = proc.poll()
            self._kill()
            raise PartyFailure(f"{who} died (exit code {code}){tail}")
        if answer.kind == RES_OK:
            return answer
        error = str(answer.header.get("error", "no error text"))
        if answer.kind == RES_BAD_INPUT:
            raise InvalidArgument(error)
        raise PartyFailure(f"{who} failed: {error}")

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        self.close()


def _outputs_from(answer: Frame, rows: int, d: int, cache: str) -> np.ndarray:
    if len(answer.segments) != 1 or answer.header.get("shape") != [rows, d] \
            or len(answer.segments[0]) != 8 * rows * d:
        raise PartyFailure(f"cache {cache!r}: Bob's answer is not {rows} x {d} float64 outputs")
    return np.frombuffer(answer.segments[0], dtype="<f8").reshape(rows, d).copy()


def _logit_claim(answer: Frame, cache: str) -> float | None:
    """Bob's claimed largest |logit|: null, a number >= 0, or "inf" (non-finite logits)."""
    claim = answer.header.get("max_abs_logit")
    if claim is None:
        return None
    if claim == "inf":
        return math.inf
    if type(claim) not in (int, float) or not (math.isfinite(claim) and claim >= 0):
        raise PartyFailure(f"cache {cache!r}: Bob's max_abs_logit {claim!r} is not a number "
                           ">= 0, null or \"inf\"")
    return float(claim)


class ProcessParties:
    """Alice and Bob in two worker processes; use as a context manager."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, workers: int = 1,
                 blas_threads: int | None = None) -> None:
        self.workers = check_workers(workers)
        self.alice = PartyProcess("alice", timeout, blas_threads)
        self.bob = PartyProcess("bob", timeout, blas_threads)

    def __enter__(self) -> ProcessParties:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.alice.close()
        self.bob.close()

    def start(self) -> None:
        """Start both workers now, so their start-up overlaps (otherwise each starts at
        its first request; a worker that dies is started afresh at the next one)."""
        self.alice._start()
        self.bob._start()

    def check(self, public: PublicParams) -> None:
        """Resolve the cache and its options in a worker (ValueError if bad)."""
        self.alice.exchange(REQ_CHECK, {"public": public.to_json()}, [], cache=public.cache,
                            max_bytes=0)

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]:
        """Alice's state after each scale 1..K-1, as received from her process."""
        x = np.asarray(bits)
        header = {"public": public.to_json(), "cache_seed": int(cache_seed),
                  "shape": list(x.shape)}
        payload = (np.packbits(x.astype(np.uint8)) if public.bits_per_value is None
                   else x.astype("<u2"))
        answer = self.alice.exchange(REQ_ALICE, header, [payload.tobytes()],
                                     cache=public.cache, max_bytes=MAX_STATE_BYTES)
        boundaries = len(public.schedule.block_bounds) - 1
        if len(answer.segments) != boundaries:
            raise PartyFailure(f"cache {public.cache!r}: Alice's answer has "
                               f"{len(answer.segments)} states, expected {boundaries}")
        return answer.segments

    def bob_answer(self, message: bytes, public: PublicParams,
                   tokens: Iterable[int] | None = None) -> BobAnswer:
        """Bob's outputs for ``tokens``, computed in his process from ``message`` alone,
        with his claim of the largest |logit| his cache computed."""
        from reduction.parties import BobAnswer

        token_list = None if tokens is None else [int(t) for t in tokens]
        rows = public.bit_rows if token_list is None else len(token_list)
        header = {"public": public.to_json(), "tokens": token_list, "workers": self.workers}
        answer = self.bob.exchange(REQ_BOB, header, [message], cache=public.cache,
                                   max_bytes=8 * rows * public.d)
        return BobAnswer(_outputs_from(answer, rows, public.d, public.cache),
                         _logit_claim(answer, public.cache))

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray:
        """Bob's outputs for ``tokens`` (:meth:`bob_answer` without the claim)."""
        return self.bob_answer(message, public, tokens).outputs


@contextlib.contextmanager
def _as_cache_fault(cache: str) -> Iterator[None]:
    """Inside the block, anything but refused parameters is the cache's fault (the inline
    parties run a registered cache in this process, as a worker would)."""
    try:
        yield
    except (InvalidArgument, CacheFault):
        raise
    except Exception as exc:
        raise CacheFault(f"cache {cache!r} failed: {type(exc).__name__}: {exc}") from exc


class InlineParties:
    """The same party functions in this process, for registered caches only (tests)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = check_workers(workers)

    def __enter__(self) -> InlineParties:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def start(self) -> None:
        return None

    @staticmethod
    def _registered(public: PublicParams) -> None:
        if not (is_registered_cache(public.cache) or public.cache.startswith("local:")):
            raise InvalidArgument(f"cache {public.cache!r} is third-party code: run it with "
                             "isolation 'process' (inline is for registered caches only)")

    def check(self, public: PublicParams) -> None:
        self._registered(public)
        public.cache_params  # noqa: B018  (resolves and validates the options)

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]:
        from reduction.parties import alice_states

        self._registered(public)
        with _as_cache_fault(public.cache):
            return alice_states(bits, public, np.random.default_rng(cache_seed))

    def bob_answer(self, message: bytes, public: PublicParams,
                   tokens: Iterable[int] | None = None) -> BobAnswer:
        from reduction.parties import bob_answer

        self._registered(public)
        with _as_cache_fault(public.cache):
            return bob_answer(message, public, tokens, workers=self.workers)

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray:
        return self.bob_answer(message, public, tokens).outputs
