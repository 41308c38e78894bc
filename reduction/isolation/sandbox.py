"""The sandbox a party's worker runs in: bubblewrap namespaces, a seccomp filter, limits.

Purpose: a cache is untrusted code (docs/theorem.md#reduction, #sandbox), and the verdict
must not depend on its manners. Each worker process is started as

    bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-net --unshare-uts
          --cap-drop ALL --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
          --tmpfs /dev/shm --tmpfs /run --die-with-parent --new-session --as-pid-1
          --seccomp FD -- python -m <worker module> alice|bob|cache

so the worker and its threads hold no capability; see the file system read-only, with
their own empty /tmp, /dev/shm and /run; have a process table of their own (the verifier
is not in it: it cannot be signalled, stopped, traced or read through /proc); have no
network and share no System V or POSIX IPC; cannot start a process, trace one or make
a namespace (the filter of :mod:`reduction.isolation.seccomp`); and die with the
verifier. The worker is process 1 of its PID namespace: when it ends, the kernel kills
whatever else is in the namespace, and :meth:`Worker.kill` returns only once it has
ended. The verifier sets the worker's resource limits (address space, file size, CPU
seconds, open files, no core file) with ``prlimit`` as soon as it exists, before the
worker reads its first request; the worker cannot raise them.

:func:`sandbox_status` probes once per process whether this works here (bubblewrap
installed, user namespaces allowed). Where it does not, workers are plain processes in a
session of their own, with the same limits; who may then run is decided by
:mod:`reduction.isolation.parties` (registered caches, or an explicit ``--no-sandbox``).
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from reduction.isolation.seccomp import seccomp_program

__all__ = ["Limits", "SandboxStatus", "SandboxError", "Worker", "sandbox_status",
           "harden_verifier", "one_line", "BWRAP_ENV", "TMPFS_BYTES"]

BWRAP_ENV = "KVBOUND_BWRAP"  # the bubblewrap executable to use (default: bwrap on PATH)
TMPFS_BYTES = 64 << 20  # the worker's private /tmp and /dev/shm, each
_MASKED = ("/tmp", "/dev/shm", "/run")  # empty file systems of the worker's own
_SETUP_SECONDS = 60.0  # bubblewrap's own set-up (namespaces, mounts) takes milliseconds
_EXIT_SECONDS = 60.0  # a killed process leaves at once unless the kernel is stuck


class SandboxError(RuntimeError):
    """The sandbox could not be set up: a problem of this machine, not of the cache."""


def one_line(text: str, limit: int = 600) -> str:
    """``text`` as one printable line of at most ``limit`` characters (what a worker
    writes may hold newlines or terminal escapes; the verifier prints one line).

    >>> one_line("a\\n\\x1b[2Jb  c")
    'a [2Jb c'
    """
    clean = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(clean.split())[-limit:]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker (soft = hard: the worker cannot raise them)."""

    address_space: int  # bytes of virtual memory (RLIMIT_AS)
    cpu_seconds: int  # CPU time over the worker's life, all its threads (RLIMIT_CPU)
    file_size: int = 64 << 20  # the largest file it may write, its stderr included
    open_files: int = 256

    def apply(self, pid: int) -> None:
        """Set the limits of process ``pid`` (from outside, with ``prlimit``); a limit the
        worker inherited lower (the verifier's own) stays."""
        for which, value in ((resource.RLIMIT_AS, self.address_space),
                             (resource.RLIMIT_CPU, self.cpu_seconds),
                             (resource.RLIMIT_FSIZE, self.file_size),
                             (resource.RLIMIT_NOFILE, self.open_files),
                             (resource.RLIMIT_CORE, 0)):
            hard = resource.prlimit(pid, which)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.prlimit(pid, which, (value, value))

    def to_json(self) -> dict[str, int]:
        return {"address_space_bytes": self.address_space, "cpu_seconds": self.cpu_seconds,
                "file_size_bytes": self.file_size, "open_files": self.open_files}


@dataclass(frozen=True)
class SandboxStatus:
    """Whether workers can be sandboxed here, by what, and why not."""

    available: bool
    tool: str  # e.g. "bubblewrap 0.8.0"
    seccomp: bool  # the filter of reduction.isolation.seccomp is loaded
    sized: bool = True  # /tmp and /dev/shm are bounded tmpfs (else read-only)
    reason: str = ""  # why not, when not available

    def describe(self) -> str:
        """One line for the report, e.g. "bubblewrap 0.8.0: namespaces, read-only ..."."""
        if not self.available:
            return f"none ({self.reason})"
        parts = ["own user, PID, IPC, network namespaces", "no capabilities",
                 "read-only file system", "private /tmp and /dev/shm"]
        if self.seccomp:
            parts.append("no new processes")
        return f"{self.tool}: {', '.join(parts)}, resource limits"

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.available, "tool": self.tool or None,
                "seccomp": self.seccomp, "reason": self.reason or None}


def _bwrap() -> str | None:
    name = os.environ.get(BWRAP_ENV, "bwrap")
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name)


def _version(bwrap: str) -> str:
    try:
        text = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "bubblewrap"
    return one_line(text) or "bubblewrap"


def _under_masked(path: str) -> bool:
    return any(path == m or path.startswith(m + os.sep) for m in _MASKED)


def visible_paths(cwd: str, search_path: Sequence[str]) -> list[str]:
    """Directories the worker reads that lie under a masked one (/tmp, /run, /dev/shm):
    its working directory, its module search path and its Python; bound read-only."""
    wanted = {os.path.realpath(p) for p in (cwd, *search_path, sys.prefix, sys.base_prefix,
                                            os.path.dirname(sys.executable)) if p}
    inside = sorted(p for p in wanted if _under_masked(p) and os.path.isdir(p))
    return [p for p in inside if not any(p.startswith(q + os.sep) for q in inside)]


def bwrap_arguments(bwrap: str, cwd: str, visible: Sequence[str], status_fd: int,
                    seccomp_fd: int | None, sized: bool) -> list[str]:
    """The bubblewrap command line before ``--`` and the worker's own."""
    args = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for mount in _MASKED:
        args += (["--size", str(TMPFS_BYTES), "--tmpfs", mount] if sized
                 else ["--tmpfs", mount, "--remount-ro", mount])  # no size limit: read-only
    for path in visible:
        args += ["--ro-bind", path, path]
    args += ["--chdir", cwd, "--die-with-parent", "--new-session", "--as-pid-1",
             "--json-status-fd", str(status_fd)]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    return [*args, "--"]


class Worker:
    """A started worker: its channel (``stdin``, ``stdout``), its pid as this process
    sees it, its stderr (a temporary file) and its end (:meth:`kill`)."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *,
                 status: SandboxStatus | None, limits: Limits | None,
                 cwd: str | None = None, pass_fds: Sequence[int] = (),
                 seccomp: bool = True) -> None:
        self.sandboxed = status is not None
        self._pass_fds, self._seccomp = tuple(pass_fds), seccomp
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self._status_pipe: IO[bytes] | None = None
        self._pidfd: int | None = None
        here = os.getcwd() if cwd is None else cwd
        if status is None:
            self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.stderr,
                                         env=dict(env), cwd=here, start_new_session=True,
                                         pass_fds=self._pass_fds)
            self.pid = self.proc.pid
        else:
            self.proc, self.pid = self._launch(list(argv), env, here, status)
        try:
            if limits is not None:
                limits.apply(self.pid)
        except OSError as exc:
            self.kill()
            raise SandboxError(f"cannot set a worker's resource limits ({exc})") from None

    def _launch(self, argv: list[str], env: Mapping[str, str], cwd: str,
                status: SandboxStatus) -> tuple[subprocess.Popen[bytes], int]:
        bwrap = _bwrap()
        if bwrap is None:
            raise SandboxError("bubblewrap (bwrap) is no longer installed")
        program = seccomp_program() if status.seccomp and self._seccomp else None
        status_r, status_w = os.pipe()
        fds = [status_w, *self._pass_fds]
        rules = None
        if program is not None:
            rules = tempfile.TemporaryFile()
            rules.write(program)
            rules.seek(0)
            fds.append(rules.fileno())
        search = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        args = bwrap_arguments(bwrap, cwd, visible_paths(cwd, search), status_w,
                               None if rules is None else rules.fileno(), status.sized)
        try:
            proc = subprocess.Popen([*args, *argv], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=self.stderr,
                                    env=dict(env), pass_fds=fds)
        except OSError:
            os.close(status_r)
            raise
        finally:
            os.close(status_w)
            if rules is not None:
                rules.close()
        self._status_pipe = os.fdopen(status_r, "rb")
        self.proc = proc
        pid = self._child_pid()
        if pid is None:
            proc.kill()
            proc.wait()
            raise SandboxError(f"bubblewrap did not start the worker{self.stderr_tail()}")
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it ended already, and its namespace with it
            self._pidfd = None
        return proc, pid

    def _child_pid(self) -> int | None:
        """The worker's pid from bubblewrap's first status line (None if it failed)."""
        assert self._status_pipe is not None
        ready, _, _ = select.select([self._status_pipe], [], [], _SETUP_SECONDS)
        if not ready:
            return None
        try:
            doc = json.loads(self._status_pipe.readline(4096).decode())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        pid = doc.get("child-pid") if isinstance(doc, dict) else None
        return pid if type(pid) is int and pid > 0 else None

    def stderr_tail(self, size: int = 600) -> str:
        """"; its stderr ends: ..." on one line, or "" (nothing written)."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            end = self.stderr.tell()
            self.stderr.seek(max(0, end - 4 * size))
            text = one_line(self.stderr.read().decode(errors="replace"), size)
        except (OSError, ValueError):
            return ""
        return f"; its stderr ends: {text}" if text else ""

    def exit_code(self) -> int | None:
        """The worker's exit code once it has ended (bubblewrap passes it on), else None."""
        return self.proc.poll()

    def kill(self) -> None:
        """Kill the worker and all it left; return once they have ended."""
        if self.sandboxed:
            if self._pidfd is not None:
                try:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                select.select([self._pidfd], [], [], _EXIT_SECONDS)  # readable: it ended
            self.proc.kill()  # bubblewrap itself, waiting for process 1 of the namespace
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its session: what it started
            except ProcessLookupError:
                pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self._status_pipe, self.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def harden_verifier() -> bool:
    """Make this process non-dumpable (Linux ``prctl(PR_SET_DUMPABLE, 0)``): a process of
    the same user can then neither ptrace it nor read or write its memory through /proc.
    True when it took effect."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(4, 0, 0, 0, 0)) == 0  # 4 = PR_SET_DUMPABLE
    except (OSError, AttributeError):
        return False


def _probe(status: SandboxStatus) -> str:
    """"" when a sandboxed Python starts here, else why not."""
    try:
        worker = Worker([sys.executable, "-S", "-c", "pass"], os.environ, status=status,
                        limits=None)
    except (OSError, SandboxError) as exc:
        return str(exc)
    try:
        code = worker.proc.wait(timeout=_SETUP_SECONDS)
    except subprocess.TimeoutExpired:
        code = None
    tail = worker.stderr_tail()
    worker.kill()
    return "" if code == 0 else f"a sandboxed Python exited with code {code}{tail}"


@functools.cache
def sandbox_status() -> SandboxStatus:
    """Probe once per process: can a worker run in the sandbox here, and how?"""
    bwrap = _bwrap()
    if bwrap is None:
        return SandboxStatus(False, "", False, reason="bubblewrap (bwrap) is not installed")
    tool, seccomp = _version(bwrap), seccomp_program() is not None
    reason = ""
    for sized in (True, False):  # an old bubblewrap has no --size
        status = SandboxStatus(True, tool, seccomp, sized)
        reason = _probe(status)
        if not reason:
            return status
    return SandboxStatus(False, tool, False, reason=f"bubblewrap cannot start a sandbox "
                         f"here ({reason})")
