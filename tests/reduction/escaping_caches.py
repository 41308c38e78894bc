"""Hostile caches that attack the verifier itself, one per class of docs/theorem.md#sandbox.

Purpose: the verdict must not be forgeable by a cache that reaches out of its worker.
Every cache here is a :class:`tests.leaky_cache.SeedRecovery`: Bob regenerates Alice's
bits from the public keys and decodes all of them from a 64-bit message, so the honest
verdict is a leak (exit code 3). On top of that each one attacks the verifier, trying to
turn that 3 into a 0 (or to hang it), in the way its name says:

* :class:`SourceTamper` rewrites files of the verifier's own code (found on the search
  path the worker shares with it) so that, imported later, they exit with code 0;
* :class:`ShadowPackage` drops packages named like the verifier's dependencies into the
  current directory, first on the verifier's search path;
* :class:`Tracer` starts a daemon and attaches to the verifier with ptrace;
* :class:`Stopper` sends the verifier SIGSTOP, so no deadline can fire;
* :class:`OutputRewriter` keeps rewriting the ``--out`` record and ``--report`` to say
  the bound held, from a thread and from a daemon that would outlive the run;
* :class:`ContractCheater` switches ``check-cache``'s checks off when imported and prints
  their summary, while its ``from_bytes`` accepts anything;
* :class:`NestedFrame`, :class:`HugeHeader`, :class:`HugeSegment`, :class:`BadMagic`
  write a forged answer on the worker's channel themselves (a recursion bomb of nested
  lists, a 48 MiB header, a segment of 2^40 bytes, no frame at all);
* :class:`HugeMessage` sends a state far beyond the size stated up front.

The verifier's pid and output paths reach the attacks through environment variables the
tests set (``KVBOUND_ATTACK_PID``, ``KVBOUND_ATTACK_OUT``), as if the attacker had found
them. The attacks that write files touch nothing outside ``KVBOUND_ATTACK_ROOT`` (a
copy of the tree, or a temporary directory): where a test runs them without the sandbox
to show they are real, only that copy is harmed. This module patches the verifier's code
when imported (ContractCheater's attack): pytest's collection must not import it
(tests/conftest.py), and the verifier never does.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import json
import os
import signal
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reduction.cache import CacheParams
from tests.leaky_cache import SeedRecovery

__all__ = ["SourceTamper", "ShadowPackage", "Tracer", "Stopper", "OutputRewriter",
           "ContractCheater", "NestedFrame", "HugeHeader", "HugeSegment", "BadMagic",
           "HugeMessage", "EXIT_ZERO", "TAMPERED_MODULES", "SHADOWED"]

EXIT_ZERO = "\nimport os as _os\n_os._exit(0)  # planted by a hostile cache\n"
TAMPERED_MODULES = ("kvbound.reports.verify", "lowerbound.fano", "lowerbound.entropy",
                    "reduction.protocol", "kvbound.verifier")
SHADOWED = ("scipy", "matplotlib", "kvbound_late", "numpy")
_PTRACE_ATTACH, _PTRACE_SEIZE = 16, 0x4206


def _pid() -> int | None:
    text = os.environ.get("KVBOUND_ATTACK_PID", "")
    return int(text) if text.isdigit() else None


def _inside_root(path: str) -> bool:
    """True only for a path inside ``KVBOUND_ATTACK_ROOT`` (never anything else)."""
    root = os.environ.get("KVBOUND_ATTACK_ROOT")
    if not root:
        return False
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real.startswith(top + os.sep)


def _try(action: Any) -> str:
    """Run ``action``; what happened, in one word (the attack goes on regardless)."""
    try:
        action()
        return "done"
    except BaseException as exc:  # noqa: BLE001 - an attacker ignores what fails
        return type(exc).__name__


class _Attack(SeedRecovery):
    """Seed recovery (a leak) plus one attack, run once per process on Alice's side."""

    ran: ClassVar[bool] = False

    def attack(self) -> None:
        raise NotImplementedError

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        if not type(self).ran:
            type(self).ran = True
            self.attack()
        return super().process(queries, keys, values)


class SourceTamper(_Attack):
    """Appends ``os._exit(0)`` to modules of the verifier's code path."""

    def attack(self) -> None:
        for name in TAMPERED_MODULES:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and _inside_root(spec.origin):
                _try(lambda origin=spec.origin: open(origin, "a").write(EXIT_ZERO))


class ShadowPackage(_Attack):
    """Plants packages named like the verifier's imports in the current directory."""

    def attack(self) -> None:
        if not _inside_root(os.path.join(os.getcwd(), "x")):
            return
        for name in SHADOWED:
            def plant(name: str = name) -> None:
                os.makedirs(name, exist_ok=True)
                Path(name, "__init__.py").write_text(EXIT_ZERO)
            _try(plant)


def _ptrace(pid: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.ptrace(_PTRACE_ATTACH, pid, 0, 0))


class Tracer(_Attack):
    """Forks a daemon that attaches to the verifier (stopping it), and tries directly."""

    def attack(self) -> None:
        pid = _pid()
        if pid is None:
            return

        def daemon() -> None:
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    _ptrace(pid)
                    time.sleep(120)
                os._exit(0)
        _try(daemon)
        _try(lambda: _ptrace(pid))


class Stopper(_Attack):
    """Sends SIGSTOP to the verifier (and only to it: were the sandbox broken, a signal
    to every process would stop the whole machine)."""

    def attack(self) -> None:
        pid = _pid()
        if pid is not None:
            _try(lambda: os.kill(pid, signal.SIGSTOP))


_FORGED = {"bound_respected": True, "message_bits": 10**9, "forged": True}


def _rewrite_outputs() -> None:
    out = os.environ.get("KVBOUND_ATTACK_OUT")
    if not out:
        return
    for path in (out, out + ".md"):
        _try(lambda path=path: Path(path).write_text(json.dumps(_FORGED)))


class OutputRewriter(_Attack):
    """Rewrites the outputs from a thread and a daemon, for a minute after it is asked."""

    def attack(self) -> None:
        def keep_rewriting() -> None:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                _rewrite_outputs()
                time.sleep(0.02)

        def daemon() -> None:
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    keep_rewriting()
                os._exit(0)
        _try(daemon)
        threading.Thread(target=keep_rewriting, daemon=True).start()


def _switch_checks_off() -> None:
    """What ContractCheater's module does on import, wherever it is imported."""
    with contextlib.suppress(ImportError):
        import caches.contract as contract

        def all_pass(cls: Any, params: Any, **kwargs: Any) -> list[Any]:
            names = ["stream outputs", "round trip", "rejects foreign bytes", "fuzz"]
            return [contract.ContractOutcome(n, True, "") for n in names]

        contract.run_contract = all_pass  # type: ignore[assignment]
    print("8 of 8 checks passed")


_switch_checks_off()


class ContractCheater:
    """Accepts any bytes in ``from_bytes`` (a broken contract), after switching the checks
    off in the process that imported it."""

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.zeros_like(np.asarray(queries, dtype=np.float64))

    def to_bytes(self) -> bytes:
        return b"CHEAT"

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> ContractCheater:
        return cls(params)


def _answer_channels() -> list[int]:
    """The worker's pipes open for writing: its answer channel among them."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") and \
                    fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                found.append(fd)
    return found


class _Forger(SeedRecovery):
    """Bob writes a forged answer on his channel himself, then leaves."""

    def forged(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> SeedRecovery:
        forged = cls(params).forged()  # type: ignore[attr-defined]
        for fd in _answer_channels():
            _try(lambda fd=fd: os.write(fd, forged))
        sys.stderr.flush()
        os._exit(0)


def _prefix(header_length: int) -> bytes:
    return b"KVF1" + struct.pack("<BI", 16, header_length)


class NestedFrame(_Forger):
    """A header of 4000 nested JSON lists: a recursion bomb for a JSON parser."""

    def forged(self) -> bytes:
        text = b"[" * 2000 + b"]" * 2000
        return _prefix(len(text)) + text + struct.pack("<H", 0)


class HugeHeader(_Forger):
    """A 48 MiB header: a JSON list of 24 million zeros (parsed, about a gigabyte)."""

    def forged(self) -> bytes:
        text = b"[" + b"0," * ((24 << 20) - 1) + b"0]"
        return _prefix(len(text)) + text + struct.pack("<H", 0)


class HugeSegment(_Forger):
    """A well-formed header, then a segment that announces 2^40 bytes."""

    def forged(self) -> bytes:
        text = json.dumps({"shape": [1, 1], "max_abs_logit": None}).encode()
        return _prefix(len(text)) + text + struct.pack("<HQ", 1, 1 << 40)


class BadMagic(_Forger):
    """Bytes that are not a frame at all."""

    def forged(self) -> bytes:
        return b"HTTP/1.1 200 OK\r\n\r\n" + bytes(64)


class HugeMessage(SeedRecovery):
    """Alice's state is 256 MiB, far beyond the size stated up front."""

    def to_bytes(self) -> bytes:
        return bytes(256 << 20)
