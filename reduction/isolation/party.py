"""One party's worker process, as the verifier holds it: started, asked, ended.

Purpose: the process boundary of docs/theorem.md#reduction and #sandbox. A
:class:`PartyProcess` starts a worker (``python -m <worker module> <role>``) in the
sandbox of :mod:`reduction.isolation.sandbox` (or, where the caller allows it, as a plain
process with the same resource limits), waits for it to say it is ready (its start-up
is not the cache's time), then exchanges frames with it (:mod:`reduction.isolation.frames`)
under a deadline of ``timeout`` seconds per request. Answers are read with the limits
the caller states: a header of a few KiB, the number of segments expected, the bytes
allowed per segment. Whatever goes wrong on the worker's side (it hangs, dies, sends a
malformed or oversized answer, reports a failure) becomes one :class:`PartyFailure`
line naming the cache, and the worker is killed; the next request starts a fresh one.
:meth:`PartyProcess.end` returns only once the worker and everything it left are gone.
"""

from __future__ import annotations

import math
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lowerbound.validation import InvalidArgument
from reduction.errors import CacheFault
from reduction.isolation.cache_path import child_environment
from reduction.isolation.frames import (
    REPLY_HEADER_BYTES,
    RES_BAD_INPUT,
    RES_OK,
    Frame,
    FrameError,
    FrameTimeout,
    encode_frame,
    read_frame,
    write_all,
)
from reduction.isolation.sandbox import (
    Limits,
    SandboxError,
    SandboxStatus,
    Worker,
    one_line,
)
from reduction.isolation.threads import check_workers
from reduction.isolation.zygote import END, GONE, READY, SPAWN, SPAWNED

__all__ = ["PartyFailure", "PartyProcess", "ForkedParty", "check_timeout",
           "DEFAULT_TIMEOUT", "MIN_TIMEOUT", "MAX_TIMEOUT", "STARTUP_TIMEOUT", "BOOT"]

DEFAULT_TIMEOUT = 900.0  # seconds per exchange with a worker
MIN_TIMEOUT = 1.0  # shorter deadlines measure the machine, not the cache: refused
MAX_TIMEOUT = 7 * 24 * 3600.0
STARTUP_TIMEOUT = 300.0  # a worker's own start-up (Python, numpy, the registry)
BOOT = str(Path(__file__).with_name("boot.py"))  # how a worker starts (its own imports)


class PartyFailure(CacheFault):
    """A party's worker failed, hung, died or answered with a malformed frame."""


def check_timeout(timeout: float, name: str = "timeout") -> float:
    """``timeout`` in seconds, in [MIN_TIMEOUT, MAX_TIMEOUT] (InvalidArgument otherwise).

    >>> check_timeout(60)
    60.0
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not math.isfinite(timeout) or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise InvalidArgument(
            f"{name}={timeout!r} must be a number of seconds in [{MIN_TIMEOUT:g}, "
            f"{MAX_TIMEOUT:g}] (one request to a party's worker: a shorter deadline "
            "would time the machine, not the cache)")
    return float(timeout)


class PartyProcess:
    """One party's worker process, killed after a failure and started afresh."""

    def __init__(self, role: str, timeout: float = DEFAULT_TIMEOUT,
                 blas_threads: int | None = None, *, module: str,
                 sandbox: SandboxStatus | None = None, limits: Limits | None = None) -> None:
        if role not in ("alice", "bob", "cache"):
            raise InvalidArgument(f"role={role!r}; choose 'alice', 'bob' or 'cache'")
        self.role, self.timeout = role, check_timeout(timeout)
        self.blas_threads = None if blas_threads is None else check_workers(
            blas_threads, "blas_threads")
        self.module, self.sandbox, self.limits = module, sandbox, limits
        self.requests = 0  # answered by the current worker
        self._worker: Worker | None = None
        self._ready = False

    @property
    def name(self) -> str:
        return {"alice": "Alice's", "bob": "Bob's", "cache": "the cache's"}[self.role]

    @property
    def pid(self) -> int | None:
        """The running worker's pid as this process sees it (None: none running)."""
        return None if self._worker is None else self._worker.pid

    def _environment(self) -> dict[str, str]:
        env = child_environment()  # finds module:Class where the verifier would
        if self.blas_threads is not None:  # read by OpenBLAS / MKL / OpenMP at load
            for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
                env[name] = str(self.blas_threads)
        return env

    def _launch(self, extra: list[str], **kwargs: Any) -> Worker:
        argv = [sys.executable, "-E", "-B", BOOT, self.module, *extra, self.role]
        try:
            return Worker(argv, self._environment(), status=self.sandbox,
                          limits=self.limits, **kwargs)
        except (OSError, SandboxError) as exc:
            raise SandboxError(f"cannot start {self.name} worker process: "
                               f"{one_line(str(exc))}") from None

    def start(self) -> Worker:
        """The running worker, started now if there is none (it starts in the background)."""
        if self._worker is None:
            self._worker = self._launch([])
            self._ready, self.requests = False, 0
        return self._worker

    def end(self) -> None:
        """Kill the worker (if any) and everything it left; return once they are gone."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    close = end

    def _fail(self, worker: Worker, who: str, what: str) -> PartyFailure:
        tail = worker.stderr_tail()
        self.end()
        return PartyFailure(one_line(f"{who} {what}{tail}", 1200))

    def _channel(self, who: str) -> tuple[Worker, int, int]:
        """The worker, and the fds its requests go to and its answers come from."""
        worker = self.start()
        assert worker.proc.stdin is not None and worker.proc.stdout is not None
        if not self._ready:
            try:
                hello = read_frame(worker.proc.stdout.fileno(), max_bytes=0,
                                   deadline=time.monotonic() + STARTUP_TIMEOUT,
                                   max_header=REPLY_HEADER_BYTES, max_segments=0)
            except FrameTimeout:
                raise self._fail(worker, who, f"did not start within {STARTUP_TIMEOUT:g} "
                                 "s; it was stopped") from None
            except (FrameError, EOFError, OSError) as exc:
                raise self._fail(worker, who, f"did not start ({type(exc).__name__}: "
                                 f"{exc})") from None
            if hello is None or hello.kind != RES_OK or hello.header.get("ready") != self.role:
                raise self._fail(worker, who, f"did not start (exit code "
                                 f"{worker.exit_code()})")
            self._ready = True
        return worker, worker.proc.stdin.fileno(), worker.proc.stdout.fileno()

    def exchange(self, kind: int, header: dict[str, Any], segments: list[bytes], *,
                 cache: str, max_bytes: int, max_segments: int = 1,
                 max_segment: int | None = None, timeout: float | None = None) -> Frame:
        """Send one request; return the worker's OK answer, read within the limits given
        (InvalidArgument if the worker refused the parameters, PartyFailure otherwise).
        ``timeout`` overrides the party's deadline for this request."""
        who = f"cache {cache!r}: {self.name} process"
        worker, fd_in, fd_out = self._channel(who)
        seconds = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + seconds
        try:
            write_all(fd_in, encode_frame(kind, header, segments), deadline)
            answer = read_frame(fd_out, max_bytes=max_bytes, deadline=deadline,
                                max_header=REPLY_HEADER_BYTES, max_segments=max_segments,
                                max_segment=max_segment)
        except FrameTimeout:
            flag = "--timeout" if timeout is None else "the check's limit"
            raise self._fail(worker, who, f"did not answer within {seconds:g} s ({flag}); "
                             "it was stopped") from None
        except FrameError as exc:
            raise self._fail(worker, who, f"sent a malformed or oversized answer ({exc}); "
                             "it was stopped") from None
        except (EOFError, OSError):
            answer = None
        if answer is None:
            code = self._exit_code(worker)
            raise self._fail(worker, who, f"died (exit code {code})")
        self.requests += 1
        if answer.kind == RES_OK:
            return answer
        error = one_line(str(answer.header.get("error", "no error text")), 1000)
        if answer.kind == RES_BAD_INPUT:
            raise InvalidArgument(error)
        raise PartyFailure(one_line(f"{who} failed: {error}", 1200))

    def _exit_code(self, worker: Worker) -> int | None:
        try:  # it closed its channel: collect its exit code if it is leaving
            return worker.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None


class ForkedParty(PartyProcess):
    """Alice: a zygote in the sandbox forks a fresh worker per seed
    (reduction.isolation.zygote); :meth:`finish` kills it and all it started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._control: socket.socket | None = None
        self._child: tuple[int, int] | None = None  # (request fd, answer fd)

    def start(self) -> Worker:
        if self._worker is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self._worker = self._launch(["zygote", str(theirs.fileno())],
                                            pass_fds=[theirs.fileno()], seccomp=False)
            finally:
                theirs.close()
            self._control, self._ready, self.requests = ours, False, 0
        return self._worker

    def _talk(self, worker: Worker, who: str, send: bytes | None, want: bytes,
              fds: list[int] | None = None) -> None:
        control = self._control
        assert control is not None
        try:
            if send is not None:
                if fds:
                    socket.send_fds(control, [send], fds)
                else:
                    control.send(send)
            ready, _, _ = select.select([control], [], [], STARTUP_TIMEOUT)
            got = control.recv(16) if ready else b""
        except OSError:
            got = b""
        if got != want:
            raise self._fail(worker, who, f"(its zygote) did not answer {want!r} (exit code "
                             f"{worker.exit_code()})")

    def _channel(self, who: str) -> tuple[Worker, int, int]:
        worker = self.start()
        if not self._ready:
            self._talk(worker, who, None, READY)
            self._ready = True
        if self._child is None:
            request_r, request_w = os.pipe()
            answer_r, answer_w = os.pipe()
            try:
                self._talk(worker, who, SPAWN, SPAWNED, [request_r, answer_w])
            finally:
                os.close(request_r)
                os.close(answer_w)
            self._child = (request_w, answer_r)
        return worker, self._child[0], self._child[1]

    def _exit_code(self, worker: Worker) -> int | None:
        return None

    def finish(self) -> None:
        """End the current child (and everything it started); return once it is gone.
        The zygote stays, ready for the next seed; if it fails, the sandbox is killed."""
        child, self._child = self._child, None
        if child is None:
            return
        for fd in child:
            os.close(fd)
        worker = self._worker
        if worker is not None:
            try:
                self._talk(worker, "Alice's zygote", END, GONE)
            except PartyFailure:
                pass  # _fail killed the sandbox: the child is gone with it

    def end(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            for fd in child:
                os.close(fd)
        control, self._control = self._control, None
        super().end()
        if control is not None:
            control.close()
