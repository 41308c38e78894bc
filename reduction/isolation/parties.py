"""How the verifier reaches the two parties: sandboxed worker processes, or inline.

Purpose: docs/theorem.md#reduction, #sandbox and #feasible. :class:`ProcessParties` (the
default) runs Alice and Bob in worker processes (reduction.isolation.worker, each a
:class:`~reduction.isolation.party.PartyProcess`, sandboxed by
reduction.isolation.sandbox where this machine allows it); the verifier sends them the
public parameters and, to Alice, her private bits, over the frames of
reduction.isolation.frames, and counts itself the bytes it receives. It never imports a
third-party cache module. Every exchange has a deadline; a hung or dying cache becomes
a :class:`PartyFailure` naming the cache, never a hang.

Alice's worker serves one seed: once her states are received it is killed, with
everything it started, before Bob is sent the message (the next seed's Alice starts
then, knowing nothing yet). Alice's answer is read with a size stated up front:
``max_message_bytes`` per state (default :func:`default_max_message_bytes`, a multiple
of the float64 keys and values of every cached token); a larger state is a fault of
the cache, not an allocation of the verifier.

Without a working sandbox (bubblewrap missing, or user namespaces not allowed),
registered caches run in plain worker processes with the same limits; a ``module:Class``
cache then runs only when the caller says so (``sandbox=False``, the ``--no-sandbox``
flag), and :meth:`ProcessParties.record` says how the parties ran.

:class:`InlineParties` calls the same functions in this process; it is for fast tests of
registered caches only and refuses ``module:Class``. Both take ``workers``, the threads
Bob may use for his passes (reduction.parties; his outputs do not depend on it); the
worker processes may be started with a fixed number of BLAS threads (the attack sweep
uses one, reduction.isolation.threads).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction import cachespec
from reduction.errors import CacheFault
from reduction.isolation.frames import REQ_ALICE, REQ_BOB, REQ_CHECK, Frame
from reduction.isolation.party import (
    DEFAULT_TIMEOUT,
    ForkedParty,
    PartyFailure,
    PartyProcess,
    check_timeout,
)
from reduction.isolation.resources import MEMORY_FRACTION, physical_memory_bytes
from reduction.isolation.sandbox import Limits, SandboxStatus, sandbox_status
from reduction.isolation.threads import available_cores, check_workers
from reduction.parties import BobAnswer, alice_states, bob_answer
from reduction.public import PublicParams, is_registered_cache

__all__ = ["PartyFailure", "PartyProcess", "ProcessParties", "InlineParties",
           "DEFAULT_TIMEOUT", "MESSAGE_FACTOR", "default_max_message_bytes",
           "worker_limits", "sandbox_record"]

#: The construction's own worker, started when no zoo named one (``module:Class`` only).
_OWN_WORKER = "reduction.isolation.worker"
MESSAGE_FACTOR = 4  # a state may be 4 x the float64 keys and values of the cached tokens
_MESSAGE_SLACK = 1 << 16  # + 64 KiB for headers and tables of small caches
BOB_REQUESTS = 16  # Bob's worker is replaced after this many answers (its CPU budget)
_START_CPU_SECONDS = 120  # Python, numpy and the registry


def default_max_message_bytes(public: PublicParams) -> int:
    """The largest state Alice may send, by default: MESSAGE_FACTOR x 16 d L bytes per head
    (the float64 keys and values of all L cached tokens of each of the D * H heads), plus
    64 KiB.

    >>> from reduction.schedule import Schedule
    >>> p = PublicParams(Schedule.parse("1,2,4"), 32, 0.5, 0.1, 0, "exact", {})
    >>> default_max_message_bytes(p) == 4 * 16 * 5 * 32 + 65536
    True
    """
    # every one of the D * H heads holds its own cached tokens (docs/theorem.md#c2-run)
    return (MESSAGE_FACTOR * 16 * public.n_heads * public.schedule.cached_tokens * public.d
            + _MESSAGE_SLACK)


def worker_limits(timeout: float, requests: int, threads: int | None = None) -> Limits:
    """A worker's limits: half the memory a run may use (resources.MEMORY_FRACTION), at
    least 4 GiB of address space; CPU for ``requests`` exchanges of ``timeout`` seconds on
    every core (plus its start-up)."""
    memory = physical_memory_bytes() or (16 << 30)
    address = max(4 << 30, int(MEMORY_FRACTION * memory / 2))
    cores = max(available_cores(), threads or 1)
    cpu = min(1 << 31, math.ceil(cores * timeout * requests) + _START_CPU_SECONDS)
    return Limits(address_space=address, cpu_seconds=cpu)


def sandbox_record(status: SandboxStatus | None, probed: SandboxStatus,
                   requested: bool | None) -> dict[str, Any]:
    """The record's fields on how workers ran: sandboxed (by what), or why not."""
    sandboxed = status is not None
    reason = None if sandboxed else ("--no-sandbox" if requested is False else probed.reason)
    return {"isolation": "process", "sandbox": sandboxed,
            "sandbox_tool": probed.tool if sandboxed else None,
            "sandbox_filter": bool(sandboxed and probed.seccomp),
            "unsandboxed_because": reason}


def _sandbox_choice(sandbox: bool | None) -> tuple[SandboxStatus | None, SandboxStatus]:
    """(the status workers start with, or None for plain processes; the probed one)."""
    status = sandbox_status()
    if sandbox is False or not status.available:
        return None, status
    return status, status


class ProcessParties:
    """Alice and Bob in worker processes; use as a context manager.

    ``sandbox``: None (default) sandboxes the workers where this machine can and runs
    registered caches only where it cannot; False runs every cache in plain worker
    processes (``--no-sandbox``). ``max_message_bytes``: the largest state Alice may send
    (default :func:`default_max_message_bytes` of the run's parameters).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, workers: int = 1,
                 blas_threads: int | None = None, *, sandbox: bool | None = None,
                 max_message_bytes: int | None = None) -> None:
        self.workers = check_workers(workers)
        timeout = check_timeout(timeout)
        self.max_message_bytes = None if max_message_bytes is None else check_int_at_least(
            max_message_bytes, "max_message_bytes", 1)
        self.requested_sandbox = sandbox
        self.status, self.probed = _sandbox_choice(sandbox)
        module = cachespec.worker_module() or _OWN_WORKER
        threads = max(self.workers, blas_threads or 1)
        self.alice = ForkedParty("alice", timeout, blas_threads, module=module,
                                  sandbox=self.status,
                                  limits=worker_limits(timeout, 2, threads))
        self.bob = PartyProcess("bob", timeout, blas_threads, module=module,
                                sandbox=self.status,
                                limits=worker_limits(timeout, BOB_REQUESTS, threads))
        self.alice_runs_left: int | None = None  # known: no spare Alice after the last

    def __enter__(self) -> ProcessParties:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Kill both workers; return once they, and all they started, are gone."""
        self.alice.end()
        self.bob.end()

    def start(self) -> None:
        """Start both workers now, so their start-up overlaps the verifier's planning."""
        self.alice.start()
        self.bob.start()

    def plan(self, seeds: int) -> None:
        """Say how many seeds Alice will serve (no spare worker is started after them)."""
        self.alice_runs_left = check_int_at_least(seeds, "seeds", 1)

    def record(self, public: PublicParams | None = None) -> dict[str, Any]:
        """How the parties ran: sandbox (tool, filter) or why not, limits, and the
        message limit (of ``public``'s run)."""
        return {**sandbox_record(self.status, self.probed, self.requested_sandbox),
                "limits": {"alice": self.alice.limits.to_json() if self.alice.limits else None,
                           "bob": self.bob.limits.to_json() if self.bob.limits else None},
                "max_message_bytes": (self.message_limit(public) if public is not None
                                      else self.max_message_bytes)}

    def _allowed(self, cache: str) -> None:
        """Refuse a ``module:Class`` cache without a sandbox unless asked for explicitly."""
        if self.status is None and self.requested_sandbox is None \
                and not is_registered_cache(cache):
            raise InvalidArgument(
                f"cache {cache!r} is third-party code and cannot be sandboxed here: "
                f"{self.probed.reason}; install bubblewrap (Debian/Ubuntu: apt-get install "
                "bubblewrap) or pass --no-sandbox to run it in plain worker processes")

    def message_limit(self, public: PublicParams) -> int:
        """The largest state Alice may send in this run, in bytes."""
        return (default_max_message_bytes(public) if self.max_message_bytes is None
                else self.max_message_bytes)

    def check(self, public: PublicParams) -> None:
        """Resolve the cache and its options in a worker (InvalidArgument if bad)."""
        self._allowed(public.cache)
        self.alice.exchange(REQ_CHECK, {"public": public.to_json()}, [], cache=public.cache,
                            max_bytes=0, max_segments=0)

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]:
        """Alice's state after each scale 1..K-1, as received from her process; her
        process is gone when this returns."""
        self._allowed(public.cache)
        x = np.asarray(bits)
        header = {"public": public.to_json(), "cache_seed": int(cache_seed),
                  "shape": list(x.shape)}
        payload = (np.packbits(x.astype(np.uint8)) if public.bits_per_value is None
                   else x.astype("<u2"))
        boundaries = len(public.schedule.block_bounds) - 1
        limit = self.message_limit(public)
        try:
            answer = self.alice.exchange(REQ_ALICE, header, [payload.tobytes()],
                                         cache=public.cache, max_bytes=boundaries * limit,
                                         max_segments=boundaries, max_segment=limit)
        finally:
            self._retire_alice()
        if len(answer.segments) != boundaries:
            raise PartyFailure(f"cache {public.cache!r}: Alice's answer has "
                               f"{len(answer.segments)} states, expected {boundaries}")
        return answer.segments

    def _retire_alice(self) -> None:
        """Kill Alice's worker: it and everything it started are gone on return. Her
        zygote stays for the next seed (and is killed with the parties)."""
        self.alice.finish()
        if self.alice_runs_left is not None:
            self.alice_runs_left -= 1
            if self.alice_runs_left <= 0:
                self.alice.end()

    def bob_answer(self, message: bytes, public: PublicParams,
                   tokens: Iterable[int] | None = None) -> BobAnswer:
        """Bob's outputs for ``tokens``, computed in his process from ``message`` alone,
        with his claim of the largest |logit| his cache computed."""
        self._allowed(public.cache)
        token_list = None if tokens is None else [int(t) for t in tokens]
        rows = public.bit_rows if token_list is None else len(token_list)
        header = {"public": public.to_json(), "tokens": token_list, "workers": self.workers}
        if self.bob.requests >= BOB_REQUESTS:
            self.bob.end()  # its CPU budget is spent: a fresh worker
        answer = self.bob.exchange(REQ_BOB, header, [message], cache=public.cache,
                                   max_bytes=8 * rows * public.d)
        return BobAnswer(_outputs_from(answer, rows, public.d, public.cache),
                         _logit_claim(answer, public.cache))

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray:
        """Bob's outputs for ``tokens`` (:meth:`bob_answer` without the claim)."""
        return self.bob_answer(message, public, tokens).outputs


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
        raise PartyFailure(f"cache {cache!r}: Bob's max_abs_logit {claim!r:.80} is not a "
                           "number >= 0, null or \"inf\"")
    return float(claim)


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

    def plan(self, seeds: int) -> None:
        return None

    @staticmethod
    def record(public: PublicParams | None = None) -> dict[str, Any]:
        return {"isolation": "inline", "sandbox": False, "sandbox_tool": None,
                "sandbox_filter": False, "unsandboxed_because": "inline (this process)",
                "limits": None, "max_message_bytes": None}

    def alice_states(self, bits: np.ndarray, public: PublicParams,
                     cache_seed: int) -> list[bytes]:
        self._registered(public)
        with _as_cache_fault(public.cache):
            return alice_states(bits, public, np.random.default_rng(cache_seed))

    def bob_answer(self, message: bytes, public: PublicParams,
                   tokens: Iterable[int] | None = None) -> BobAnswer:
        self._registered(public)
        with _as_cache_fault(public.cache):
            return bob_answer(message, public, tokens, workers=self.workers)

    def bob_outputs(self, message: bytes, public: PublicParams,
                    tokens: Iterable[int] | None = None) -> np.ndarray:
        return self.bob_answer(message, public, tokens).outputs
