"""Issue 7's "small ones": limits that used to crash, hang or pass silently.

* the exact-binomial d_min is exact (same as the definition's linear scan) and fast at
  small eps; eps = 1e-7 is a clean error; d_min resolves its floor at any eps;
* d >= 65536 is refused by the caches whose header stores d in 16 bits;
* the C1 bound survives eps^2 d / 2 > 709 (no float overflow);
* unknown cache options are refused, naming the valid ones;
* output paths are checked before the run; JSON is strict; runs that cannot fit in
  memory are refused up front with the estimate.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kvbound.commands.attack as attack_cmd
import kvbound.commands.verify as verify_cmd
from caches import CACHES, declared_options
from caches.exact import ExactCache
from kvbound.cli import main
from lowerbound.bound import low_dimension_bound_bits
from lowerbound.jl import (
    d_min,
    d_min_exact,
    exact_candidates,
    exact_failure_bound,
    max_keys,
    pair_count,
)
from proofs.certificates import certify_d_min
from reduction.cache import CacheParams
from reduction.isolation import resources
from reduction.isolation.resources import check_run_fits, estimate_run
from reduction.message import Writer
from reduction.protocol import PublicParams
from reduction.schedule import Schedule
from tests.caches.test_cache_contract import _params


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, message: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("kvbound: error:")
    assert message in err


# -- d_min, exact and fast ----------------------------------------------------------------

def _linear_scan(n_keys: int, eps: Fraction | float) -> int:
    """The definition, literally: walk down from the Hoeffding d_min while good."""
    d = d_min(n_keys, eps)
    while d > 1 and exact_failure_bound(n_keys, eps, d - 1) < 1:
        d -= 1
    return d


@given(st.integers(2, 3000), st.fractions(Fraction(1, 5), Fraction(19, 20)))
def test_d_min_exact_is_the_linear_scan(n_keys: int, eps: Fraction) -> None:
    assert d_min_exact(n_keys, eps) == _linear_scan(n_keys, eps)


@pytest.mark.parametrize("eps", [0.75, 0.5, 0.3, Fraction(1, 7)])
def test_d_min_exact_is_the_linear_scan_for_float_eps(eps: float | Fraction) -> None:
    for n_keys in (3, 424, 1216):
        assert d_min_exact(n_keys, eps) == _linear_scan(n_keys, eps)


@given(st.fractions(Fraction(1, 20), Fraction(19, 20)), st.integers(1, 150),
       st.integers(0, 150))
def test_candidates_dominate_every_dimension(eps: Fraction, bottom: int, width: int) -> None:
    """Every d in [bottom, top] has a candidate c >= d with P(...) at c >= at d (exact)."""
    top = bottom + width
    cands = set(exact_candidates(eps, top, bottom).tolist())
    assert top in cands and cands <= set(range(bottom, top + 1))
    tail = {d: exact_failure_bound(3, eps, d) for d in range(bottom, top + 1)}
    for d in range(bottom, top + 1):
        assert any(tail[c] >= tail[d] for c in cands if c >= d), d


def test_small_eps_is_certified_quickly() -> None:
    """eps = 0.01: d_min ~ 2.3e5; the answer is certified (both ends and every candidate)."""
    cert = certify_d_min(424, Fraction(1, 100))
    assert cert.holds, cert.failures
    assert cert.d_min == 228080 and cert.d_min_exact < cert.d_min


def test_constants_at_small_eps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["constants", "--eps", "0.01", "--d", "230000", "--json"], capsys)
    record = json.loads(out)
    assert code == 0 and record["certified"] is True
    assert record["d_min_exact"] < record["d_min"] == 228080


def test_tiny_eps_is_one_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["constants", "--eps", "1e-7"], capsys)
    _one_line_error(code, err, "d_min = 2280791690743659")
    with pytest.raises(ValueError, match="computed only when d_min <="):
        d_min_exact(424, 1e-7)


@pytest.mark.parametrize("eps", [1e-7, 1e-5, Fraction(1, 3), 0.75])
def test_d_min_is_the_least_d_at_any_eps(eps: float | Fraction) -> None:
    """M exp(-eps^2 d/2) < 1 at d_min and >= 1 at d_min - 1, at 80 digits."""
    dm, m, e = d_min(424, eps), pair_count(424), Fraction(eps)
    with mpmath.workdps(80):
        def union(d: int) -> Any:
            return m * mpmath.exp(-mpmath.mpf(e.numerator) ** 2 * d
                                  / (2 * mpmath.mpf(e.denominator) ** 2))
        assert union(dm) < 1 <= union(dm - 1)


# -- headers, overflow --------------------------------------------------------------------

def test_d_above_16_bits_is_refused_by_the_caches_that_store_it() -> None:
    params = CacheParams(70000, Schedule.parse("1,2"))
    with pytest.raises(ValueError, match=r"d=70000 does not fit its 16-bit header"):
        ExactCache(params)
    for name in ("streaming-llm", "subgen"):
        with pytest.raises(ValueError, match="16-bit header"):
            CACHES[name].cls(params)
    with pytest.raises(ValueError, match="does not fit its 16-bit"):
        Writer().u16(70000)
    CACHES["packer"].cls(params)  # no 16-bit field: any d


def test_d_above_16_bits_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["verify", "--schedule", "1,2", "--d", "70000", "--quiet",
                         "--isolation", "inline"], capsys)
    _one_line_error(code, err, "16-bit header")


def test_low_dimension_bound_past_float_overflow() -> None:
    """eps^2 d / 2 = 1152 > 709: e^1152 overflows a float; the capped L' is L."""
    assert low_dimension_bound_bits(4096, 424, 0.75) == 424 * 4096
    lp = max_keys(2000, 0.75)  # eps^2 d/2 = 562.5: L' ~ sqrt(2) e^281, exact
    with mpmath.workdps(400):
        bound = mpmath.exp(mpmath.mpf(1125) / 2)
        assert pair_count(lp) < bound <= pair_count(lp + 1)
    with pytest.raises(ValueError, match="pass cap"):
        max_keys(10**7, 0.75)


# -- cache options ------------------------------------------------------------------------

def test_unknown_option_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["verify", "--option", "budget=0.5", "--quiet"], capsys)
    _one_line_error(code, err, "cache 'exact' has no option 'budget'; its options are: dtype")
    with pytest.raises(ValueError, match="its options are: budget, recent"):
        _ = PublicParams(Schedule.preset("var-256"), 64, 0.75, 0.25, 0, "h2o",
                         {"budgte": 0.5}).cache_params


class _Recording(CacheParams):
    read: set[str] = set()

    def option(self, name: str, default: Any = None) -> Any:
        _Recording.read.add(name)
        return super().option(name, default)


@pytest.mark.parametrize("name", list(CACHES))
def test_declared_options_are_the_ones_read(name: str) -> None:
    """OPTIONS is honest: construction reads exactly the declared option names."""
    params = _params(name)
    _Recording.read = set()
    CACHES[name].cls(_Recording(params.d, params.schedule, params.options),
                     np.random.default_rng(0))
    assert _Recording.read == declared_options(CACHES[name].cls)


# -- output paths, strict JSON ------------------------------------------------------------

def _no_run(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the run started before the output path was checked")


@pytest.mark.parametrize("flag", ["--out", "--report", "--figure"])
def test_verify_output_paths_are_checked_first(flag: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(verify_cmd, "run_verification", _no_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = _cli(["verify", flag, str(blocker / "out.json")], capsys)
    _one_line_error(code, err, "exists and is not a directory")
    code, _, err = _cli(["verify", flag, str(tmp_path)], capsys)
    _one_line_error(code, err, "is a directory; give a file name")


def test_attack_output_dir_is_checked_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(attack_cmd, "run_sweep", _no_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        code, _, err = _cli(["attack", "--out", str(out)], capsys)
        _one_line_error(code, err, "is not a directory")


def _strict(text: str) -> Any:
    def bad(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=bad)


def test_verify_json_is_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One cached token: no pair of keys, max inner product -inf: written as null."""
    out = tmp_path / "v.json"
    code, printed, _ = _cli(["verify", "--schedule", "1,2", "--d", "8", "--json", "--quiet",
                             "--isolation", "inline", "--out", str(out)], capsys)
    assert code == 0
    for text in (printed, out.read_text()):
        record = _strict(text)
        assert record["max_inner_product"] is None


def test_attack_json_is_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = _cli(["attack", "--schedule", "1,2", "--d", "8", "--caches",
                             "exact,packer", "--seeds", "1", "--out", str(tmp_path),
                             "--no-plot", "--quiet", "--isolation", "inline", "--json"],
                            capsys)
    assert code == 0
    _strict(printed)
    _strict((tmp_path / "attack-001" / "attack.json").read_text())


# -- sizes that cannot fit ----------------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["verify", "--schedule", "1,1000", "--d", "2048"], "GiB"),
    (["verify", "--seeds", "1000000000"], "exceeds 1000000"),
    (["attack", "--schedule", "1,1000", "--d", "2048", "--caches", "exact"], "GiB"),
])
def test_runs_that_cannot_fit_are_refused_up_front(argv: list[str], message: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(verify_cmd, "run_verification", _no_run)
    monkeypatch.setattr(attack_cmd, "run_sweep", _no_run)
    code, _, err = _cli(argv, capsys)
    _one_line_error(code, err, message)


def test_memory_estimate_grows_with_the_sizes_and_names_them() -> None:
    small = estimate_run(Schedule.preset("var-256"), 64, rate=3e10)
    big = estimate_run(Schedule.preset("var-256"), 128, rate=3e10)
    assert big.total > small.total and big.seconds > small.seconds
    with pytest.raises(ValueError, match=r"needs about .* GiB \(bob .*verifier"):
        check_run_fits(Schedule.parse("1,1000"), 2048, available=8 * 2**30, rate=3e10)
    assert check_run_fits(Schedule.preset("var-256"), 64, available=8 * 2**30).total > 0
    assert math.isfinite(small.total)


def test_a_long_run_is_announced_and_a_long_but_fitting_run_is_not_refused(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Estimated over 30 s: one line on stderr before the run (memory and time), even
    with --quiet; time alone never refuses a run."""
    monkeypatch.setattr(verify_cmd, "run_verification", _reached)
    monkeypatch.setattr(resources, "gemm_rate", lambda d=128, repeats=3: 1e6)  # a slow box
    code, _, err = _cli(["verify", "--schedule", "var-512", "--d", "64", "--quiet"], capsys)
    assert code == 1 and "RunReached" in err  # estimated, announced, then run (not refused)
    assert "needs about" in err and " MiB and " in err and (" min " in err or " h " in err)
    monkeypatch.setattr(resources, "gemm_rate", lambda d=128, repeats=3: 1e12)
    code, _, err = _cli(["verify", "--schedule", "var-512", "--d", "64", "--quiet"], capsys)
    assert code == 1 and "RunReached" in err and "needs about" not in err


class RunReached(Exception):
    """Raised in place of the run: the command got that far."""


def _reached(*args: Any, **kwargs: Any) -> Any:
    raise RunReached


_PEAK = (
    "import json, resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "print(json.dumps({'rc': r.returncode,\n"
    "                  'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
)


def test_the_memory_estimate_is_within_a_quarter_of_a_measured_run() -> None:
    """var-1024, d = 128, exact-fp16, Bob in his own process: the estimate of the largest
    process against the peak RSS measured (the largest of the three processes)."""
    schedule, d = Schedule.preset("var-1024"), 128
    argv = [sys.executable, "-m", "kvbound", "verify", "--schedule", "var-1024", "--d",
            str(d), "--cache", "exact-fp16", "--json", "--quiet", "--workers", "1"]
    got = json.loads(subprocess.run([sys.executable, "-c", _PEAK, *argv], check=True,
                                    capture_output=True, text=True).stdout)
    assert got["rc"] == 0
    measured = got["rss"] * 1024  # kilobytes on Linux
    est = estimate_run(schedule, d, state_bytes_per_token=verify_cmd.state_bytes_per_token(
        "exact-fp16", None, d), rate=3e10)
    assert 0.75 * measured <= est.largest_process <= 1.25 * measured, (est, measured)
