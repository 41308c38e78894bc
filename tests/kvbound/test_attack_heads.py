"""``kvbound attack`` and ``verify`` on D * H heads (docs/theorem.md#c2-run, #alloc).

The sweep over the registry: every registered cache that handles many heads itself is in
``attack --heads``'s default sweep (read from the registry, no names listed here), and
every BUDGETED one of them, an eviction policy, lands within +-0.02 of the eviction law
(1 - f)/2 at three budgets (f the kept fraction of all D*H*L rows, however allocated).
Run: var-256, d = 64, D = H = 2 (N = 108,544 bits), one seed, inline parties.

Then the command line: the table's extra columns and the figure, --unused-heads with the
value-aware and the value-blind allocators at one budget, verify's JSON and refusals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caches import CACHES
from kvbound.cli import main
from kvbound.experiments import plan_sweep, run_sweep
from lowerbound.bound import allocation_error_rates
from reduction.cachespec import is_multi_head
from reduction.schedule import Schedule

VAR256 = Schedule.parse("var-256")
BUDGETS = (0.25, 0.5, 0.75)
TOLERANCE = 0.02  # the issue's


def _multi_head_names() -> list[str]:
    return [n for n, e in CACHES.items() if not e.adversary and is_multi_head(e.cls)]


def test_the_default_sweep_is_every_registered_multi_head_cache() -> None:
    tasks = plan_sweep(VAR256, 64, None, BUDGETS, heads=2, layers=2)
    assert list(dict.fromkeys(t.cache for t in tasks)) == _multi_head_names()
    assert "exact" in _multi_head_names()


def test_every_budgeted_multi_head_cache_keeps_the_eviction_law() -> None:
    names = [n for n in _multi_head_names() if CACHES[n].budgeted]
    assert names, "no budgeted multi-head cache is registered"
    result = run_sweep(VAR256, 64, 0.75, 0.25, caches=names, budgets=BUDGETS, seeds=[0],
                       isolation="inline", heads=2, layers=2)
    assert not result.failures and result.all_feasible
    for p in result.measured:
        assert p.kept_fraction is not None and p.predicted_error is not None
        assert abs(p.error_rate - p.predicted_error) <= TOLERANCE, (
            f"{p.label}: p = {p.error_rate:.4f}, (1 - f)/2 = {p.predicted_error:.4f}")
    assert {(p.cache, p.budget) for p in result.measured} == {
        (n, b) for n in names for b in BUDGETS}


def test_attack_table_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "att"
    code = main(["attack", "--heads", "2", "--layers", "2", "--caches",
                 "exact,streaming-llm", "--budgets", "0.5", "--seeds", "1", "--isolation",
                 "inline", "--out", str(out), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "(1-f)/2" in text and "floor" in text and "2 layers x 2 heads" in text
    out = out / "attack-001"  # every run writes its own folder
    record = json.loads((out / "attack.json").read_text())
    assert (record["heads"], record["layers"]) == (2, 2)
    assert record["n_bits"] == 4 * VAR256.cached_tokens * 64
    (point,) = [p for p in record["points"] if p["cache"] == "streaming-llm"]
    assert point["kept_fraction"] == 0.5 and point["predicted_error"] == 0.25
    assert (out / "attack.png").stat().st_size > 10_000 and (out / "attack.svg").exists()


def test_attack_unused_heads_shows_the_allocation_gap(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Same budget, half the heads unused: the value-aware allocator (live-heads) loses
    (1 - min(1, f/rho))/2, the value-blind uniform one (1 - f)/2 (Proposition ALLOC)."""
    out = tmp_path / "alloc"
    assert main(["attack", "--heads", "2", "--layers", "2", "--unused-heads", "2",
                 "--caches", "live-heads,snapkv", "--budgets", "0.25", "--seeds", "1",
                 "--isolation", "inline", "--out", str(out), "--quiet", "--no-plot"]) == 0
    record = json.loads((out / "attack-001" / "attack.json").read_text())
    rate = {p["cache"]: p["error_rate"] for p in record["points"]}
    blind, aware = allocation_error_rates(0.25, 4, 2)
    assert abs(rate["snapkv"] - blind) <= 0.012 and abs(rate["live-heads"] - aware) <= 0.012
    assert record["n_bits"] == 2 * VAR256.cached_tokens * 64 and record["unused_heads"] == 2
    assert "2 heads unused" in capsys.readouterr().out


def test_verify_heads_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--heads", "3", "--layers", "2", "--isolation", "inline",
                 "--json", "--quiet"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["instance_bits"] == 6 * VAR256.cached_tokens * 64 and j["bit_errors"] == 0
    assert (j["heads"], j["layers"], j["unused_heads"]) == (3, 2, 0)
    assert len(j["runs"][0]["head_symbol_errors"]) == 6


@pytest.mark.parametrize("argv, message", [
    (["--model", "var-d16", "--d", "32"], "fixes --d 64"),
    (["--model", "var-d16", "--heads", "4"], "fixes --heads 16"),
    (["--model", "var-d99"], "unknown model"),
    (["--heads", "2", "--unused-heads", "2"], "leaves no head"),
])
def test_verify_refuses_bad_shapes(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--isolation", "inline", "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err
