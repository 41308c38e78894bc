"""The student's kit: third-party caches found in the current directory, ``check-cache``,
the built-in ``noisy`` cache, and the worked-answer caches of examples/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from caches import CACHES
from caches.noisy import NoisyCache
from kvbound.cli import main
from reduction.cache import CacheParams
from reduction.errors import CacheFault
from reduction.isolation import cache_path
from reduction.protocol import run_verification
from reduction.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KVBOUND = Path(sys.executable).parent / "kvbound"  # the console script of this venv
TINY = Schedule.parse("1,2,3,4")


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """resolve_cache puts the current directory on sys.path; undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def _console(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(KVBOUND), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


# -- module:Class from the current directory ------------------------------------------------

def test_console_script_finds_a_cache_in_the_current_directory() -> None:
    """The issue's must-show: ``cd examples && kvbound verify --cache every_other:... --json``
    runs (Bob's process finds the module too), and check-cache passes."""
    proc = _console("verify", "--cache", "every_other:EveryOtherCache", "--json", "--quiet",
                    cwd=EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["bound_respected"] is True
    assert abs(record["runs"][0]["error_rate"] - 0.25) < 0.01
    check = _console("check-cache", "every_other:EveryOtherCache", cwd=EXAMPLES)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "9 of 9 checks passed" in check.stdout


def test_a_cache_elsewhere_is_not_found(tmp_path: Path) -> None:
    proc = _console("verify", "--cache", "every_other:EveryOtherCache", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot import cache module 'every_other'" in proc.stderr


def test_child_environment_puts_the_current_directory_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = cache_path.child_environment({"PYTHONPATH": "/elsewhere"})
    parts = env["PYTHONPATH"].split(os.pathsep)
    assert parts[0] == str(tmp_path) and "/elsewhere" not in parts
    assert cache_path.cache_import_path()[0] == str(tmp_path)


def test_verify_imports_from_the_current_directory_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "kit_copy.py").write_text((EXAMPLES / "sign_cache.py").read_text())
    monkeypatch.chdir(tmp_path)
    sys.path[:] = [p for p in sys.path if p not in ("", str(tmp_path))]
    code = main(["verify", "--schedule", "1,2,4", "--d", "32", "--json", "--quiet",
                 "--cache", "kit_copy:SignCache"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["bit_errors"] == 0 and record["message_bits"] == 8 * (14 + 2 * 20)


# -- check-cache ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["sign_cache:SignCache", "noisy"])
def test_check_cache_passes(spec: str, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(EXAMPLES)
    assert main(["check-cache", spec, "--fuzz", "40"]) == 0
    assert "9 of 9 checks passed" in capsys.readouterr().out


def test_check_cache_certifies_a_leak(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """FileStash keeps the contract (8 checks pass) but hides the cache in a file: the
    reduction run's certificate (docs/theorem.md#certificate) names the leak, exit 3
    (unsandboxed: the sandbox cuts the file channel, a fault)."""
    monkeypatch.chdir(EXAMPLES)
    code = main(["check-cache", "hidden_state:FileStash", "--fuzz", "40", "--no-sandbox"])
    out = capsys.readouterr().out
    assert code == 3 and "8 of 9 checks passed" in out
    assert "LEAK  no leak (one seed of the reduction, Lemma CERT): leak certified" in out


def test_check_cache_fails_a_broken_cache(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-cache", "tests.caches.test_cache_contract:_Sloppy", "--fuzz", "40"])
    out = capsys.readouterr().out
    assert code == 4  # a broken contract is the cache's fault
    assert "FAIL  rejects foreign bytes" in out and "checks passed" in out
    # every failure comes with how to fix it
    fails = [i for i, line in enumerate(out.splitlines()) if "FAIL" in line]
    assert fails and all(out.splitlines()[i + 1].strip().startswith("fix: ") for i in fails)
    assert "reduction.message.frame" in out and "docs/caches.md" in out


def test_check_cache_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-cache", "no_such_module_xyz:Cls"]) == 2
    assert main(["check-cache", "noisy", "--option", "noise=1.5"]) == 2
    assert main(["check-cache", "exact", "--d", "0"]) == 2
    err = capsys.readouterr().err
    assert "cannot import" in err and "noise=1.5" in err and "--d=0" in err


# -- the noisy cache (Lemma L3's demonstration) -------------------------------------------

def test_noisy_cache_is_registered_with_its_options() -> None:
    entry = CACHES["noisy"]
    assert entry.cls is NoisyCache and entry.options == {"noise": 0.25, "dtype": "float64"}


@pytest.mark.parametrize("eta", [0.0, 0.1, 0.5, 0.9])
def test_noisy_cache_has_relative_error_at_most_eta(eta: float) -> None:
    params = CacheParams(8, TINY, {"noise": eta, "dtype": "float64"})
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(30, 8)), rng.normal(size=(30, 8)), rng.normal(size=(30, 8))
    noisy = NoisyCache(params, np.random.default_rng(2))
    exact = CACHES["exact-fp64"].cls(CacheParams(8, TINY, {"dtype": "float64"}))
    z_hat, z = noisy.process(q, k, v), exact.process(q, k, v)
    rel = np.abs(z_hat - z) / np.abs(z)
    assert rel.max() <= eta + 1e-12
    if eta > 0:
        assert rel.max() > 0.8 * eta  # the noise is really there, up to eta


def test_noisy_cache_decodes_within_its_design_and_errs_beyond() -> None:
    s = Schedule.preset("var-256")
    within = run_verification(s, 64, 0.75, 0.25, [0], cache="noisy",
                              options={"noise": 0.25}, isolation="inline")
    beyond = run_verification(s, 64, 0.75, 0.25, [0], cache="noisy",
                              options={"noise": 0.9}, isolation="inline")
    assert within.bit_errors == 0 and within.bound_respected
    assert beyond.bit_errors > 0 and beyond.bound_respected
    # exercise 10: P(u < tau - 1) / 2 for u uniform on [-0.9, 0.9]
    predicted = (0.9 - (1 - beyond.public.tau)) / 1.8 / 2
    assert abs(beyond.runs[0].error_rate - predicted) < 0.008


def test_noisy_cache_bad_noise() -> None:
    for eta in (-0.1, 1.0, "x", True):
        with pytest.raises(ValueError, match="noisy cache noise"):
            NoisyCache(CacheParams(8, TINY, {"noise": eta}))


def test_the_old_option_name_is_refused_with_the_new_one(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--option eta=`` was the noisy cache's error, beside Bob's ``--eta``: now ``noise=``."""
    assert main(["verify", "--cache", "noisy", "--option", "eta=0.5", "--schedule", "1,2,3",
                 "--d", "16", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'eta' is now 'noise'" in err and "noise=0.5" in err and "--eta" in err


# -- the worked-answer caches ---------------------------------------------------------------

def test_hidden_state_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    s = Schedule.parse("1,2,4")
    stash = run_verification(s, 32, 0.75, 0.25, [0], cache="hidden_state:GlobalStash")
    assert stash.bound_respected and stash.runs[0].error_rate > 0.3  # nothing crossed
    with pytest.raises(ValueError, match="third-party code"):  # one process: refused
        run_verification(s, 32, 0.75, 0.25, [0], cache="hidden_state:GlobalStash",
                         isolation="inline")
    with pytest.raises(CacheFault, match="FileStash"):  # sandboxed: the file never crosses
        run_verification(s, 32, 0.75, 0.25, [0], cache="hidden_state:FileStash")
    leak = run_verification(s, 32, 0.75, 0.25, [0], cache="hidden_state:FileStash",
                            sandbox=False)
    assert leak.bit_errors == 0 and leak.message_bits == 64 and not leak.bound_respected
