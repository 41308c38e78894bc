"""The seccomp filter of the sandboxed workers: threads yes, new processes no.

Purpose: the process limit and the last line against the verifier of
docs/theorem.md#reduction's isolation. bubblewrap loads this classic-BPF program
(``bwrap --seccomp FD``) just before it starts the worker, and it holds for the worker
and every thread it creates; nothing the cache does can lift it. The program

* kills the process on a foreign system-call ABI (32-bit calls on a 64-bit kernel, the
  x32 ABI), so no other syscall table can bypass it;
* answers ``clone3`` with ENOSYS (the C library then creates threads with ``clone``,
  whose flags a classic filter can read) and allows ``clone`` only with CLONE_THREAD:
  the worker may run threads (BLAS, Bob's ``--workers``) but never a new process, so
  nothing it starts can outlive it;
* refuses with EPERM ``fork`` and ``vfork``; ``ptrace`` and ``process_vm_readv/writev``
  (reading or writing another process); ``unshare`` and ``setns`` (new or other
  namespaces); the kernel keyrings (``add_key``, ``request_key``, ``keyctl``: state shared
  by the processes of one user); and UNIX-domain sockets (``socket(AF_UNIX)``: a network
  namespace does not hide a socket bound to a path).

Bob's worker gets the filter from bubblewrap; Alice's workers are children of a zygote
(reduction.isolation.zygote), which must fork, so each child loads the filter itself
(:func:`install_filter`) before it reads its request. Linux on x86_64 and aarch64 (their
system-call numbers below, from the kernel's ``arch/x86/entry/syscalls/syscall_64.tbl``
and ``include/uapi/asm-generic/unistd.h``); elsewhere :func:`seccomp_program` returns
None and the sandbox runs without the filter (its record says so).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

__all__ = ["seccomp_program", "install_filter", "FILTERED_CALLS"]

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS = 0x7FFF0000, 0x80000000
_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
_X32_BIT = 0x40000000
# offsets in struct seccomp_data: int nr; u32 arch; u64 ip; u64 args[6]
_NR, _ARCH, _ARG0_LOW = 0, 4, 16
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2

FILTERED_CALLS = ("fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
                  "unshare", "setns", "add_key", "request_key", "keyctl")

_TABLES: dict[str, tuple[int, bool, dict[str, int]]] = {
    "x86_64": (0xC000003E, True, {
        "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "unshare": 272, "setns": 308,
        "add_key": 248, "request_key": 249, "keyctl": 250, "socket": 41}),
    "aarch64": (0xC00000B7, False, {
        "clone": 220, "clone3": 435, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "unshare": 97, "setns": 268, "add_key": 217,
        "request_key": 218, "keyctl": 219, "socket": 198}),
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _errno(code: int) -> int:
    return 0x00050000 | code


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The filter as ``struct sock_filter`` records, or None on an unsupported machine.

    >>> len(seccomp_program("x86_64")) % 8, seccomp_program("sparc") is None
    (0, True)
    """
    table = _TABLES.get(platform.machine() if machine is None else machine)
    if table is None:
        return None
    audit_arch, has_x32, nr = table
    ops = [_op(_LD_W_ABS, _ARCH), _op(_JEQ, audit_arch, 1, 0), _op(_RET, _KILL_PROCESS),
           _op(_LD_W_ABS, _NR)]
    if has_x32:
        ops += [_op(_JGE, _X32_BIT, 0, 1), _op(_RET, _KILL_PROCESS)]
    ops += [_op(_JEQ, nr["clone3"], 0, 1), _op(_RET, _errno(errno.ENOSYS))]
    for name in FILTERED_CALLS:
        if name in nr:
            ops += [_op(_JEQ, nr[name], 0, 1), _op(_RET, _errno(errno.EPERM))]
    # socket(domain, ...): refuse AF_UNIX (the accumulator is reloaded: only on this path)
    ops += [_op(_JEQ, nr["socket"], 0, 4), _op(_LD_W_ABS, _ARG0_LOW),
            _op(_JEQ, _AF_UNIX, 0, 1), _op(_RET, _errno(errno.EPERM)), _op(_RET, _ALLOW)]
    # clone(flags, ...): threads only
    ops += [_op(_JEQ, nr["clone"], 0, 4), _op(_LD_W_ABS, _ARG0_LOW),
            _op(_JSET, _CLONE_THREAD, 1, 0), _op(_RET, _errno(errno.EPERM)),
            _op(_RET, _ALLOW)]
    ops.append(_op(_RET, _ALLOW))
    return b"".join(ops)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter() -> bool:
    """Load :func:`seccomp_program` into this process (and its future threads) with
    ``prctl``; the zygote's children do this before they read a request. False when the
    machine has no program or the kernel refused it."""
    program = seccomp_program()
    if program is None:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    rules = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(len(program) // 8, ctypes.cast(rules, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return int(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog),
                          0, 0)) == 0
