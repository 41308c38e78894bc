"""Alice's zygote: one sandboxed process that forks a fresh worker for every seed.

Purpose: Alice's worker must be gone, with everything it started, before Bob is sent
her message (docs/theorem.md#sandbox); starting a sandboxed Python with numpy and the
registry for every seed would cost about a second each. So Alice's sandbox holds a
zygote: our code only, started once, its imports done, non-dumpable (a child cannot read
or write its memory). For each seed the verifier sends it, over a control socket
(UNIX ``SOCK_SEQPACKET``, inherited), ``b"S"`` with two pipe ends: the
request channel and the answer channel of a new child. The zygote forks; the child
closes the control socket, loads the seccomp filter (reduction.isolation.seccomp: no new
process, no ptrace) and serves Alice's requests on the two pipes (reduction.isolation.worker)
until the verifier closes them. The zygote answers ``b"S"``, waits for ``b"E"``, then
kills every other process of its PID namespace (it is process 1 there; outside a
sandbox, the child) and answers ``b"G"``: gone.

A child cannot stop or kill the zygote (the kernel ignores SIGKILL and SIGSTOP sent to a
namespace's process 1 from inside it; the zygote ignores SIGINT) nor trace it (the
filter). If the zygote fails anyway, the verifier kills the whole sandbox.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable

from reduction.isolation.sandbox import harden_verifier
from reduction.isolation.seccomp import install_filter

__all__ = ["serve_zygote", "SPAWN", "SPAWNED", "END", "GONE", "READY"]

READY, SPAWN, SPAWNED, END, GONE = b"R", b"S", b"s", b"E", b"G"


def _reap(child: int) -> None:
    """Kill the child and whatever it left; return once all are collected."""
    try:
        if os.getpid() == 1:  # process 1 of the sandbox's PID namespace: everyone else
            os.kill(-1, signal.SIGKILL)
        else:  # no sandbox: the child (the filter kept it from starting others)
            os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _child(serve: Callable[[int, int], None], channel: list[int]) -> None:
    install_filter()  # it stays in the zygote's process group: killed with it
    serve(channel[0], channel[1])


def serve_zygote(serve: Callable[[int, int], None], control_fd: int) -> None:
    """Fork a child running ``serve(request_fd, answer_fd)`` for each spawn request."""
    harden_verifier()  # a child of the same user cannot read or write this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = socket.socket(fileno=control_fd)
    control.send(READY)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 2)
        except OSError:
            return
        if message != SPAWN or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            return
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                _child(serve, fds)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        control.send(SPAWNED)
        try:
            message = control.recv(16)
        except OSError:
            message = b""
        _reap(pid)
        if message != END:
            return
        control.send(GONE)
