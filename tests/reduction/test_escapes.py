"""Caches that attack the verifier, through the real CLI: the verdict stands.

docs/theorem.md#sandbox. Each cache of tests/reduction/escaping_caches.py leaks (Bob
regenerates X from the public keys: the honest verdict is exit code 3) and attacks the
verifier on top: it rewrites the verifier's source, plants packages on its search path,
traces or stops it, rewrites its outputs after the verdict, cheats ``check-cache``, forges
frames or sends a huge message. The attacks that could stop or replace the verifier run
in a separate ``kvbound`` process with a deadline, so a verifier that is stopped or hangs
fails the test instead of hanging it; the others run ``kvbound.cli.main`` in this
process, which also measures what the verifier allocated. A run ends in exit code 3 (the
leak) or 4 (a fault naming the cache), never 0, never a traceback, and nothing of the
run's workers is left afterwards.

Where an attack does not depend on the sandbox to fail, the same cache also runs with
``--no-sandbox``: the attack then does its damage (the files are written: it is real),
and the verdict still stands because the verifier loaded its code before any worker
started (kvbound.verifier). Tests that need the sandbox are skipped where bubblewrap is
missing, and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from kvbound.cli import main
from kvbound.exit_codes import EXIT_BOUND_VIOLATED, EXIT_CACHE_FAILED
from reduction.isolation.sandbox import sandbox_status

ROOT = Path(__file__).resolve().parents[2]
CACHES = "tests.reduction.escaping_caches"
SMALL = ["--schedule", "1,2,4", "--d", "32", "--quiet", "--timeout", "60"]
STATUS = sandbox_status()
sandboxed = pytest.mark.skipif(not STATUS.available,
                               reason=f"no sandbox on this machine: {STATUS.reason}")
# The verifier puts its own pid where the attacks look for it, runs the command, and
# reports its peak resident memory (kB) on the last line of stderr.
_RUN = ("import os, resource, sys; os.environ['KVBOUND_ATTACK_PID'] = str(os.getpid()); "
        "from kvbound.cli import main; code = main(sys.argv[1:]); "
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)")


def _cli(args: list[str], *, cwd: Path, marker: str, pythonpath: Path = ROOT,
         extra_env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr without the PEAK line, peak kB) of one verifier run."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "KVBOUND_ATTACK_MARKER": marker,
           "KVBOUND_ATTACK_ROOT": str(cwd), **(extra_env or {})}
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)
    lines = proc.stderr.strip().splitlines()
    peak = int(lines[-1].split()[1]) if lines and lines[-1].startswith("PEAK") else -1
    err = "\n".join(line for line in lines if not line.startswith("PEAK"))
    return proc.returncode, proc.stdout, err, peak


def _leftovers(marker: str) -> list[int]:
    """Processes whose environment carries ``marker``: what a run left behind."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if f"KVBOUND_ATTACK_MARKER={marker}".encode() in Path(
                    f"/proc/{pid}/environ").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture
def marker(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"


def _one_line_fault(code: int, err: str, cache: str) -> None:
    assert code == EXIT_CACHE_FAILED, err
    assert cache in err and len(err.splitlines()) == 1 and "Traceback" not in err


def _tree_copy(tmp_path: Path) -> Path:
    """A copy of the code a verifier runs, so a successful attack harms only the copy."""
    copy = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "coq", "*.vo", "*.glob")
    for package in ("lowerbound", "reduction", "caches", "variants", "proofs", "kvbound"):
        shutil.copytree(ROOT / package, copy / package, ignore=skip)
    (copy / "tests" / "reduction").mkdir(parents=True)
    for name in ("tests/__init__.py", "tests/leaky_cache.py", "tests/reduction/__init__.py",
                 "tests/reduction/escaping_caches.py"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def _digest(tree: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(tree.rglob("*.py")):
        h.update(str(path.relative_to(tree)).encode() + path.read_bytes())
    return h.hexdigest()


@sandboxed
def test_rewriting_the_verifiers_source_changes_nothing(tmp_path: Path, marker: str) -> None:
    tree = _tree_copy(tmp_path)
    before = _digest(tree)
    code, _, err, _ = _cli(["verify", *SMALL, "--cache", f"{CACHES}:SourceTamper"],
                           cwd=tree, marker=marker, pythonpath=tree)
    assert code == EXIT_BOUND_VIOLATED, err
    assert _digest(tree) == before  # the file system is read-only in the sandbox
    assert _leftovers(marker) == []


def test_unsandboxed_source_tampering_is_real_and_still_too_late(tmp_path: Path,
                                                                 marker: str) -> None:
    """--no-sandbox: the files are rewritten, yet the verifier loaded them before."""
    tree = _tree_copy(tmp_path)
    before = _digest(tree)
    code, _, err, _ = _cli(["verify", *SMALL, "--no-sandbox", "--cache",
                            f"{CACHES}:SourceTamper"], cwd=tree, marker=marker,
                           pythonpath=tree)
    assert _digest(tree) != before  # the attack is real
    assert "planted by a hostile cache" in (tree / "kvbound/reports/verify.py").read_text()
    assert code == EXIT_BOUND_VIOLATED, err


@pytest.mark.parametrize("sandbox", [pytest.param(True, marks=sandboxed), False])
def test_a_shadow_package_is_not_imported(tmp_path: Path, marker: str,
                                          sandbox: bool) -> None:
    extra = [] if sandbox else ["--no-sandbox"]
    code, _, err, _ = _cli(["verify", *SMALL, *extra, "--cache", f"{CACHES}:ShadowPackage",
                            "--figure", str(tmp_path / "f.png")], cwd=tmp_path,
                           marker=marker)
    planted = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    if sandbox:
        assert planted == []  # the verifier's directory is read-only to the worker
    else:
        assert "scipy" in planted  # planted, first on the verifier's path, too late
    assert code == EXIT_BOUND_VIOLATED, err


@sandboxed
@pytest.mark.parametrize("cache", ["Tracer", "Stopper"])
def test_the_verifier_cannot_be_traced_or_stopped(tmp_path: Path, marker: str,
                                                  cache: str) -> None:
    """A stopped or traced verifier would miss the run's deadline: the test fails."""
    code, _, err, _ = _cli(["verify", *SMALL, "--cache", f"{CACHES}:{cache}"],
                           cwd=tmp_path, marker=marker)
    assert code == EXIT_BOUND_VIOLATED, err
    assert _leftovers(marker) == []  # no daemon outlived the run


@sandboxed
def test_the_sweep_with_worker_processes_holds_too(tmp_path: Path, marker: str) -> None:
    """``attack --workers 2``: every attacker is caught as a leak, nothing is harmed."""
    tree = _tree_copy(tmp_path)
    before = _digest(tree)
    attackers = ",".join(f"{CACHES}:{name}" for name in
                         ("SourceTamper", "ShadowPackage", "Tracer", "Stopper"))
    code, _, err, _ = _cli(["attack", "--schedule", "1,2,4", "--d", "32", "--seeds", "1",
                            "--quiet", "--no-plot", "--workers", "2", "--json", "--out",
                            str(tmp_path / "sweep"), "--caches", attackers], cwd=tree,
                           marker=marker, pythonpath=tree)
    assert code == EXIT_BOUND_VIOLATED, err
    (written,) = (tmp_path / "sweep").glob("attack-*/attack.json")
    record = json.loads(written.read_text())
    assert sorted(record["leaks"]) == sorted(attackers.split(","))
    assert record["sandbox"] is True
    assert _digest(tree) == before and _leftovers(marker) == []


# -- in this process: attacks that could not stop the test if they succeeded ----------------

def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak bytes this process allocated) of one command."""
    tracemalloc.start()
    try:
        code = main(list(args))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    return code, out, err, peak


@sandboxed
def test_outputs_are_not_rewritten_after_the_verdict(
        tmp_path: Path, marker: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out, report = tmp_path / "record.json", tmp_path / "record.json.md"
    monkeypatch.setenv("KVBOUND_ATTACK_OUT", str(out))
    monkeypatch.setenv("KVBOUND_ATTACK_MARKER", marker)
    code, _, err, _ = _main(capsys, "verify", *SMALL, "--cache", f"{CACHES}:OutputRewriter",
                            "--out", str(out), "--report", str(report))
    assert code == EXIT_BOUND_VIOLATED, err
    assert _leftovers(marker) == []  # nothing is left that could write later
    record = json.loads(out.read_text())
    assert record["bound_respected"] is False and "forged" not in record
    assert report.read_text().startswith("# kvbound verify report")


@sandboxed
def test_check_cache_cannot_be_switched_off(capsys: pytest.CaptureFixture[str]) -> None:
    sys.modules.pop(CACHES, None)
    code, out, err, _ = _main(capsys, "check-cache", f"{CACHES}:ContractCheater",
                              "--fuzz", "20")
    assert CACHES not in sys.modules  # the checks ran here, the cache only in its worker
    assert code == EXIT_CACHE_FAILED, err
    assert "FAIL  rejects foreign bytes" in out
    summary = re.search(r"^(\d+) of (\d+) checks passed", out, re.M)
    assert summary is not None and int(summary[1]) < int(summary[2])
    assert "sandboxed" in out


@sandboxed
@pytest.mark.parametrize("cache", ["NestedFrame", "HugeHeader", "HugeSegment", "BadMagic"])
def test_a_forged_answer_is_one_line_and_costs_nothing(
        capsys: pytest.CaptureFixture[str], cache: str) -> None:
    code, _, err, peak = _main(capsys, "verify", *SMALL, "--cache", f"{CACHES}:{cache}")
    _one_line_fault(code, err.strip(), f"{CACHES}:{cache}")
    assert "malformed or oversized answer" in err
    assert peak < 64 << 20  # the 48 MiB header was refused unread


@sandboxed
def test_a_huge_message_is_refused_at_the_size_stated_up_front(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, peak = _main(capsys, "verify", *SMALL, "--cache", f"{CACHES}:HugeMessage")
    _one_line_fault(code, err.strip(), f"{CACHES}:HugeMessage")
    assert "exceeds the 75776-byte limit" in err  # 4 x 16 L d + 64 KiB, L = 5, d = 32
    assert peak < 64 << 20  # the 256 MiB state was never read
    code, _, err, _ = _main(capsys, "verify", *SMALL, "--max-message-bytes", "100")
    _one_line_fault(code, err.strip(), "'exact'")
    assert "exceeds the 100-byte limit" in err
