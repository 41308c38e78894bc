"""The attack sweep (kvbound.experiments) and ``kvbound attack``: every cache, every budget.

docs/theorem.md#feasible: every compressor at every budget stays on the feasible side,
message bits >= N(1 - H2(p)) (Lemma L4 read backwards). These tests run the generic sweep
on a tiny schedule, check the sweep's table of axes against the registry, and the CLI's
files, output and exit codes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from caches import CACHES, CacheEntry, cache_names
from caches.exact import ExactCache
from kvbound.cli import main
from kvbound.experiments import (
    DEFAULT_AXIS,
    SWEEP_AXES,
    SweepAxis,
    SweepResult,
    plan_sweep,
    pooled_information,
    run_sweep,
    sweep_axis,
)
from kvbound.reports.attack import HEADERS, attack_markdown, attack_table
from reduction.cache import CacheParams
from reduction.message import frame
from reduction.schedule import Schedule

TINY = "1,2,3,4"  # L = 14 cached tokens, T_K = 16; d_min(14, 0.75) = 17
D = 32
POINT_FIELDS = {
    "cache", "budget", "message_bits", "bit_errors", "error_rate", "information_bits",
    "information_bits_lcb", "n_bits", "ratio", "feasible", "seeds", "leak", "options",
}


# Every registered cache except the adversaries of the decoding (run through verify).
COMPRESSORS = {name for name in cache_names() if not CACHES[name].adversary}


# -- the budget axis of every registered cache -------------------------------------------

@pytest.mark.parametrize("name", cache_names())
def test_every_registered_cache_has_a_sweep_axis(name: str) -> None:
    """Budgeted caches sweep ``budget``; every other one has an explicit SWEEP_AXES row."""
    entry = CACHES[name]
    if entry.adversary:  # attacks the decoding, not the memory: not in the sweep
        assert name not in SWEEP_AXES
    elif entry.budgeted:
        assert sweep_axis(name).option == "budget"
    else:
        assert name in SWEEP_AXES, (
            f"cache {name!r} takes no budget and has no row in kvbound.experiments.SWEEP_AXES; "
            "add one (option and values, or fixed) so the attack sweep knows its knob"
        )


def test_no_stale_sweep_rows() -> None:
    stale = [n for n in SWEEP_AXES if n not in CACHES]
    assert not stale, f"SWEEP_AXES names unregistered caches {stale}"
    wrong = [n for n in SWEEP_AXES if CACHES[n].budgeted]
    assert not wrong, f"budgeted caches {wrong} must not have a SWEEP_AXES row"


def test_unknown_caches_run_once_with_no_options() -> None:
    entry = sweep_axis("tests.leaky_cache:LeakyCache")
    assert entry == DEFAULT_AXIS and entry.option is None


@pytest.mark.parametrize("schedule,d", [("var-256", 64), ("var-512", 128), (TINY, D)])
def test_plan_covers_every_cache_with_valid_options(schedule: str, d: int) -> None:
    """plan_sweep builds every configuration (bad axis values would raise here)."""
    tasks = plan_sweep(Schedule.parse(schedule), d, None, (0.25, 0.5))
    assert {t.cache for t in tasks} == COMPRESSORS
    for t in tasks:
        if CACHES[t.cache].budgeted:
            assert t.option == "budget" and t.value in (0.25, 0.5)


def test_plan_rejects_bad_input() -> None:
    s = Schedule.parse(TINY)
    with pytest.raises(ValueError, match="budget=0"):
        plan_sweep(s, D, ["exact"], (0,))
    with pytest.raises(ValueError, match="unknown cache 'nosuch'"):
        plan_sweep(s, D, ["nosuch"])
    with pytest.raises(ValueError, match="more than once"):
        plan_sweep(s, D, ["exact", "exact"])
    with pytest.raises(ValueError, match="no budgets"):
        plan_sweep(s, D, ["exact"], ())


class EvenDCache(ExactCache):
    """An exact cache that, like KIVI's group size, needs an even d."""

    def __init__(self, params: CacheParams, rng: Any = None) -> None:
        if params.d % 2:
            raise ValueError(f"d={params.d} must be even")
        super().__init__(params, rng)


def test_caches_whose_options_do_not_fit_are_skipped_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every cache, one that cannot take this d is reported, not run, not fatal."""
    monkeypatch.setitem(CACHES, "even-d", CacheEntry(EvenDCache, {}, "test"))
    monkeypatch.setitem(SWEEP_AXES, "even-d", SweepAxis(None))
    s = Schedule.parse(TINY)
    tasks = plan_sweep(s, 33, None, (0.5,))
    skipped = {t.cache: t.skip for t in tasks if t.skip}
    assert skipped["even-d"] == "d=33 must be even"
    with pytest.raises(ValueError, match="even-d: d=33 must be even"):
        plan_sweep(s, 33, ["even-d"])  # named explicitly: bad input
    r = run_sweep(s, 33, 0.75, 0.25, budgets=(0.5,), seeds=1, isolation="inline")
    point = next(p for p in r.points if p.cache == "even-d")
    assert point.skipped and not point.leak and point.error is None
    assert "even-d" in r.to_json()["skipped"] and not r.failures
    assert "skipped: d=33 must be even" in attack_table(r)


def test_pooled_information_matches_lemma_l4() -> None:
    """N(1 - H2(p)) with p = E / (S N); the confidence bound sits below it."""
    info, lcb = pooled_information(100, 1000, 2)  # p = 0.05
    h = -(0.05 * math.log2(0.05) + 0.95 * math.log2(0.95))
    assert info == pytest.approx(1000 * (1 - h))
    assert 0 < lcb < info
    assert pooled_information(1000, 1000, 2)[0] == 0.0  # p = 1/2: nothing learned


# -- the sweep itself ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_sweep() -> SweepResult:
    """Every registered cache at budgets 0.25 and 0.75, one seed, Bob inline."""
    return run_sweep(Schedule.parse(TINY), D, 0.75, 0.25, budgets=(0.25, 0.75), seeds=1,
                     isolation="inline")


def test_every_cache_runs_and_stays_feasible(tiny_sweep: SweepResult) -> None:
    failed = {p.label: p.error for p in tiny_sweep.failures}
    assert not failed, f"caches failed in the sweep: {failed}"
    assert not tiny_sweep.skipped, [(p.label, p.skipped) for p in tiny_sweep.skipped]
    leaks = [(p.label, p.message_bits, p.information_bits_lcb) for p in tiny_sweep.leaks]
    assert not leaks, f"points on the infeasible side (message bits < lcb): {leaks}"
    assert {p.cache for p in tiny_sweep.points} == COMPRESSORS


def test_point_fields_are_consistent(tiny_sweep: SweepResult) -> None:
    n = tiny_sweep.n_bits
    for p in tiny_sweep.points:
        assert p.n_bits == n
        assert p.error_rate == p.bit_errors / p.bits_decoded
        assert p.ratio == p.message_bits / n
        assert p.information_bits_lcb <= p.information_bits <= n
        assert p.feasible == (p.mean_message_bits >= p.information_bits_lcb)


def test_exact_cache_decodes_every_bit(tiny_sweep: SweepResult) -> None:
    exact = next(p for p in tiny_sweep.points if p.cache == "exact")
    assert exact.bit_errors == 0 and exact.information_bits == tiny_sweep.n_bits


def test_report_renders(tiny_sweep: SweepResult) -> None:
    table = attack_table(tiny_sweep)
    md = attack_markdown(tiny_sweep)
    assert all(h in table for h in HEADERS)
    assert md.count("\n| ") >= len(tiny_sweep.points) + 1
    assert "LEAK" not in table


class BrokenCache:
    """A cache whose from_bytes rejects its own bytes: the sweep records a failure."""

    TAG: ClassVar[bytes] = b"BRKN"

    def __init__(self, params: CacheParams, rng: Any = None) -> None:
        self.d = params.d

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.zeros((np.asarray(queries).shape[0], self.d))

    def to_bytes(self) -> bytes:
        return frame(self.TAG, b"")

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> BrokenCache:
        raise ValueError("this cache cannot read its own bytes")


def test_a_broken_cache_is_a_recorded_failure_not_a_crash() -> None:
    r = run_sweep(Schedule.parse(TINY), D, 0.75, 0.25, seeds=1, isolation="process",
                  caches=["tests.kvbound.test_attack:BrokenCache", "exact"], timeout=60)
    broken, exact = r.points
    assert broken.error is not None and "cannot read its own bytes" in broken.error
    assert not broken.leak and exact.error is None
    assert r.to_json()["failures"] == ["tests.kvbound.test_attack:BrokenCache"]


# -- the command line ---------------------------------------------------------------------

def run_dir(parent: Path) -> Path:
    """The one run folder an attack wrote under ``parent``."""
    found = sorted(parent.glob("attack-*"))
    assert len(found) == 1, found
    return found[0]


def _attack(tmp: Path, *extra: str) -> int:
    return main(["attack", "--schedule", TINY, "--d", str(D), "--seeds", "1", "--quiet",
                 "--out", str(tmp), *extra])


def test_cli_writes_three_files_with_separate_process_bob(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = _attack(tmp_path, "--caches", "exact,exact-fp32", "--budgets", "0.5")
    out = capsys.readouterr().out
    assert rc == 0
    run = run_dir(tmp_path)
    for name in ("attack.json", "attack.md", "attack.png"):
        assert (run / name).stat().st_size > 0, name
    assert (run / "attack.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((run / "attack.json").read_text())
    assert record["isolation"] == "process" and record["all_feasible"] is True
    assert record["n_bits"] == 14 * D
    assert [p["cache"] for p in record["points"]] == ["exact", "exact-fp32"]
    assert all(POINT_FIELDS <= p.keys() for p in record["points"])
    assert "message bits" in out and "all 2 points feasible" in out


def test_cli_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = _attack(tmp_path, "--caches", "exact", "--json", "--isolation", "inline",
                 "--no-plot")
    record = json.loads(capsys.readouterr().out)
    assert rc == 0 and record["points"][0]["bit_errors"] == 0
    assert not (run_dir(tmp_path) / "attack.png").exists()


def test_cli_progress_bar_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["attack", "--schedule", TINY, "--d", str(D), "--seeds", "1", "--out",
               str(tmp_path), "--caches", "exact,exact-fp64", "--isolation", "inline",
               "--no-plot"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "attack [" in err and "2/2" in err


def test_cli_failed_cache_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = _attack(tmp_path, "--caches", "tests.kvbound.test_attack:BrokenCache", "--no-plot")
    assert rc == 4
    assert "FAILED" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--budgets", "0"], "budget=0"),
        (["--budgets", "0.5,abc"], "'abc'"),
        (["--budgets", "1.5"], "budget=1.5"),
        (["--caches", "nosuch"], "unknown cache 'nosuch'"),
        (["--caches", ","], "names no cache"),
        (["--seeds", "0"], "argument --seeds: 0 is not a whole number >= 1"),
        (["--logit-cap", "1"], "no eps fits"),
        (["--eps", "1.5"], "eps=1.5"),
        (["--schedule", "1"], "K=1"),
        (["--caches", "nosuch_module_xyz:Cls"], "cannot import"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    argv = ["attack", "--schedule", TINY, "--d", str(D), "--quiet", "--out", str(tmp_path)]
    rc = main([*argv, *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("kvbound: error:"), err
    assert needle in err
    assert not list(tmp_path.glob("attack-*"))


def test_a_second_run_writes_a_new_folder(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Each run keeps its own files: out/attack-001, out/attack-002, and says so."""
    for _ in range(2):
        assert _attack(tmp_path, "--caches", "exact", "--isolation", "inline",
                       "--no-plot") == 0
    said = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attack-001", "attack-002"]
    first = (tmp_path / "attack-001" / "attack.json").read_text()
    assert json.loads(first)["points"][0]["cache"] == "exact"
    assert f"kvbound attack: wrote {tmp_path / 'attack-002' / 'attack.json'}" in said
