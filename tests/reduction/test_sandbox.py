"""The sandbox itself (docs/theorem.md#sandbox): what a worker can reach, and what not.

Each test starts a small Python script in the sandbox of reduction.isolation.sandbox, as a
worker is started, and reads what it saw. A worker that writes outside its sandbox,
reads /proc of the verifier, signals or traces it, starts a process, talks on the network
or shares /tmp with the next worker gets nothing. Where bubblewrap is missing these
tests are skipped, and say so (the suite's summary lists them as skipped with the reason).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reduction.instance import make_instance
from reduction.isolation.parties import ProcessParties
from reduction.isolation.sandbox import Limits, Worker, sandbox_status
from reduction.regime import plan_regime
from reduction.schedule import Schedule

STATUS = sandbox_status()
pytestmark = pytest.mark.skipif(
    not STATUS.available, reason=f"no sandbox on this machine: {STATUS.reason}")
ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, *, seccomp: bool = True, limits: Limits | None = None,
         env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in the sandbox; it prints one JSON object, returned here."""
    worker = Worker([sys.executable, "-c", code], {**os.environ, **(env or {})},
                    status=STATUS, limits=limits, seccomp=seccomp)
    try:
        assert worker.proc.stdin is not None and worker.proc.stdout is not None
        worker.proc.stdin.close()
        out = worker.proc.stdout.read()
        worker.proc.wait(timeout=60)
    finally:
        worker.kill()
    return json.loads(out.decode().strip().splitlines()[-1])


_TRY = '''
import json, os, sys
def attempt(f):
    try:
        r = f()
        return "ok" if r is None else str(r)
    except BaseException as exc:
        return type(exc).__name__
'''


def test_the_file_system_is_read_only_and_tmp_is_private(tmp_path: Path) -> None:
    """Writes go nowhere: a file of the repository (a sacrificial one, so a broken
    sandbox harms nothing else), a new file beside it, the caller's /tmp."""
    target = ROOT / "tests" / f".sandbox-target-{os.getpid()}"
    planted = ROOT / "tests" / f".sandbox-planted-{os.getpid()}"
    target.write_text("kept\n")
    try:
        code = _TRY + f'''
seen = {{
    "source": attempt(lambda: open({str(target)!r}, "a").write("# tampered")),
    "new_file": attempt(lambda: open({str(planted)!r}, "w").write("x = 1")),
    "host_tmp": attempt(lambda: open({str(tmp_path / "x")!r}, "w").write("x")),
    "own_tmp": attempt(lambda: open("/tmp/mine", "w").write("kept here")),
    "shm": attempt(lambda: open("/dev/shm/mine", "w").write("x")),
    "tmp_listing": sorted(os.listdir("/tmp")),
}}
print(json.dumps(seen))
'''
        seen = _run(code)
        assert target.read_text() == "kept\n" and not planted.exists()
    finally:
        target.unlink()
        planted.unlink(missing_ok=True)
    assert seen["source"] == "OSError" and seen["new_file"] == "OSError"
    assert seen["host_tmp"] in ("FileNotFoundError", "OSError")  # not even there
    assert seen["own_tmp"] == "9" and seen["shm"] == "1"  # its own, writable
    assert seen["tmp_listing"] == ["mine"]
    assert not (tmp_path / "x").exists()
    again = _run(_TRY + 'print(json.dumps({"tmp": sorted(os.listdir("/tmp"))}))')
    assert again["tmp"] == []  # the next worker starts with an empty /tmp


def test_a_process_outside_is_out_of_reach() -> None:
    """A process outside the sandbox (a stand-in for the verifier, so that a broken
    sandbox stops it and not this test) is not in the worker's process table: no /proc,
    no signal, no ptrace."""
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pid = victim.pid
        code = _TRY + f'''
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
seen = {{
    "pids": pids,
    "environ": attempt(lambda: open("/proc/{pid}/environ", "rb").read()),
    "mem": attempt(lambda: open("/proc/{pid}/mem", "r+b")),
    "stop": attempt(lambda: os.kill({pid}, signal.SIGSTOP)),
    "probe": attempt(lambda: os.kill({pid}, 0)),
    "ptrace": libc.ptrace(16, {pid}, 0, 0),
    "ptrace_errno": ctypes.get_errno(),
    "parent": os.getppid(),
}}
print(json.dumps(seen))
'''
        seen = _run(code)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    finally:
        victim.kill()
        victim.wait()
    assert state in ("S", "R")  # not stopped (T) nor traced (t)
    assert seen["pids"] == [1] and seen["parent"] == 0  # alone in its namespace
    assert seen["environ"] == "FileNotFoundError" and seen["mem"] == "FileNotFoundError"
    assert seen["stop"] == "ProcessLookupError" and seen["probe"] == "ProcessLookupError"
    assert seen["ptrace"] == -1 and seen["ptrace_errno"] in (1, 3)  # EPERM or ESRCH


@pytest.mark.skipif(STATUS.available and not STATUS.seccomp,
                    reason="no seccomp filter for this machine's architecture")
def test_no_new_process_and_no_trace() -> None:
    code = _TRY + '''
import ctypes, socket, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
box = []
t = threading.Thread(target=lambda: box.append(1)); t.start(); t.join()
seen = {
    "fork": attempt(os.fork),
    "spawn": attempt(lambda: subprocess.Popen(["true"])),
    "thread": len(box),
    "ptrace_me": libc.ptrace(0, 0, 0, 0),
    "unix_socket": attempt(lambda: socket.socket(socket.AF_UNIX)),
    "unshare": attempt(lambda: os.unshare(0x10000000) if hasattr(os, "unshare") else
                       ctypes.CDLL(None, use_errno=True).unshare(0x10000000)),
}
print(json.dumps(seen))
'''
    seen = _run(code)
    assert seen["fork"] == "PermissionError" and seen["spawn"] == "PermissionError"
    assert seen["thread"] == 1 and seen["ptrace_me"] == -1
    assert seen["unix_socket"] == "PermissionError"
    assert seen["unshare"] in ("PermissionError", "-1")


def test_no_network() -> None:
    code = _TRY + '''
import socket
def connect():
    s = socket.socket(); s.settimeout(2); s.connect(("1.1.1.1", 443))
seen = {"connect": attempt(connect)}
print(json.dumps(seen))
'''
    seen = _run(code)
    assert seen["connect"] == "OSError"


def test_the_limits_hold_inside() -> None:
    limits = Limits(address_space=3 << 30, cpu_seconds=123, file_size=5 << 20, open_files=99)
    code = _TRY + '''
import resource
names = ["RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"]
seen = {n: list(resource.getrlimit(getattr(resource, n))) for n in names}
seen["raise"] = attempt(lambda: resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6)))
seen["big_file"] = attempt(lambda: open("/tmp/big", "wb").write(bytes(6 << 20)))
print(json.dumps(seen))
'''
    seen = _run(code, limits=limits)
    assert seen["RLIMIT_AS"] == [3 << 30] * 2 and seen["RLIMIT_CPU"] == [123, 123]
    assert seen["RLIMIT_FSIZE"] == [5 << 20] * 2 and seen["RLIMIT_NOFILE"] == [99, 99]
    assert seen["RLIMIT_CORE"] == [0, 0]
    assert seen["raise"] in ("ValueError", "PermissionError")  # a hard limit cannot rise
    assert seen["big_file"] == "OSError"  # EFBIG (Python ignores SIGXFSZ)
    assert resource.getrlimit(resource.RLIMIT_CPU)[0] != 123  # set on the worker only


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if marker.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_kill_ends_everything_the_worker_started() -> None:
    """Without the filter a worker can fork a daemon; its PID namespace ends with it."""
    marker = f"KVBOUND_SANDBOX_TEST_{os.getpid()}_{time.monotonic_ns()}"
    code = '''
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print("daemon"); sys.stdout.flush()
        time.sleep(600)
    os._exit(0)
print("worker"); sys.stdout.flush()
time.sleep(600)
'''
    worker = Worker([sys.executable, "-c", code], {**os.environ, marker: "1"}, status=STATUS,
                    limits=None, seccomp=False)
    assert worker.proc.stdout is not None
    said = {worker.proc.stdout.readline().strip(), worker.proc.stdout.readline().strip()}
    assert said == {b"daemon", b"worker"}
    assert len(_processes_with(marker)) >= 3  # bubblewrap, the worker and its daemon
    worker.kill()
    assert _processes_with(marker) == []  # gone when kill() returns, the daemon too


def _children(pid: int) -> list[int]:
    found = []
    for entry in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            found.append(int(entry))
    return found


def test_alices_worker_is_gone_before_bob_is_asked() -> None:
    """Her states received, Alice's child has ended: her zygote has no child left."""
    import caches  # noqa: F401  (the registry: the workers resolve "exact")

    regime = plan_regime(Schedule.parse("1,2,4"), 32, 0.75, 0.25)
    public = regime.public(7, "exact", {})
    bits = make_instance(public.n_carriers, 32, 0).bits
    with ProcessParties(timeout=60) as parties:
        for seed in range(2):
            states = parties.alice_states(bits, public, seed)
            zygote = parties.alice.pid
            assert zygote is not None and states
            assert _children(zygote) == []
        assert parties.bob_answer(states[-1], public).outputs.shape == (5, 32)
