"""Hostile caches through the real CLI: each attack ends in exit 3 (leak) or a clear error.

docs/theorem.md#feasible and #fano: the information check is exact for every error rate;
docs/theorem.md#reduction: Alice and Bob run in worker processes, the verifier counts the
bytes it receives and never imports third-party cache code. The caches are in
tests/hostile_caches.py, which this module deliberately does NOT import.

Most of them keep their state in a file; the sandbox (docs/theorem.md#sandbox) gives
each worker its own empty /tmp and a read-only file system, which cuts that channel (the
last test). The tests of the information check therefore run them with ``--no-sandbox``,
where the file crosses from Alice to Bob and the check is what catches them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kvbound.cli import EXIT_BOUND_VIOLATED, EXIT_CACHE_FAILED, main
from reduction.isolation.frames import RES_FAILURE, read_frame

HOSTILE = "tests.hostile_caches"
SMALL = ["--schedule", "1,2,4", "--d", "32", "--quiet", "--json", "--timeout", "60"]
FILE_CHANNEL = "--no-sandbox"  # the file leaks cross only between unsandboxed workers
N = 5 * 32


@pytest.fixture(autouse=True)
def _leak_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KVBOUND_LEAK_PATH", str(tmp_path / "hidden.npz"))


def _verify(capsys: pytest.CaptureFixture[str], cache: str, *extra: str) -> tuple[int, str, str]:
    code = main(["verify", *SMALL, "--cache", f"{HOSTILE}:{cache}", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_inverted_answers_are_a_leak(capsys: pytest.CaptureFixture[str]) -> None:
    """Bob wrong on every bit knows every bit: Fano credits N bits, never clamped."""
    code, out, _ = _verify(capsys, "InvertingLeak", FILE_CHANNEL)
    record = json.loads(out)
    assert record["bit_errors"] == N and record["error_rate"] == 1.0
    assert record["information_bits"] == N
    assert code == EXIT_BOUND_VIOLATED and record["bound_respected"] is False


def test_a_lying_len_is_not_counted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _verify(capsys, "LyingBytesLeak", FILE_CHANNEL)
    record = json.loads(out)
    assert record["message_bits"] == 64  # what Bob received, not what __len__ claimed
    assert code == EXIT_BOUND_VIOLATED


def test_seed_recovery_without_side_channel_is_a_leak(capsys: pytest.CaptureFixture[str]) -> None:
    """Bob regenerates X from the public keys' seed: 64 message bits, 0 errors: caught."""
    code, out, _ = _verify(capsys, "SeedRecovery")
    record = json.loads(out)
    assert record["bit_errors"] == 0 and record["message_bits"] == 64
    assert code == EXIT_BOUND_VIOLATED


def test_the_verifier_never_imports_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    """A module that rewrites the verdict on import only rewrites its own worker."""
    sys.modules.pop(HOSTILE, None)
    os.environ.pop("KVBOUND_HOSTILE_REWRITER_IMPORTED", None)
    code, out, _ = _verify(capsys, "VerdictRewriter", FILE_CHANNEL)
    assert HOSTILE not in sys.modules
    assert "KVBOUND_HOSTILE_REWRITER_IMPORTED" not in os.environ
    assert code == EXIT_BOUND_VIOLATED and json.loads(out)["message_bits"] == 64


def test_the_attack_sweep_never_imports_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.modules.pop(HOSTILE, None)
    code = main(["attack", "--schedule", "1,2,4", "--d", "32", "--seeds", "1", "--quiet",
                 "--no-plot", "--out", str(tmp_path), "--caches",
                 f"{HOSTILE}:VerdictRewriter", FILE_CHANNEL])
    capsys.readouterr()
    assert HOSTILE not in sys.modules and code == EXIT_BOUND_VIOLATED


def test_printing_to_stdout_does_not_break_the_channel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _verify(capsys, "Chatty", FILE_CHANNEL)
    assert json.loads(out)["bit_errors"] == 0
    assert code == EXIT_BOUND_VIOLATED  # it leaks through its file; the run completed


def test_a_hanging_cache_times_out_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--schedule", "1,2,4", "--d", "32", "--quiet", "--timeout", "3",
                 "--cache", f"{HOSTILE}:Hanging"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_CACHE_FAILED
    assert f"{HOSTILE}:Hanging" in err and "did not answer within 3 s" in err
    assert len(err.splitlines()) == 1


def test_a_dying_cache_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _verify(capsys, "Dying")
    assert code == EXIT_CACHE_FAILED
    assert f"{HOSTILE}:Dying" in err and "died" in err and "dying cache" in err


def test_bytearray_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _verify(capsys, "ByteArray")
    assert code == EXIT_CACHE_FAILED  # the cache broke its contract: its fault, named
    assert "to_bytes() returned bytearray; it must return bytes" in err


def test_the_file_leak_is_cut_by_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """Sandboxed, Alice's file is written (if at all) in her own /tmp: Bob finds nothing,
    and the run ends as a fault naming the cache, not as a pass."""
    code, out, err = _verify(capsys, "InvertingLeak")
    assert code == EXIT_CACHE_FAILED and out == ""
    assert f"{HOSTILE}:InvertingLeak" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("garbage", [b"NOPE" + bytes(40), b"KVF1\x63" + bytes(8), b"KVF1"])
def test_a_malformed_frame_is_answered(garbage: bytes) -> None:
    """The worker answers a bad frame with a failure frame, then exits cleanly."""
    proc = subprocess.Popen([sys.executable, "-m", "reduction.isolation.worker", "bob"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(garbage)
    proc.stdin.close()
    ready = read_frame(proc.stdout.fileno(), max_bytes=0, deadline=None)
    assert ready is not None and ready.header == {"ready": "bob"}
    answer = read_frame(proc.stdout.fileno(), max_bytes=0, deadline=None)
    assert proc.wait(timeout=30) == 0
    assert answer is not None and answer.kind == RES_FAILURE
    assert "malformed request" in answer.header["error"]
